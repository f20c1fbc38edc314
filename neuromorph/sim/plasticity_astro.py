"""Astrocyte-modulated pair STDP on events (after NALSM: Ivanov & Michmizos, NeurIPS 2021).

One astrocyte watches the target group of a plastic projection (a recurrent liquid) and scales
the two halves of the pair STDP of every one of its synapses by signed factors: ``g_+(t)`` on
potentiation and ``g_-(t)`` on depression.

Pair STDP (per-neuron unit traces, the engine's schedule: traces decay once per step at the
start of the synapses slot, pre pathway before post pathway)::

    dr_i/dt = -r_i / tau_plus,   r_i += 1 at a spike of source i          (dimensionless)
    do_j/dt = -o_j / tau_minus,  o_j += 1 at a spike of target j
    pre spike i:  w_ij <- clip(w_ij + g_- a_minus o_j, w_min, w_max)      (a_minus < 0: LTD)
    post spike j: w_ij <- clip(w_ij + g_+ a_plus  r_i, w_min, w_max)      (a_plus > 0: LTP)

What the astrocyte senses (``sense``) decides the factors; each astrocyte class below computes
them in one place (``gates``).

``sense="branching"`` (:class:`Astrocyte`): the astrocyte senses the branching ratio of the
target group. It bins the group's spikes into population counts ``n_k`` over bins of
``bin_time`` seconds and keeps exponentially forgotten moments of consecutive pairs
``(a, b) = (n_k, n_{k+1})`` (memory ``tau_astro`` seconds; weight
``lam = exp(-bin_time / tau_astro)`` per bin)::

    S_1 <- lam S_1 + 1,  S_a <- lam S_a + a,  S_b <- lam S_b + b,
    S_aa <- lam S_aa + a^2,  S_ab <- lam S_ab + a b
    sigma = (S_ab - S_a S_b / S_1) / (S_aa - S_a^2 / S_1)

the regression slope of ``n_{k+1}`` on ``n_k``: for a driven branching process
``E[n_{k+1} | n_k] = sigma n_k + h``, so the slope is the branching ratio when the drive ``h``
is constant (Wilting & Priesemann 2018, full sampling; with ``tau_astro -> inf`` it equals
:func:`neuromorph.learning_rules.plasticity.homeostasis.branching_ratio` of the counts). After
each bin ``g_+ = g_- = g = clip(gain (target - sigma), -1, 1)``: a subcritical liquid gets
Hebbian STDP, a supercritical one the sign-flipped rule, and plasticity stops at the target.
Before ``warmup_bins`` bins have been seen ``g = 0``.

``sense="input"`` (:class:`InputAstrocyte`, NALSM's leaky-integrate-and-modulate astrocyte):
the astrocyte integrates the spikes of the target group (the liquid, population spike train
``R_liq(t) = sum_spikes delta(t - t_s)`` in 1/s) and of an input group named ``input_group``
(``R_in``), each with a leaky integrator of ``tau_astro`` seconds (rates in Hz)::

    tau_astro dL/dt = -L + R_liq(t),    tau_astro dI/dt = -I + R_in(t)
    A = w_astro (L - input_weight I)                       (dimensionless; w_astro in s)
    g_+ = 1,   g_- = 1 + A

Potentiation keeps its amplitude and the astrocyte sets the depression: a liquid firing more
than ``input_weight`` spikes per input spike (``A > 0``) is depressed harder, one firing less
(``A < 0``) is depressed less, down to net potentiation when ``A < -1``. Plasticity therefore
settles where the liquid's activity balances its weighted input. Discretised exactly per step
of ``dt`` (counts ``n`` of this step's spikes, read after the post pathway, so they set the
next step's factors): ``L <- L exp(-dt/tau_astro) + n_liq / tau_astro`` (same for ``I``).

``fixed_gate`` replaces either astrocyte by constant factors ``g_+ = g_- = fixed_gate``
(ablations and tests: ``fixed_gate=1`` is the engine's plain pair STDP with
``a_pre = a_plus``, ``a_post = a_minus``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from neuromorph.sim.plasticity_events import _check_common, _EventRuleState, bounded_add

if TYPE_CHECKING:
    from neuromorph.sim.network import Network
    from neuromorph.sim.projections import Projection

@dataclass(frozen=True)
class AstroSTDPRule:
    """Astrocyte-gated pair STDP (module docstring). ``a_*`` in weight units per pairing,
    times in seconds; ``gain`` is dimensionless (gate per unit of branching-ratio error);
    ``w_astro`` in seconds (depression change per Hz of liquid-input imbalance);
    ``input_weight`` dimensionless (liquid spikes per input spike at balance)."""

    a_plus: float = 1e-3
    a_minus: float = -1e-3
    tau_plus: float = 20e-3
    tau_minus: float = 20e-3
    w_min: float = 0.0
    w_max: float = 1.0
    target: float = 1.0
    bin_time: float = 4e-3
    tau_astro: float = 2.0
    gain: float = 5.0
    warmup_bins: int = 50
    fixed_gate: float | None = None
    sense: Literal["branching", "input"] = "branching"
    input_group: str | None = None
    w_astro: float = 1e-4
    input_weight: float = 1.0

    def __post_init__(self) -> None:
        taus = {"tau_plus": self.tau_plus, "tau_minus": self.tau_minus,
                "bin_time": self.bin_time, "tau_astro": self.tau_astro}
        _check_common("AstroSTDPRule", taus, self.w_min, self.w_max, "additive")
        if not 0.0 < self.target < 2.0:
            raise ValueError(f"AstroSTDPRule: target branching ratio must be in (0, 2), got "
                             f"{self.target}")
        if self.gain < 0 or self.warmup_bins < 2:
            raise ValueError(f"AstroSTDPRule: need gain >= 0 and warmup_bins >= 2, got "
                             f"gain={self.gain}, warmup_bins={self.warmup_bins}")
        if self.fixed_gate is not None and not -1.0 <= self.fixed_gate <= 1.0:
            raise ValueError(f"AstroSTDPRule: fixed_gate must be in [-1, 1], got "
                             f"{self.fixed_gate}")
        if self.sense not in SENSES:
            raise ValueError(f"AstroSTDPRule: unknown sense {self.sense!r}; choose one of "
                             f"{list(SENSES)}")
        if self.sense == "input" and not self.input_group:
            raise ValueError("AstroSTDPRule: sense='input' needs input_group, the name of the "
                             "group whose spikes the astrocyte integrates")
        if self.w_astro < 0 or self.input_weight < 0:
            raise ValueError(f"AstroSTDPRule: need w_astro >= 0 s and input_weight >= 0, got "
                             f"w_astro={self.w_astro}, input_weight={self.input_weight}")

    def bind(self, proj: Projection, net: Network) -> AstroSTDPState:
        return AstroSTDPState(self, proj, net)


class Astrocyte:
    """The online branching-ratio estimator of :class:`AstroSTDPRule` (``sense="branching"``,
    host scalars). ``count(n)`` adds ``n`` spikes to the open bin; ``close_bin(t)`` ends it
    (``t`` in seconds) and appends ``(t, sigma, gate)`` to :attr:`history`.

    Both astrocytes share one interface: ``gates`` ``(g_+, g_-)``, ``observe`` (one step's
    spike counts), ``history`` rows ``(t, estimate, gate)`` named by ``estimate`` / ``labels``,
    ``state_dict``."""

    estimate = "sigma"  # what history[:, 1] holds (the metric key's stem)
    labels = ("astrocyte sigma", "gate g")  # plot labels of history[:, 1] and history[:, 2]
    senses_input = False  # whether observe needs the input group's spike count
    history_ylim: tuple[float, float] | None = (-1.05, 1.5)  # first bins' estimates are wild

    def __init__(self, rule: AstroSTDPRule, dt: float) -> None:
        self.rule = rule
        self.lam = math.exp(-rule.bin_time / rule.tau_astro)
        self.s = np.zeros(5)  # S_1, S_a, S_b, S_aa, S_ab
        self.prev: float | None = None
        self.open = 0.0
        self.bins = 0
        self.sigma = float("nan")
        self.gate = 0.0 if rule.fixed_gate is None else float(rule.fixed_gate)
        self.history: list[tuple[float, float, float]] = []

    @property
    def gates(self) -> tuple[float, float]:
        """``(g_+, g_-)``: both the branching gate."""
        return self.gate, self.gate

    def count(self, n: int) -> None:
        self.open += n

    def observe(self, n_liq: int, n_in: int, t_end: float | None) -> None:
        """One step: ``n_liq`` target spikes (``n_in`` unused); ``t_end``: the bin ends here."""
        self.count(n_liq)
        if t_end is not None:
            self.close_bin(t_end)

    def close_bin(self, t: float) -> None:
        b, self.open = self.open, 0.0
        if self.prev is not None:
            a = self.prev
            self.s = self.lam * self.s + np.array([1.0, a, b, a * a, a * b])
            s1, sa, sb, saa, sab = self.s
            var = saa - sa * sa / s1
            self.sigma = float((sab - sa * sb / s1) / var) if var > 1e-12 else float("nan")
        self.prev = b
        self.bins += 1
        r = self.rule
        if r.fixed_gate is None:
            ok = self.bins >= r.warmup_bins and math.isfinite(self.sigma)
            self.gate = min(max(r.gain * (r.target - self.sigma), -1.0), 1.0) if ok else 0.0
        self.history.append((t, self.sigma, self.gate))

    def state_dict(self) -> dict[str, Any]:
        return {"s": self.s.copy(), "prev": self.prev, "open": self.open, "bins": self.bins,
                "sigma": self.sigma, "gate": self.gate}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.s = np.asarray(state["s"], dtype=float).copy()
        self.prev, self.open, self.bins = state["prev"], state["open"], int(state["bins"])
        self.sigma, self.gate = float(state["sigma"]), float(state["gate"])


class InputAstrocyte:
    """NALSM's leaky-integrate-and-modulate astrocyte (``sense="input"``, host scalars):
    ``step(n_liq, n_in)`` integrates one step's spike counts; ``record(t)`` appends
    ``(t, L / I, g_-)`` (liquid spikes per input spike, depression factor) to
    :attr:`history`."""

    estimate = "ratio"
    labels = ("astrocyte L / I", "depression 1 + A")
    senses_input = True
    history_ylim: tuple[float, float] | None = None

    def __init__(self, rule: AstroSTDPRule, dt: float) -> None:
        self.rule = rule
        self.decay = math.exp(-dt / rule.tau_astro)
        self.liquid_hz = 0.0  # L
        self.input_hz = 0.0  # I
        self.history: list[tuple[float, float, float]] = []

    @property
    def drive(self) -> float:
        """``A = w_astro (L - input_weight I)``."""
        r = self.rule
        return r.w_astro * (self.liquid_hz - r.input_weight * self.input_hz)

    @property
    def gates(self) -> tuple[float, float]:
        """``(g_+, g_-) = (1, 1 + A)``, or the fixed gate."""
        if self.rule.fixed_gate is not None:
            return self.rule.fixed_gate, self.rule.fixed_gate
        return 1.0, 1.0 + self.drive

    @property
    def ratio(self) -> float:
        return self.liquid_hz / self.input_hz if self.input_hz > 0 else float("nan")

    def step(self, n_liq: int, n_in: int) -> None:
        k = 1.0 / self.rule.tau_astro
        self.liquid_hz = self.liquid_hz * self.decay + k * n_liq
        self.input_hz = self.input_hz * self.decay + k * n_in

    def record(self, t: float) -> None:
        self.history.append((t, self.ratio, self.gates[1]))

    def observe(self, n_liq: int, n_in: int, t_end: float | None) -> None:
        """One step's liquid and input spike counts; ``t_end``: record the history here."""
        self.step(n_liq, n_in)
        if t_end is not None:
            self.record(t_end)

    def state_dict(self) -> dict[str, Any]:
        return {"liquid_hz": self.liquid_hz, "input_hz": self.input_hz}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.liquid_hz, self.input_hz = float(state["liquid_hz"]), float(state["input_hz"])


