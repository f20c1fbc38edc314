"""Triplet STDP and reward-modulated STDP on events: the engine's counterparts of the dense rules.

Both run on either backend (numpy or torch, any device) with the pair rule's schedule
(:mod:`neuromorph.sim.plasticity`, Brian2's): every trace decays exactly once per step at the
start of the synapses slot, then the pre pathway (a pre spike reads the post traces *before*
this step's post spikes), then the post pathway (a post spike reads the pre traces *including*
this step's pre spikes). Weights follow the pair rule's bounds (additive: clip to
``[w_min, w_max]``; multiplicative: soft bounds, then clip). With these schedules, a run of the
engine equals the dense rules of :mod:`neuromorph.learning_rules.plasticity` (``B = 1``, weights
inside the bounds) on the same spike trains; the tests check it.

- :class:`TripletSTDPRule` (Pfister & Gerstner 2006): pre traces ``r1`` (``tau_plus``),
  ``r2`` (``tau_x``), post traces ``o1`` (``tau_minus``), ``o2`` (``tau_y``)::

      pre spike i:  w_ij -= o1_j (A2- + A3- r2_i)   then r1_i, r2_i += 1 (nearest: = 1)
      post spike j: w_ij += r1_i (A2+ + A3+ o2_j)   then o1_j, o2_j += 1 (nearest: = 1)

- :class:`RewardSTDPRule` (Izhikevich 2007; Fremaux & Gerstner 2016): pair-STDP increments feed
  an eligibility trace per synapse, ``de/dt = -e / tau_e + c(t)``, and the weights follow a
  modulator ``m``: ``w += lr m(t) e(t)`` at every step where ``m(t) != 0``. ``m`` comes from
  the rule's ``modulator(t_seconds)`` callable (evaluated each step, after the post pathway)
  and/or from :meth:`RewardSTDPState.deliver` between runs (a reward at the end of a trial).

Traces are per neuron (exact for these rules, as for the pair rule); the eligibility is per
synapse and decays lazily (a scalar gain, renormalised when it gets small), so a step costs
nothing per synapse unless a spike or a modulator touches it. These rules gather the spiking
indices with plain torch ops (on CUDA: one host synchronisation per step and projection); the
pair rule runs on the fused event kernels instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import Tensor

from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.plasticity import (
    BOUNDS,
    PAIRINGS,
    EventSynapses,
    EventSynapsesNumpy,
)

if TYPE_CHECKING:
    from neuromorph.sim.network import Network
    from neuromorph.sim.projections import Projection


def _check_common(rule: str, taus: dict[str, float], w_min: float, w_max: float,
                  bounds: str, pairing: str = "all_to_all") -> None:
    for name, tau in taus.items():
        if not tau > 0:
            raise ValueError(f"{rule}: {name} must be > 0 s, got {tau}")
    if not w_max > w_min:
        raise ValueError(f"{rule} needs w_max > w_min, got [{w_min}, {w_max}]")
    if bounds not in BOUNDS:
        raise ValueError(f"{rule}: unknown bounds {bounds!r}; choose one of {list(BOUNDS)}")
    if pairing not in PAIRINGS:
        raise ValueError(f"{rule}: unknown interaction {pairing!r}; choose one of "
                         f"{list(PAIRINGS)}")


@dataclass(frozen=True)
class TripletParams:
    """Amplitudes (weight units, magnitudes: ``A2-``/``A3-`` depress) and time constants (s) of
    the triplet rule; shared by the engine rule and the dense one."""

    a2_plus: float
    a3_plus: float
    a2_minus: float
    a3_minus: float
    tau_plus: float = 16.8e-3
    tau_minus: float = 33.7e-3
    tau_x: float = 101e-3
    tau_y: float = 114e-3

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.startswith("tau") and not v > 0:
                raise ValueError(f"triplet STDP: {f.name} must be > 0 s, got {v}")
            if f.name.startswith("a") and not v >= 0:
                raise ValueError(f"triplet STDP: {f.name} must be >= 0 (a magnitude), got {v}")

    def scaled(self, factor: float) -> TripletParams:
        """The same rule with every amplitude times ``factor`` (a learning rate)."""
        return replace(self, a2_plus=self.a2_plus * factor, a3_plus=self.a3_plus * factor,
                       a2_minus=self.a2_minus * factor, a3_minus=self.a3_minus * factor)


@dataclass(frozen=True)
class TripletSTDPRule:
    """Triplet STDP spec for ``net.connect(..., plasticity=...)`` (module docstring)."""

    params: TripletParams
    w_max: float
    w_min: float = 0.0
    interaction: Literal["all_to_all", "nearest"] = "all_to_all"
    bounds: Literal["additive", "multiplicative"] = "additive"

    def __post_init__(self) -> None:
        if not isinstance(self.params, TripletParams):
            raise TypeError(f"TripletSTDPRule: params must be a TripletParams (amplitudes and time "
                            f"constants), got {type(self.params).__name__}")
        _check_common("TripletSTDPRule", {}, self.w_min, self.w_max, self.bounds,
                      self.interaction)

    def bind(self, proj: Projection, net: Network) -> TripletSTDPState:
        return TripletSTDPState(self, proj, net)


@dataclass(frozen=True)
class RewardSTDPRule:
    """Reward-modulated STDP spec (module docstring): ``a_plus`` (pre before post) and
    ``a_minus`` (post before pre, < 0 to depress) feed the eligibility; ``lr`` scales
    ``m * e``. ``modulator(t)`` (seconds -> value) is optional."""

    a_plus: float = 1.0
    a_minus: float = -1.0
    tau_plus: float = 20e-3
    tau_minus: float = 20e-3
    tau_e: float = 0.2
    lr: float = 1e-2
    w_min: float = 0.0
    w_max: float = 1.0
    bounds: Literal["additive", "multiplicative"] = "additive"
    modulator: Callable[[float], float] | None = None

    def __post_init__(self) -> None:
        taus = {k: getattr(self, k) for k in ("tau_plus", "tau_minus", "tau_e")}
        _check_common("RewardSTDPRule", taus, self.w_min, self.w_max, self.bounds)

    def bind(self, proj: Projection, net: Network) -> RewardSTDPState:
        return RewardSTDPState(self, proj, net)


# ----------------------------------------------------------------------------- shared machinery
def bounded_add(w_full: Tensor | np.ndarray, syn: Tensor | np.ndarray | slice,
                delta: Tensor | np.ndarray, w_min: float, w_max: float,
                multiplicative: bool) -> None:
    """``w[syn] = clip(w[syn] + delta)`` (soft bounds first when ``multiplicative``); ``syn`` is
    synapse ids or a slice (all synapses: no index tensor). Tensors or numpy arrays (the numpy
    backend: same operations, same numbers)."""
    if isinstance(w_full, np.ndarray):
        if isinstance(syn, np.ndarray) and syn.size == 0:
            return
        w = w_full[syn]
        if multiplicative:
            delta = np.where(delta > 0, delta * (w_max - w), delta * (w - w_min)) / \
                (w_max - w_min)
        w_full[syn] = np.minimum(np.maximum(w + delta, w_min), w_max)
        return
    if isinstance(syn, Tensor) and syn.numel() == 0:
        return
    w = w_full[syn]
    if multiplicative:
        delta = torch.where(delta > 0, delta * (w_max - w), delta * (w - w_min)) / (w_max - w_min)
    w_full[syn] = torch.clamp(w + delta, w_min, w_max)


class _EventRuleState:
    """Per-neuron traces that decay once per step, the synapse index, the numpy pre pathway."""

    def __init__(self, proj: Projection, net: Network, taus: dict[str, tuple[str, float]]) -> None:
        self.proj, self.net, self.ops = proj, net, net.ops
        self.owns_propagation = False  # the projection propagates, then calls on_pre
        host = self.ops.row_layouts  # the synapse index as host numpy arrays
        dev = torch.device("cpu") if host else net.device
        self.syn: EventSynapses | EventSynapsesNumpy = \
            EventSynapsesNumpy(proj) if host else EventSynapses(proj, dev)
        sizes = {"pre": proj.source_group.n, "post": proj.target_group.n}
        self.traces = {k: torch.zeros(sizes[side], dtype=net.dtype, device=dev)
                       for k, (side, _) in taus.items()}
        # what the rules compute on: the backend's views of the traces and weights
        self.tr: dict[str, Any] = {k: self.ops.view(t) for k, t in self.traces.items()}
        self.w: Any = self.ops.view(proj.w_full)
        self.decays = {k: exact_decay(tau, net.dt, name=k) for k, (_, tau) in taus.items()}

    def decay(self) -> None:
        for k, tr in self.tr.items():
            tr *= self.decays[k]

    def spiking(self, spikes: Any) -> Any:
        """Indices of the spiking neurons (numpy backend: an int64 array; torch: a tensor on
        the device of the traces)."""
        return self.ops.spike_indices(spikes)

    def bump(self, names: tuple[str, ...], idx: Any, nearest: bool) -> None:
        for k in names:
            if nearest:
                self.tr[k][idx] = 1.0
            else:
                self.tr[k][idx] += 1.0

    def on_pre(self, spikes: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {k: v.clone() for k, v in self.traces.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in self.traces.items():
            v.copy_(state[k])


class TripletSTDPState(_EventRuleState):
    """Runtime of one triplet-plastic projection (see :class:`TripletSTDPRule`)."""

    def __init__(self, rule: TripletSTDPRule, proj: Projection, net: Network) -> None:
        p = rule.params
        super().__init__(proj, net, {"r1": ("pre", p.tau_plus), "r2": ("pre", p.tau_x),
                                     "o1": ("post", p.tau_minus), "o2": ("post", p.tau_y)})
        self.rule, self.p = rule, p
        self.mult = rule.bounds == "multiplicative"
        self.nearest = rule.interaction == "nearest"

    def on_pre(self, spikes: Any) -> None:
        r, p, tr, idx = self.rule, self.p, self.tr, self.spiking(spikes)
        if not len(idx):
            return
        syn, src, tgt = self.syn.of_sources(idx)
        delta = -tr["o1"][tgt] * (p.a2_minus + p.a3_minus * tr["r2"][src])
        bounded_add(self.w, syn, delta, r.w_min, r.w_max, self.mult)
        self.bump(("r1", "r2"), idx, self.nearest)

    def on_post(self, spikes: Any, step: int = 0) -> None:
        r, p, tr, idx = self.rule, self.p, self.tr, self.spiking(spikes)
        if not len(idx):
            return
        syn, tgt, src = self.syn.of_targets(idx)
        delta = tr["r1"][src] * (p.a2_plus + p.a3_plus * tr["o2"][tgt])
        bounded_add(self.w, syn, delta, r.w_min, r.w_max, self.mult)
        self.bump(("o1", "o2"), idx, self.nearest)


class RewardSTDPState(_EventRuleState):
    """Runtime of one reward-modulated projection (see :class:`RewardSTDPRule`).

    ``eligibility`` is ``stored * gain``; the gain decays each step and is folded back into the
    stored values when it drops below 1e-30.
    """

    def __init__(self, rule: RewardSTDPRule, proj: Projection, net: Network) -> None:
        super().__init__(proj, net, {"r": ("pre", rule.tau_plus), "o": ("post", rule.tau_minus)})
        self.rule = rule
        self.mult = rule.bounds == "multiplicative"
        self.stored = torch.zeros(proj.nnz, dtype=net.dtype, device=self.traces["r"].device)
        self._e: Any = self.ops.view(self.stored)
        self.gain = 1.0
        self.d_e = exact_decay(rule.tau_e, net.dt, name="tau_e")

    @property
    def eligibility(self) -> Tensor:
        """Eligibility of every synapse ``[nnz]`` at the current time."""
        return self.stored * self.gain

    def decay(self) -> None:
        super().decay()
        self.gain *= self.d_e
        if self.gain < 1e-30:
            self._e *= self.gain
            self.gain = 1.0

    def _add(self, syn: Any, values: Any) -> None:
        """``e[syn] += values`` (the synapses of one pathway call are distinct)."""
        self.ops.scatter_add(self._e, syn, values)

    def on_pre(self, spikes: Any) -> None:
        idx = self.spiking(spikes)
        if len(idx):
            syn, _, tgt = self.syn.of_sources(idx)
            self._add(syn, self.rule.a_minus * self.tr["o"][tgt] / self.gain)
            self.bump(("r",), idx, False)

    def on_post(self, spikes: Any, step: int = 0) -> None:
        idx = self.spiking(spikes)
        if len(idx):
            syn, tgt, src = self.syn.of_targets(idx)
            self._add(syn, self.rule.a_plus * self.tr["r"][src] / self.gain)
            self.bump(("o",), idx, False)
        if self.rule.modulator is not None:
            m = float(self.rule.modulator(step * self.net.dt))
            if m != 0.0:
                self.deliver(m)

    def deliver(self, m: float) -> None:
        """``w += lr m e`` for every synapse now (e.g. a reward at the end of a trial)."""
        r = self.rule
        bounded_add(self.w, slice(0, self.proj.nnz),
                    (r.lr * float(m) * self.gain) * self._e, r.w_min, r.w_max, self.mult)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "eligibility": self.stored.clone(),
                "gain": float(self.gain)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.stored.copy_(state["eligibility"])
        self.gain = float(state["gain"])


__all__ = [
    "RewardSTDPRule",
    "RewardSTDPState",
    "TripletParams",
    "TripletSTDPRule",
    "TripletSTDPState",
    "bounded_add",
]
