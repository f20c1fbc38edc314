"""A spiking population as a substrate: spike counts of LIF neurons under a constant current.

Each hidden neuron ``i`` is the library's :class:`~neuromorph.networks.neurons.LIF` in
snnTorch's unitless form (``dt = 1``, decay ``beta``, unit input gain, subtract reset), driven
for ``steps`` steps by the constant current ``z_i``::

    v[t] = beta v[t-1] + z_i - theta_i s[t-1],    s[t] = H(v[t] - theta_i),
    (``reset="zero"``: ``v[t] = (1 - s[t-1]) beta v[t-1] + z_i``, Loihi's reset)
    F(z)_i = (1 / steps) sum_t s[t]                (a firing rate in spikes per step)

The forward value always uses the hard threshold ``H``: a forward-only rule sees exactly the
spiking layer. Differentiable rules (surrogate-gradient BPTT) get the fast-sigmoid surrogate
``dH/du ~ 1 / (1 + k|u|)^2`` in the backward; a local rule gets that slope per neuron
(:meth:`SpikingRate.derivative`). Drift moves each threshold ``theta_i``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.access import Access
from neuromorph.networks.neurons import LIF
from neuromorph.networks.stack import Transform
from neuromorph.primitives.discretize import tau_from_decay


class SpikingRate(Transform):
    """``F(z)`` = firing rate of ``n`` LIF neurons over ``steps`` steps (see module doc)."""

    access = Access.DIFFERENTIABLE
    elementwise = True

    def __init__(self, n: int, steps: int = 8, beta: float = 0.9, threshold: float = 1.0,
                 surrogate: str = "fast_sigmoid", reset: str = "subtract") -> None:
        super().__init__(n, n)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta (the membrane decay per step) must lie in [0, 1), got {beta}")
        tau = tau_from_decay(beta, 1.0)
        self.steps = int(steps)
        self.neuron = LIF(n, dt=1.0, tau=tau, r=tau, v_threshold=torch.full((n,), threshold),
                          reset=reset, surrogate=surrogate)

    def measure(self, z: Tensor) -> Tensor:
        drive = z.unsqueeze(0).expand(self.steps, *z.shape)
        return self.neuron(drive).mean(dim=0)

    def derivative(self, z: Tensor) -> Tensor:
        """Per-neuron surrogate slope ``d F_i / d z_i`` (neurons are independent)."""
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.measure(zz).sum(), zz)
        return grad

    def perturb(self, strength: float, generator: torch.Generator) -> None:
        """Threshold drift: ``theta_i <- theta_i (1 + strength N(0, 1))``."""
        with torch.no_grad():
            theta = self.neuron.v_threshold
            noise = torch.randn(theta.shape, generator=generator).to(theta)
            theta.mul_(1 + strength * noise).clamp_(min=1e-3)
