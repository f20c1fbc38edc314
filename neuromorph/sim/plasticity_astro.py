"""Astrocyte-modulated pair STDP on events (after NALSM: Ivanov & Michmizos, NeurIPS 2021).

One astrocyte watches the target group of a plastic projection (a recurrent liquid) and gates
the pair STDP of every one of its synapses by a signed factor ``g(t)`` in ``[-1, 1]``.

Pair STDP (per-neuron unit traces, the engine's schedule: traces decay once per step at the
start of the synapses slot, pre pathway before post pathway)::

    dr_i/dt = -r_i / tau_plus,   r_i += 1 at a spike of source i          (dimensionless)
    do_j/dt = -o_j / tau_minus,  o_j += 1 at a spike of target j
    pre spike i:  w_ij <- clip(w_ij + g a_minus o_j, w_min, w_max)        (a_minus < 0: LTD)
    post spike j: w_ij <- clip(w_ij + g a_plus  r_i, w_min, w_max)        (a_plus > 0: LTP)

The astrocyte senses the branching ratio of the target group. It bins the group's spikes into
population counts ``n_k`` over bins of ``bin_time`` seconds and keeps exponentially forgotten
moments of consecutive pairs ``(a, b) = (n_k, n_{k+1})`` (memory ``tau_astro`` seconds; weight
``lam = exp(-bin_time / tau_astro)`` per bin)::

    S_1 <- lam S_1 + 1,  S_a <- lam S_a + a,  S_b <- lam S_b + b,
    S_aa <- lam S_aa + a^2,  S_ab <- lam S_ab + a b
    sigma = (S_ab - S_a S_b / S_1) / (S_aa - S_a^2 / S_1)

the regression slope of ``n_{k+1}`` on ``n_k``: for a driven branching process
``E[n_{k+1} | n_k] = sigma n_k + h``, so the slope is the branching ratio whatever the drive
``h`` (Wilting & Priesemann 2018, full sampling; with ``tau_astro -> inf`` it equals
:func:`neuromorph.learning_rules.plasticity.homeostasis.branching_ratio` of the counts). After
each bin the gate follows ``g = clip(gain (target - sigma), -1, 1)``: a subcritical liquid
(``sigma < target``) gets Hebbian STDP (potentiation of causal pairs), a supercritical one gets
the sign-flipped rule (depression), and plasticity stops at the target. Before ``warmup_bins``
bins have been seen ``g = 0``. ``fixed_gate`` replaces the astrocyte by a constant ``g``
(ablations and tests: ``fixed_gate=1`` is the engine's plain pair STDP with
``a_pre = a_plus``, ``a_post = a_minus``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuromorph.sim.plasticity_events import _check_common, _EventRuleState, bounded_add

if TYPE_CHECKING:
    from neuromorph.sim.network import Network
    from neuromorph.sim.projections import Projection


@dataclass(frozen=True)
class AstroSTDPRule:
    """Astrocyte-gated pair STDP (module docstring). ``a_*`` in weight units per pairing,
    times in seconds; ``gain`` is dimensionless (gate per unit of branching-ratio error)."""

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

    def bind(self, proj: Projection, net: Network) -> AstroSTDPState:
        return AstroSTDPState(self, proj, net)


class Astrocyte:
    """The online branching-ratio estimator and gate of :class:`AstroSTDPRule` (host scalars).

    ``count(n)`` adds ``n`` spikes to the open bin; ``close_bin(t)`` ends it (``t`` in seconds)
    and appends ``(t, sigma, gate)`` to :attr:`history`."""

    def __init__(self, rule: AstroSTDPRule) -> None:
        self.rule = rule
        self.lam = math.exp(-rule.bin_time / rule.tau_astro)
        self.s = np.zeros(5)  # S_1, S_a, S_b, S_aa, S_ab
        self.prev: float | None = None
        self.open = 0.0
        self.bins = 0
        self.sigma = float("nan")
        self.gate = 0.0 if rule.fixed_gate is None else float(rule.fixed_gate)
        self.history: list[tuple[float, float, float]] = []

    def count(self, n: int) -> None:
        self.open += n

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


class AstroSTDPState(_EventRuleState):
    """Runtime of one astrocyte-gated projection: traces ``r`` (pre) and ``o`` (post), the
    :class:`Astrocyte` (``self.astro``) fed with the whole target group's spikes."""

    def __init__(self, rule: AstroSTDPRule, proj: Projection, net: Network) -> None:
        super().__init__(proj, net, {"r": ("pre", rule.tau_plus), "o": ("post", rule.tau_minus)})
        self.rule = rule
        self.astro = Astrocyte(rule)
        self.bin_steps = max(1, int(round(rule.bin_time / net.dt)))

    def on_pre(self, spikes: Any) -> None:
        idx = self.spiking(spikes)
        if len(idx):
            r = self.rule
            if self.astro.gate != 0.0:
                syn, _, tgt = self.syn.of_sources(idx)
                bounded_add(self.w, syn, (self.astro.gate * r.a_minus) * self.tr["o"][tgt],
                            r.w_min, r.w_max, False)
            self.bump(("r",), idx, False)

    def on_post(self, spikes: Any, step: int = 0) -> None:
        idx = self.spiking(spikes)
        if len(idx):
            r = self.rule
            if self.astro.gate != 0.0:
                syn, tgt, src = self.syn.of_targets(idx)
                bounded_add(self.w, syn, (self.astro.gate * r.a_plus) * self.tr["r"][src],
                            r.w_min, r.w_max, False)
            self.bump(("o",), idx, False)
            self.astro.count(len(idx))
        if (step + 1) % self.bin_steps == 0:
            self.astro.close_bin((step + 1) * self.net.dt)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "astro": self.astro.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.astro.load_state_dict(state["astro"])


__all__ = ["AstroSTDPRule", "AstroSTDPState", "Astrocyte"]
