"""Adaptive LIF neuron (threshold adaptation, Bellec et al. 2018 "LSNN").

Continuous time (SI units): the LIF membrane ``tau dv/dt = (v_leak - v) + r I`` plus an
adaptation variable ``a`` that each spike raises and that decays with ``tau_adapt``:

    tau_adapt da/dt = -a + S(t),     effective threshold  theta(t) = v_threshold + beta_adapt a

Per step (``alpha``, ``rho`` from :mod:`neuromorph.primitives.discretize`):

    h[t] = alpha v[t-1] + gain I[t] + bias
    s[t] = Heaviside(h[t] - theta[t]),   theta[t] = v_threshold + beta_adapt a[t-1]
    v[t] = reset(h[t], s[t], theta[t])   (as LIF; subtract removes the *effective* threshold)
    a[t] = rho a[t-1] + (1 - rho) s[t]

The adaptation makes the recursion non-separable per neuron type, so it runs as a step loop under
autograd (surrogate gradient through both ``h`` and ``theta``). The coefficients are computed once
per forward call, without checks (``tau`` and ``tau_adapt`` are checked at construction).
``r`` not given means unit step gain (``r = tau / dt`` for Euler); ``beta=`` may replace ``tau``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape, tau_or_beta
from neuromorph.primitives.discretize import decay_pair, leaky_coefficients_unchecked, unit_gain_r
from neuromorph.sim.kernels import refuse_nan_state
from neuromorph.sim.kernels.reference import lif_step_reference

Num = float | Tensor


class ALIFState(NamedTuple):
    """Membrane ``v`` and adaptation ``a``, each ``[B, *F]``."""

    v: Tensor
    a: Tensor


class ALIF(NeuronBase):
    """Adaptive-threshold LIF layer over ``[T, B, *F]`` (see the module docstring)."""

    SPEC = specs.ALIF

    def __init__(
        self,
        shape: Shape = None,
        *,
        dt: float,
        tau: Num | None = None,
        beta: Num | None = None,
        tau_adapt: Num = 200e-3,
        beta_adapt: Num = 1.8,
        r: Num | None = None,
        v_leak: Num = 0.0,
        v_threshold: Num = 1.0,
        learn_tau: bool = False,
        learn_threshold: bool = False,
        **options: Any,
    ) -> None:
        """``tau`` (s, default 20 ms) or ``beta`` (membrane decay per step); ``r`` defaults to
        unit step gain; ``options``: ``method`` and the spike options."""
        options.pop("backend", None)  # ALIF has no fused kernel: always the step loop
        super().__init__(shape, dt=dt, **options)
        tau = self._add_time_constant(
            "tau", tau_or_beta(tau, beta, self.dt, self.method, 20e-3), learn_tau)
        self._add_time_constant("tau_adapt", tau_adapt, learn_tau)
        self._add("beta_adapt", beta_adapt)
        self._add("r", unit_gain_r(tau, self.dt, self.method) if r is None else r)
        self._add("v_leak", v_leak)
        self._add("v_threshold", v_threshold, learn_threshold)

    def coefficients(self, feat: tuple[int, ...], like: Tensor) -> tuple[Tensor, ...]:
        """``(alpha, gain, bias, rho, beta_adapt, v_threshold)`` as ``[N]`` tensors; no checks
        and no host sync."""
        alpha, gain, bias = leaky_coefficients_unchecked(
            self.time_constant("tau"), self.r, self.v_leak, self.dt, self.method)
        rho = decay_pair(self.time_constant("tau_adapt"), self.dt, self.method)[0]
        return tuple(self.per_neuron(q, feat, like) for q in
                     (alpha, gain, bias, rho, self.beta_adapt, self.v_threshold))

    def step(self, x: Tensor, state: ALIFState | None = None, *,
             coefficients: tuple[Tensor, ...] | None = None) -> tuple[Tensor, ALIFState]:
        """One step on ``x`` ``[B, *F]``; ``coefficients`` (from :meth:`coefficients`) saves
        recomputing them when the caller loops."""
        B, feat = x.shape[0], x.shape[1:]
        x2 = x.reshape(B, -1)
        alpha, gain, bias, rho, beta, th = (self.coefficients(tuple(feat), x2)
                                            if coefficients is None else coefficients)
        v = torch.zeros_like(x2) if state is None else state.v.reshape(B, -1)
        a = torch.zeros_like(x2) if state is None else state.a.reshape(B, -1)
        theta = th + beta * a
        s, v = lif_step_reference(x2 * gain + bias, v, alpha, theta, self.options)
        a = rho * a + (1.0 - rho) * s
        return s.reshape(x.shape), ALIFState(v.reshape(B, *feat), a.reshape(B, *feat))

    def forward(
        self, x: Tensor, state: ALIFState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        """Spikes ``[T, B, *F]``; a NaN input raises ``ValueError`` (one device sync per call
        on CUDA)."""
        x3, feat = self._flatten(x)
        coefficients = self.coefficients(feat, x3)
        spikes, vs = [], []
        for t in range(x.shape[0]):
            s, state = self.step(x[t], state, coefficients=coefficients)
            spikes.append(s)
            vs.append(state.v)
        if state is not None:
            refuse_nan_state(state.v)
        v = torch.stack(vs) if return_v else None
        return self.output(torch.stack(spikes), v, state, return_v, return_state)


__all__ = ["ALIF", "ALIFState"]
