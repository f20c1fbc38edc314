"""Non-leaky integrator without spikes (NIR ``I``): ``dv/dt = r I``.

Discretised as ``v[t] = v[t-1] + (r dt) x[t]`` (:func:`~neuromorph.primitives.discretize.
integrator_gain`) and run as one linear scan; the output is the membrane trace ``[T, B, *F]``.
``r`` (ohm) not given means unit step gain, ``r = 1 / dt`` (``v <- v + x``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape
from neuromorph.primitives.discretize import integrator_gain, integrator_unit_r
from neuromorph.sim.kernels.cpu_scan import linear_scan


class IntegratorState(NamedTuple):
    """Membrane ``v`` ``[B, *F]``."""

    v: Tensor


class Integrator(NeuronBase):
    """Perfect integrator ``dv/dt = r I`` (NIR ``I``): ``v[t] = v[t-1] + (r dt) x[t]``.

    Returns the membrane trace ``[T, B, *F]`` (no spikes).
    """

    SPEC = specs.Integrator

    def __init__(self, shape: Shape = None, *, dt: float,
                 r: Tensor | float | None = None) -> None:
        super().__init__(shape, dt=dt)
        self._add("r", integrator_unit_r(self.dt) if r is None else r)

    def forward(self, x: Tensor, state: IntegratorState | None = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        gain = self.per_neuron(integrator_gain(self.r, self.dt), feat, x3)
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        v = linear_scan(x3 * gain, v0, torch.ones_like(gain))
        out = v.reshape(x.shape)
        return self.output(out, out, IntegratorState(v[-1].reshape(x.shape[1], *feat)),
                           return_v, return_state)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, dt={self.dt}"


__all__ = ["Integrator", "IntegratorState"]