# what the astrocyte senses (``AstroSTDPRule.sense``) -> its class: the one place it is decided
ASTROCYTES: dict[str, type[Astrocyte] | type[InputAstrocyte]] = {
    "branching": Astrocyte, "input": InputAstrocyte}
SENSES = tuple(ASTROCYTES)


class AstroSTDPState(_EventRuleState):
    """Runtime of one astrocyte-gated projection: traces ``r`` (pre) and ``o`` (post), the
    astrocyte (``self.astro``) fed with the whole target group's spikes (and, for
    ``sense="input"``, the spikes of the group ``rule.input_group``)."""

    def __init__(self, rule: AstroSTDPRule, proj: Projection, net: Network) -> None:
        super().__init__(proj, net, {"r": ("pre", rule.tau_plus), "o": ("post", rule.tau_minus)})
        self.rule = rule
        self.astro = ASTROCYTES[rule.sense](rule, net.dt)
        self.input_source = net[rule.input_group] if self.astro.senses_input else None
        self.bin_steps = max(1, int(round(rule.bin_time / net.dt)))

    def on_pre(self, spikes: Any) -> None:
        idx = self.spiking(spikes)
        if len(idx):
            r = self.rule
            g_minus = self.astro.gates[1]
            if g_minus != 0.0:
                syn, _, tgt = self.syn.of_sources(idx)
                bounded_add(self.w, syn, (g_minus * r.a_minus) * self.tr["o"][tgt],
                            r.w_min, r.w_max, False)
            self.bump(("r",), idx, False)

    def on_post(self, spikes: Any, step: int = 0) -> None:
        idx = self.spiking(spikes)
        if len(idx):
            r = self.rule
            g_plus = self.astro.gates[0]
            if g_plus != 0.0:
                syn, tgt, src = self.syn.of_targets(idx)
                bounded_add(self.w, syn, (g_plus * r.a_plus) * self.tr["r"][src],
                            r.w_min, r.w_max, False)
            self.bump(("o",), idx, False)
        n_in = len(self.spiking(self.input_source.spikes)) if self.input_source is not None else 0
        end_of_bin = (step + 1) % self.bin_steps == 0
        self.astro.observe(len(idx), n_in, (step + 1) * self.net.dt if end_of_bin else None)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "astro": self.astro.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.astro.load_state_dict(state["astro"])


__all__ = ["ASTROCYTES", "SENSES", "AstroSTDPRule", "AstroSTDPState", "Astrocyte",
           "InputAstrocyte"]
