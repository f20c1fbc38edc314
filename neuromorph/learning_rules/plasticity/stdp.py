"""Spike-timing rules on time-stepped spike trains ``[T, B, n]`` (step ``dt`` seconds).

Within a step the schedule is the event-driven engine's (Brian2's): traces decay, then the
pre-synaptic pathway (a pre spike reads the post traces *before* this step's post spikes), then
the post-synaptic pathway (a post spike reads the pre traces *including* this step's pre
spikes). Every spike pairing is summed over time and batch; ``dW`` uses the weight at the start
of the window (soft bounds) and is clipped only when applied (``PlasticSynapses`` with
``apply="inplace"`` or ``clamp_()``). For a single trial (``B = 1``) whose weights stay inside
the bounds this equals the engine's event-by-event update exactly.

=====================  ======================================================================
``PairSTDP``           the engine's pair rule (:class:`neuromorph.sim.plasticity.STDP`: same
                       spec, same semantics, all-to-all or nearest pairing, additive or
                       multiplicative bounds) on dense spike trains; ``engine_rule()`` hands the
                       spec to ``net.connect(..., plasticity=...)``
``TripletSTDP``        Pfister & Gerstner (2006): pre traces ``r1`` (tau_plus), ``r2`` (tau_x),
                       post traces ``o1`` (tau_minus), ``o2`` (tau_y)::

                           pre spike:  dw = -o1 (A2- + A3- r2(t-eps))
                           post spike: dw = +r1 (A2+ + A3+ o2(t-eps))
``RewardSTDP``         three-factor STDP: ``de/dt = -e/tau_e + STDP(pre, post)``,
                       ``dW = lr sum_t m(t) e(t)`` (Izhikevich 2007; Fremaux & Gerstner 2016)
``NeuromodulatedHebb`` ``dW = lr <g(m) y x^T>``, ``g`` = gain (``m``), sign or gate (``m > 0``)
=====================  ======================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from neuromorph.learning_rules.plasticity.interface import PlasticityRule, State
from neuromorph.learning_rules.plasticity.traces import (
    before,
    outer_sum,
    reverse_filter,
    spike_trace,
)
from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.plasticity import BOUNDS, STDP
from neuromorph.sim.plasticity_events import RewardSTDPRule, TripletParams, TripletSTDPRule


def soft_bounded(delta: Tensor, w: Tensor, w_min: float, w_max: float, bounds: str) -> Tensor:
    """Additive: ``delta``; multiplicative (the engine's soft bounds): a positive change is
    scaled by ``(w_max - w)/(w_max - w_min)``, a negative one by ``(w - w_min)/(w_max - w_min)``."""
    if bounds == "additive":
        return delta
    span = w_max - w_min
    return torch.where(delta > 0, delta * (w_max - w), delta * (w - w_min)) / span


def _check_bounds(rule: str, w_min: float, w_max: float, bounds: str) -> None:
    if not w_max > w_min:
        raise ValueError(f"{rule} needs w_max > w_min, got [{w_min}, {w_max}]")
    if bounds not in BOUNDS:
        raise ValueError(f"{rule}: unknown bounds {bounds!r}; choose one of {list(BOUNDS)}")
    if bounds == "multiplicative" and not (math.isfinite(w_min) and math.isfinite(w_max)):
        raise ValueError(f"{rule}: multiplicative bounds need finite w_min and w_max")


class PairTraces(NamedTuple):
    """Pre traces ``[B, n_pre]`` and post traces ``[B, n_post]`` at the end of a window."""

    pre: Tensor
    post: Tensor


def _zeros(x: Tensor) -> Tensor:
    return torch.zeros(x.shape[1:], dtype=torch.float64, device=x.device)


def pair_terms(pre: Tensor, post: Tensor, d_pre: float, d_post: float, nearest: bool,
               state: PairTraces | None) -> tuple[Tensor, Tensor, PairTraces]:
    """Unit-amplitude pair traces: ``r`` (pre, incl. this step) and ``o^-`` (post, before)."""
    r0 = _zeros(pre) if state is None else state.pre
    o0 = _zeros(post) if state is None else state.post
    r = spike_trace(pre, d_pre, 1.0, nearest, r0)
    o = spike_trace(post, d_post, 1.0, nearest, o0)
    return r, before(o, d_post, o0), PairTraces(r[-1], o[-1])


class PairSTDP(PlasticityRule):
    """The engine's pair STDP (``neuromorph.sim.STDP``) on dense spike trains.

    ``dW = a_pre sum_t post[t] (x) r[t] + a_post sum_t o^-[t] (x) pre[t]`` with unit traces
    ``r`` (pre, ``tau_pre``) and ``o`` (post, ``tau_post``); ``a_post`` < 0 depresses.
    """

    spiking = True

    def __init__(self, rule: STDP | None = None, *, dt: float, lr: float = 1.0,
                 **stdp: Any) -> None:
        super().__init__(lr)
        if rule is not None and stdp:
            raise ValueError("PairSTDP: pass either an engine STDP spec or its keywords, not both")
        self.stdp = rule if rule is not None else STDP(**stdp)
        self.dt = float(dt)
        self.d_pre = exact_decay(self.stdp.tau_pre, self.dt)
        self.d_post = exact_decay(self.stdp.tau_post, self.dt)

    def engine_rule(self) -> STDP:
        """The engine's spec: ``net.connect(..., plasticity=rule.engine_rule())``."""
        return self.stdp

    @property
    def bounds(self) -> tuple[float, float]:
        return self.stdp.w_min, self.stdp.w_max

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        s = self.stdp
        r, o_minus, new_state = pair_terms(pre, post, self.d_pre, self.d_post,
                                           s.pairing == "nearest", state)
        w = weight.to(torch.float64)
        on_post = soft_bounded(s.a_pre * outer_sum(post.to(torch.float64), r), w, s.w_min,
                               s.w_max, s.bounds)
        on_pre = soft_bounded(s.a_post * outer_sum(o_minus, pre.to(torch.float64)), w, s.w_min,
                              s.w_max, s.bounds)
        return (self.lr * (on_post + on_pre)).to(weight.dtype), new_state


#: Pfister & Gerstner (2006), visual-cortex fits (Sjostrom et al. 2001 data), Table 3.
TRIPLET_PRESETS: dict[str, TripletParams] = {
    # minimal all-to-all: depression is a pair effect, potentiation a triplet effect
    "minimal-all-to-all": TripletParams(0.0, 6.5e-3, 7.1e-3, 0.0, tau_y=114e-3),
    "minimal-nearest": TripletParams(0.0, 5e-2, 8e-3, 0.0, tau_y=40e-3),
    "full-all-to-all": TripletParams(5e-10, 6.2e-3, 7e-3, 2.3e-4, tau_x=101e-3, tau_y=125e-3),
}


class TripletSTDP(PlasticityRule):
    """Triplet STDP (Pfister & Gerstner 2006); ``interaction`` ``"all_to_all"`` or ``"nearest"``
    (traces reset to 1 at a spike). Default parameters: the minimal all-to-all model."""

    spiking = True

    def __init__(self, params: TripletParams | str = "minimal-all-to-all", *, dt: float,
                 interaction: str = "all_to_all", lr: float = 1.0, w_min: float = 0.0,
                 w_max: float = 1.0, bounds: str = "additive") -> None:
        super().__init__(lr)
        if isinstance(params, str):
            if params not in TRIPLET_PRESETS:
                raise ValueError(f"unknown triplet preset {params!r}; choose one of "
                                 f"{sorted(TRIPLET_PRESETS)}")
            params = TRIPLET_PRESETS[params]
        if interaction not in ("all_to_all", "nearest"):
            raise ValueError(f"unknown interaction {interaction!r}; choose 'all_to_all' or "
                             "'nearest'")
        _check_bounds("TripletSTDP", w_min, w_max, bounds)
        self.params, self.dt, self.interaction = params, float(dt), interaction
        self.w_min, self.w_max, self.bounds_mode = float(w_min), float(w_max), bounds
        p = params
        self.decays = tuple(exact_decay(t, self.dt)
                            for t in (p.tau_plus, p.tau_x, p.tau_minus, p.tau_y))

    @property
    def bounds(self) -> tuple[float, float]:
        return self.w_min, self.w_max

    def engine_rule(self) -> TripletSTDPRule:
        """The same rule on events: ``net.connect(..., plasticity=rule.engine_rule())``
        (``lr`` folds into the amplitudes)."""
        return TripletSTDPRule(self.params.scaled(self.lr), self.w_max, self.w_min,
                               self.interaction, self.bounds_mode)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        p, near = self.params, self.interaction == "nearest"
        d1, dx, dm, dy = self.decays
        x0 = [_zeros(pre), _zeros(pre), _zeros(post), _zeros(post)] if state is None else state
        pre64, post64 = pre.to(torch.float64), post.to(torch.float64)
        r1 = spike_trace(pre64, d1, 1.0, near, x0[0])
        r2 = spike_trace(pre64, dx, 1.0, near, x0[1])
        o1 = spike_trace(post64, dm, 1.0, near, x0[2])
        o2 = spike_trace(post64, dy, 1.0, near, x0[3])
        ltp = outer_sum(post64 * (p.a2_plus + p.a3_plus * before(o2, dy, x0[3])), r1)
        ltd = outer_sum(before(o1, dm, x0[2]), pre64 * (p.a2_minus + p.a3_minus *
                                                        before(r2, dx, x0[1])))
        w = weight.to(torch.float64)
        dw = soft_bounded(ltp, w, self.w_min, self.w_max, self.bounds_mode) \
            + soft_bounded(-ltd, w, self.w_min, self.w_max, self.bounds_mode)
        return (self.lr * dw).to(weight.dtype), [r1[-1], r2[-1], o1[-1], o2[-1]]


def _modulator_per_step(m: Tensor, T: int, B: int) -> Tensor:
    """A modulator as ``[T, B]``: ``[T, B]``/``[T]`` per step; ``[B]``/scalar at the last step."""
    if m.dim() == 2 and tuple(m.shape) == (T, B):
        return m
    if m.dim() == 1 and m.shape[0] == T and T != B:
        return m[:, None].expand(T, B)
    if m.dim() == 0 or (m.dim() == 1 and m.shape[0] == B):
        out = torch.zeros(T, B, dtype=m.dtype, device=m.device)
        out[-1] = m
        return out
    raise ValueError(f"modulator must be a scalar or [B]={B} (delivered at the end of the "
                     f"window), or [T]={T} / [T, B]=({T}, {B}) per step; got {tuple(m.shape)}")


class RewardState(NamedTuple):
    traces: PairTraces
    eligibility: Tensor  # [B, n_post, n_pre]


class RewardSTDP(PlasticityRule):
    """Reward-modulated (three-factor) STDP with an eligibility trace per synapse.

    Pair STDP increments ``c(t) = a_plus post(t) (x) r(t) + a_minus o^-(t) (x) pre(t)`` feed
    ``e(t) = d_e e(t-1) + c(t)`` (``d_e = exp(-dt/tau_e)``); the weight follows the modulator,
    ``dW = lr sum_{t, b} m(t, b) e(t, b)``. Computed without storing ``e(t)``:
    ``dW = lr sum_s c(s) M(s)`` with ``M(s) = sum_{t >= s} d_e^(t-s) m(t)``.
    """

    modulated = True
    spiking = True

    def __init__(self, *, dt: float, a_plus: float = 1.0, a_minus: float = -1.0,
                 tau_plus: float = 20e-3, tau_minus: float = 20e-3, tau_e: float = 0.2,
                 lr: float = 1e-2, w_min: float = 0.0, w_max: float = 1.0,
                 bounds: str = "additive") -> None:
        super().__init__(lr)
        _check_bounds("RewardSTDP", w_min, w_max, bounds)
        self.taus = (float(tau_plus), float(tau_minus), float(tau_e))
        self.dt, self.a_plus, self.a_minus = float(dt), float(a_plus), float(a_minus)
        self.d_pre, self.d_post = exact_decay(tau_plus, dt), exact_decay(tau_minus, dt)
        self.d_e = exact_decay(tau_e, dt)
        self.w_min, self.w_max, self.bounds_mode = float(w_min), float(w_max), bounds

    @property
    def bounds(self) -> tuple[float, float]:
        return self.w_min, self.w_max

    def engine_rule(self, modulator: Callable[[float], float] | None = None) -> RewardSTDPRule:
        """The same rule on events (``modulator(t_seconds)``, or deliver rewards between runs
        with ``projection.stdp.deliver(m)``)."""
        tau_plus, tau_minus, tau_e = self.taus
        return RewardSTDPRule(self.a_plus, self.a_minus, tau_plus, tau_minus, tau_e, self.lr,
                              self.w_min, self.w_max, self.bounds_mode, modulator)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        T, B = pre.shape[:2]
        m = _modulator_per_step(modulator.to(torch.float64), T, B)
        r, o_minus, traces = pair_terms(pre, post, self.d_pre, self.d_post, False,
                                        None if state is None else state.traces)
        pre64, post64 = pre.to(torch.float64), post.to(torch.float64)
        M = reverse_filter(m, self.d_e)[..., None]  # [T, B, 1]
        dw = self.a_plus * outer_sum(post64 * M, r) + self.a_minus * outer_sum(o_minus * M, pre64)
        steps = torch.arange(T, dtype=torch.float64, device=pre.device)
        if state is not None:  # the eligibility carried in decays on through this window
            carried = (m * self.d_e ** (steps + 1)[:, None]).sum(0)  # [B]
            dw = dw + torch.einsum("b,bji->ji", carried, state.eligibility)
        age = (self.d_e ** (T - 1 - steps))[:, None, None]  # d_e^(T-1-s)
        elig = self.a_plus * torch.einsum("tbj,tbi->bji", post64 * age, r) \
            + self.a_minus * torch.einsum("tbj,tbi->bji", o_minus * age, pre64)
        if state is not None:
            elig = elig + self.d_e**T * state.eligibility
        dw = soft_bounded(self.lr * dw, weight.to(torch.float64), self.w_min, self.w_max,
                          self.bounds_mode)
        return dw.to(weight.dtype), RewardState(traces, elig)


#: how a modulator sets a Hebbian update: the one place the ``mode`` option is dispatched.
MODULATIONS = {
    "gain": lambda m: m,
    "sign": torch.sign,
    "gate": lambda m: (m > 0).to(m.dtype),
}


class NeuromodulatedHebb(PlasticityRule):
    """``dW = lr <g(m) y x^T>``: a Hebbian update whose sign or gain a modulator sets.

    ``mode="gain"``: ``g(m) = m`` (a signed learning rate); ``"sign"``: ``sign(m)`` (Hebbian
    or anti-Hebbian); ``"gate"``: ``m > 0`` (a dis-inhibitory gate opens plasticity). Rates
    ``[B, n]`` with ``m`` scalar or ``[B]``; spike trains ``[T, B, n]`` (same-step coincidences)
    with ``m`` scalar, ``[B]`` or ``[T, B]``. The mean runs over all samples (and steps).
    """

    modulated = True
    spiking = None

    def __init__(self, lr: float = 1e-2, mode: str = "gain") -> None:
        super().__init__(lr)
        if mode not in MODULATIONS:
            raise ValueError(f"unknown mode {mode!r}; choose one of {sorted(MODULATIONS)}")
        self.mode = mode

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        lead = tuple(pre.shape[:-1])
        m = modulator
        if m.dim() > 0 and tuple(m.shape) != lead and not (m.dim() == 1 and m.shape[0] == lead[-1]):
            raise ValueError(f"modulator must be a scalar, [B]={lead[-1]} or {list(lead)}, got "
                             f"{tuple(m.shape)}")
        g = MODULATIONS[self.mode](m.expand(lead)).reshape(-1, 1)
        x, y = pre.reshape(-1, pre.shape[-1]), post.reshape(-1, post.shape[-1])
        return self.lr * (g * y).T @ x / x.shape[0], state


__all__ = [
    "MODULATIONS",
    "TRIPLET_PRESETS",
    "NeuromodulatedHebb",
    "PairSTDP",
    "PairTraces",
    "RewardSTDP",
    "RewardState",
    "TripletParams",
    "TripletSTDP",
    "pair_terms",
    "soft_bounded",
]
