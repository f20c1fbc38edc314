"""Integrate-and-fire neuron (NIR ``IF``): ``dv/dt = r I`` (no leak), spike when
``v > v_threshold``, then reset. Discretised as ``v <- v + (r dt) I`` and run by the IF kernels.
``r`` not given means unit step gain, ``r = 1 / dt`` (``v <- v + I``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape
from neuromorph.primitives.discretize import integrator_gain, integrator_unit_r
from neuromorph.sim.kernels import if_multistep

Num = float | Tensor


class IFState(NamedTuple):
    """Membrane potential ``v`` ``[B, *F]``."""

    v: Tensor


class IF(NeuronBase):
    """Integrate-and-fire layer over ``[T, B, *F]``; ``learn_threshold`` trains the threshold."""

    SPEC = specs.IF

    def __init__(
        self,
        shape: Shape = None,
        *,
        dt: float,
        r: Num | None = None,
        v_threshold: Num = 1.0,
        learn_threshold: bool = False,
        **options: Any,
    ) -> None:
        """``r`` (ohm, default ``1 / dt``: unit step gain); ``options``: ``backend`` and the
        spike options (or one ``options=SpikeOptions(...)``)."""
        super().__init__(shape, dt=dt, **options)
        self._add("r", integrator_unit_r(self.dt) if r is None else r)
        self._add("v_threshold", v_threshold, learn_threshold)

    def kernel_coefficients(
        self, feat: tuple[int, ...], like: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(alpha = 1, gain = r dt, bias = 0, theta)`` as ``[N]`` tensors for features
        ``feat``."""
        gain = self.per_neuron(integrator_gain(self.r, self.dt), feat, like)
        return (torch.ones_like(gain), gain, torch.zeros_like(gain),
                self.per_neuron(self.v_threshold, feat, like))

    def forward(
        self, x: Tensor, state: IFState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        _, gain, bias, theta = self.kernel_coefficients(feat, x3)
        xin = self.maybe_affine(x3, gain, bias)
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        s, v = if_multistep(xin, v0, theta, self.options, trace=return_v, backend=self.backend)
        B = x.shape[1]
        st = IFState((v[-1] if return_v else v).reshape(B, *feat))
        return self.output(s.reshape(x.shape), v.reshape(x.shape) if return_v else None, st,
                           return_v, return_state)


__all__ = ["IF", "IFState"]
