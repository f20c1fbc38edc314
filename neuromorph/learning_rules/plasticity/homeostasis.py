"""Homeostatic plasticity: adaptive thresholds, synaptic scaling, weight normalisation and an
astrocyte-like slow modulation of STDP that steers a recurrent network's branching ratio.

=======================  ======================================================================
``AdaptiveThreshold``    ``tau_theta dtheta/dt = -(theta - theta_rest)``, ``theta += theta_plus``
                         at each spike (Diehl & Cook 2015); acts on thresholds, not weights
``SynapticScaling``      ``dW_j = lr (r_target - rbar_j) / r_target W_j`` (Turrigiano 1998):
                         every input of neuron ``j`` scales with its rate error; ``rbar`` is a
                         running mean over ``tau_avg`` windows
``WeightNormalization``  ``W_j <- total W_j / ||W_j||`` (``l1``: Diehl & Cook's fixed input sum;
                         ``l2``: unit vectors); the change is returned as ``dW``
``AstrocyteModulation``  pair STDP gated by a slow astrocyte variable ``A`` (its sign and
                         size) that integrates input against liquid activity, a measure of the
                         branching ratio: subcritical -> potentiation, supercritical ->
                         depression
                         (after the neuron-astrocyte liquid state machine, NALSM: Ivanov &
                         Michmizos, NeurIPS 2021)
=======================  ======================================================================

:func:`branching_ratio` estimates the branching ratio from population spike counts ``n(t)``
alone, by linear regression of ``n(t+1)`` on ``n(t)`` (for a driven branching process
``E[n(t+1) | n(t)] = sigma n(t) + h``, so the slope is ``sigma`` whatever the drive ``h``;
Wilting & Priesemann 2018 at full sampling); it reads a saturated network as subcritical, so the
astrocyte senses activity ratios instead and the regression is reported for monitoring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from neuromorph.access import Access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.learning_rules.plasticity.interface import PlasticityRule, State
from neuromorph.learning_rules.plasticity.stdp import PairTraces, pair_terms
from neuromorph.learning_rules.plasticity.traces import outer_sum
from neuromorph.primitives.discretize import exact_decay


class AdaptiveThreshold(LearningRule):
    """Spike-triggered threshold adaptation (a homeostatic per-neuron threshold ``theta``).

    Per step of ``dt``: ``theta <- theta_rest + d (theta - theta_rest) + theta_plus sum_b s``
    with ``d = exp(-dt / tau_theta)``; the batch shares one threshold per neuron.
    """

    requires = Access.LOCAL

    def __init__(self, *, theta_plus: float, tau_theta: float, dt: float,
                 theta_rest: float = 0.0) -> None:
        if theta_plus < 0:
            raise ValueError(f"AdaptiveThreshold: theta_plus must be >= 0, got {theta_plus}")
        self.theta_plus, self.theta_rest = float(theta_plus), float(theta_rest)
        self.decay = exact_decay(tau_theta, dt)

    def step(self, spikes: Tensor, theta: Tensor) -> Tensor:
        """One step: ``spikes [B, n]`` (or ``[n]``) -> the new ``theta [n]``."""
        s = spikes if spikes.dim() == 1 else spikes.sum(0)
        if s.shape != theta.shape:
            raise ValueError(f"spikes of {tuple(spikes.shape)} do not match theta "
                             f"{tuple(theta.shape)}; pass [B, n] spikes and an [n] threshold")
        return self.theta_rest + self.decay * (theta - self.theta_rest) + self.theta_plus * s

    def update(self, spikes: Tensor, theta: Tensor) -> Tensor:
        """A whole window ``spikes [T, B, n]`` at once (closed form of :meth:`step`)."""
        if spikes.dim() != 3:
            raise ValueError(f"update expects spike trains [T, B, n], got {tuple(spikes.shape)};"
                             " use step() for a single step")
        T = spikes.shape[0]
        counts = spikes.sum(1).to(theta.dtype)  # [T, n]
        ages = self.decay ** torch.arange(T - 1, -1, -1, dtype=theta.dtype,
                                          device=theta.device)
        return self.theta_rest + self.decay**T * (theta - self.theta_rest) \
            + self.theta_plus * (ages[:, None] * counts).sum(0)


class SynapticScaling(PlasticityRule):
    """Multiplicative synaptic scaling toward a target post-synaptic rate.

    ``post`` as rates ``[B, n_post]`` (same units as ``target``) or spike trains ``[T, B, n]``
    (``dt`` given: rate in Hz). State: the running mean rate ``rbar [n_post]``.
    """

    spiking = None

    def __init__(self, target: float, lr: float = 1e-2, tau_avg: float = 1.0,
                 dt: float | None = None) -> None:
        super().__init__(lr)
        if target <= 0 or tau_avg < 1:
            raise ValueError(f"SynapticScaling: need target > 0 and tau_avg >= 1 window, got "
                             f"target={target}, tau_avg={tau_avg}")
        self.target, self.tau_avg, self.dt = float(target), float(tau_avg), dt

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        if post.dim() == 3:
            if self.dt is None:
                raise ValueError("SynapticScaling: spike trains need dt= (to measure Hz)")
            rate = post.mean((0, 1)) / self.dt
        else:
            rate = post.mean(0)
        rbar = rate if state is None else state + (rate - state) / self.tau_avg
        dw = self.lr * ((self.target - rbar) / self.target)[:, None] * weight
        return dw, rbar


NORMS: dict[str, Callable[[Tensor], Tensor]] = {
    "l1": lambda w: w.abs().sum(1),
    "l2": lambda w: w.norm(dim=1),
}


class WeightNormalization(PlasticityRule):
    """``W_j <- total W_j / ||W_j||`` for every post neuron ``j`` (rows of ``W``)."""

    uses_activity = False
    spiking = None

    def __init__(self, total: float = 1.0, norm: str = "l1") -> None:
        super().__init__(1.0)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {sorted(NORMS)}")
        if total <= 0:
            raise ValueError(f"WeightNormalization: total must be > 0, got {total}")
        self.total, self.norm = float(total), norm

    def normalize(self, weight: Tensor) -> Tensor:
        """The normalised weight (rows with zero norm are left unchanged)."""
        n = NORMS[self.norm](weight)
        scale = torch.where(n > 0, self.total / n.clamp_min(1e-300), torch.ones_like(n))
        return weight * scale[:, None]

    def _update(self, pre: Tensor | None, post: Tensor | None, weight: Tensor,
                modulator: Tensor | None, state: State) -> tuple[Tensor, State]:
        return self.normalize(weight) - weight, state


def branching_ratio(counts: Tensor) -> float:
    """Regression estimate of the branching ratio from spike counts ``[T]`` or ``[T, B]``.

    ``sigma_hat = sum (n(t) - mean)(n(t+1) - mean') / sum (n(t) - mean)^2`` over every trial;
    ``0.0`` when the activity does not vary (no information: a silent or clamped network).
    """
    n = counts.to(torch.float64)
    if n.dim() == 1:
        n = n[:, None]
    if n.dim() != 2 or n.shape[0] < 3:
        raise ValueError(f"counts must be [T] or [T, B] with T >= 3, got {tuple(counts.shape)}")
    a, b = n[:-1], n[1:]
    a, b = a - a.mean(0), b - b.mean(0)
    var = (a * a).sum()
    return float((a * b).sum() / var) if var > 0 else 0.0


class AstroState(NamedTuple):
    traces: PairTraces
    astro: float  # the astrocyte variable A
    branching: float  # branching ratio sensed in the last window, 1 - n_in / n_liquid
    regression: float  # its regression estimate from the liquid activity (for monitoring)


class AstrocyteModulation(PlasticityRule):
    """Pair STDP on recurrent (liquid) weights, gated by a slow astrocyte that steers the
    network toward a target branching ratio.

    ``pre``/``post``: spike trains of the source and target populations (the same liquid for
    recurrent weights); ``modulator``: the input spikes the astrocyte senses (any shape; only
    their total count matters). As in NALSM, the astrocyte integrates input activity against
    liquid activity: in a driven branching network ``n_liquid = n_in / (1 - sigma)``, so the
    sensed ratio ``sigma_in = 1 - n_in / n_liquid`` (clipped to [0, 2]) is the branching ratio
    whatever the input rate (a saturated liquid reads as supercritical). Per window::

        A <- A + (target - sigma_in - A) / tau_astro            (slow, tau_astro in windows)
        dW = lr A (a_plus sum post (x) r + a_minus sum o^- (x) pre) / (B max(nbar, 1))

    ``nbar`` is the mean number of spikes per target neuron and trial: the update per window
    stays of order ``lr`` whatever the rate. ``A > 0`` (subcritical) lets causal pairings
    potentiate, ``A < 0`` (supercritical) turns them into depression; at the target ``A -> 0``
    and plasticity stops.
    """

    modulated = True
    spiking = True

    def __init__(self, *, dt: float, target: float = 0.9, a_plus: float = 1.0,
                 a_minus: float = -1.0, tau_plus: float = 20e-3, tau_minus: float = 20e-3,
                 tau_astro: float = 2.0, lr: float = 1e-2, w_min: float = 0.0,
                 w_max: float = 1.0) -> None:
        super().__init__(lr)
        if not 0 < target < 2 or tau_astro < 1:
            raise ValueError(f"AstrocyteModulation: need 0 < target < 2 and tau_astro >= 1 "
                             f"window, got target={target}, tau_astro={tau_astro}")
        if not w_max > w_min:
            raise ValueError(f"AstrocyteModulation needs w_max > w_min, got [{w_min}, {w_max}]")
        self.target, self.tau_astro = float(target), float(tau_astro)
        self.a_plus, self.a_minus = float(a_plus), float(a_minus)
        self.d_pre, self.d_post = exact_decay(tau_plus, dt), exact_decay(tau_minus, dt)
        self.w_min, self.w_max = float(w_min), float(w_max)

    @property
    def bounds(self) -> tuple[float, float]:
        return self.w_min, self.w_max

    @staticmethod
    def sensed_branching(n_in: float, n_liquid: float) -> float:
        """``1 - n_in / n_liquid`` clipped to [0, 2] (0 for a silent liquid)."""
        if n_liquid <= 0:
            return 0.0
        return min(max(1.0 - n_in / n_liquid, 0.0), 2.0)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        sigma = self.sensed_branching(float(modulator.sum()), float(post.sum()))
        astro = 0.0 if state is None else state.astro
        astro += (self.target - sigma - astro) / self.tau_astro
        r, o_minus, traces = pair_terms(pre, post, self.d_pre, self.d_post, False,
                                        None if state is None else state.traces)
        pre64, post64 = pre.to(torch.float64), post.to(torch.float64)
        stdp = self.a_plus * outer_sum(post64, r) + self.a_minus * outer_sum(o_minus, pre64)
        B = post.shape[1]
        nbar = float(post.sum()) / (B * post.shape[2])
        dw = self.lr * astro * stdp / (B * max(nbar, 1.0))
        regression = branching_ratio(post.sum(-1)) if post.shape[0] >= 3 else float("nan")
        return dw.to(weight.dtype), AstroState(traces, astro, sigma, regression)


__all__ = [
    "NORMS",
    "AdaptiveThreshold",
    "AstroState",
    "AstrocyteModulation",
    "SynapticScaling",
    "WeightNormalization",
    "branching_ratio",
]
