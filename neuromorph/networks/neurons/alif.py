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
autograd (surrogate gradient through both ``h`` and ``theta``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape
from neuromorph.primitives.discretize import decay, leaky_coefficients
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
        tau: Num = 20e-3,
        tau_adapt: Num = 200e-3,
        beta_adapt: Num = 1.8,
        r: Num = 1.0,
        v_leak: Num = 0.0,
        v_threshold: Num = 1.0,
        v_reset: float = 0.0,
        learn_tau: bool = False,
        learn_threshold: bool = False,
        **options,
    ) -> None:
        options.pop("backend", None)  # ALIF has no fused kernel: always the step loop
        super().__init__(shape, dt=dt, v_reset=v_reset, **options)
        self._add("tau", tau, learn_tau, positive=True)
        self._add("tau_adapt", tau_adapt, learn_tau, positive=True)
        self._add("beta_adapt", beta_adapt)
        self._add("r", r)
        self._add("v_leak", v_leak)
        self._add("v_threshold", v_threshold, learn_threshold)

    def _coefficients(self, f: tuple[int, ...], like: Tensor) -> tuple[Tensor, ...]:
        alpha, gain, bias = leaky_coefficients(self.tau, self.r, self.v_leak, self.dt, self.method)
        rho = decay(self.tau_adapt, self.dt, self.method, name="tau_adapt")
        return tuple(self.per_neuron(q, f, like) for q in
                     (alpha, gain, bias, rho, self.beta_adapt, self.v_threshold))

    def step(self, x: Tensor, state: ALIFState | None = None) -> tuple[Tensor, ALIFState]:
        """One step on ``x`` ``[B, *F]``."""
        B, feat = x.shape[0], x.shape[1:]
        x2 = x.reshape(B, -1)
        alpha, gain, bias, rho, beta, th = self._coefficients(tuple(feat), x2)
        v = torch.zeros_like(x2) if state is None else state.v.reshape(B, -1)
        a = torch.zeros_like(x2) if state is None else state.a.reshape(B, -1)
        theta = th + beta * a
        s, v = lif_step_reference(x2 * gain + bias, v, alpha, theta, **self.kernel_options())
        a = rho * a + (1.0 - rho) * s
        return s.reshape(x.shape), ALIFState(v.reshape(B, *feat), a.reshape(B, *feat))

    def forward(
        self, x: Tensor, state: ALIFState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        self._flatten(x)
        spikes, vs = [], []
        for t in range(x.shape[0]):
            s, state = self.step(x[t], state)
            spikes.append(s)
            vs.append(state.v)
        v = torch.stack(vs) if return_v else None
        return self.output(torch.stack(spikes), v, state, return_v, return_state)


__all__ = ["ALIF", "ALIFState"]
