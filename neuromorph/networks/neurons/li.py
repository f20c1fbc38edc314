"""Leaky integrator readout (NIR ``LI``): ``tau dv/dt = (v_leak - v) + r I``, no spikes.

Discretised as ``v <- alpha v + gain I + bias`` and run as one fused linear scan. The output is the
membrane trace ``[T, B, *F]`` (use it with max/mean-over-time losses).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape
from neuromorph.primitives.discretize import leaky_coefficients
from neuromorph.sim.kernels.cpu_scan import linear_scan

Num = float | Tensor


class LIState(NamedTuple):
    """Membrane ``v`` ``[B, *F]``."""

    v: Tensor


class LI(NeuronBase):
    """Leaky-integrator layer over ``[T, B, *F]``; returns the membrane trace.

    ``forward(x, state=None, return_state=False)`` -> the trace ``v``, or a
    :class:`NeuronOutput` ``(v, v if return_v, LIState)`` when asked for more (same signature
    as the spiking neurons, so LI drops into the spiking layers and containers).
    """

    SPEC = specs.LI

    def __init__(
        self,
        shape: Shape = None,
        *,
        dt: float,
        tau: Num = 20e-3,
        r: Num = 1.0,
        v_leak: Num = 0.0,
        learn_tau: bool = False,
        method: str = "euler",
    ) -> None:
        super().__init__(shape, dt=dt, method=method)
        self._add("tau", tau, learn_tau, positive=True)
        self._add("r", r)
        self._add("v_leak", v_leak)

    def forward(
        self, x: Tensor, state: LIState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        alpha, gain, bias = (
            self.per_neuron(q, feat, x3)
            for q in leaky_coefficients(self.tau, self.r, self.v_leak, self.dt, self.method)
        )
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        v = linear_scan(self.maybe_affine(x3, gain, bias), v0, alpha)
        out = v.reshape(x.shape)
        st = LIState(v[-1].reshape(x.shape[1], *feat))
        return self.output(out, out, st, return_v, return_state)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, dt={self.dt}, method={self.method!r}"

    @classmethod
    def from_snntorch(cls, beta: float, shape: Shape = None) -> LI:
        """snnTorch ``Leaky(beta, reset_mechanism='none')`` membrane as a readout."""
        from neuromorph.primitives.discretize import tau_from_decay

        tau = tau_from_decay(beta, 1.0)
        return cls(shape, dt=1.0, tau=tau, r=tau)


__all__ = ["LI", "LIState"]
