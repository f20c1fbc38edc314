"""Leaky integrator readout (NIR ``LI``): ``tau dv/dt = (v_leak - v) + r I``, no spikes.

Discretised as ``v <- alpha v + gain I + bias`` and run as one fused linear scan. The output is the
membrane trace ``[T, B, *F]`` (use it with max/mean-over-time losses). ``r`` not given means unit
step gain (``r = tau / dt`` for Euler); ``beta=`` (decay per step) may replace ``tau``.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape, tau_or_beta
from neuromorph.primitives.discretize import (
    leaky_coefficients_unchecked,
    tau_from_decay,
    unit_gain_r,
)
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
        tau: Num | None = None,
        beta: Num | None = None,
        r: Num | None = None,
        v_leak: Num = 0.0,
        learn_tau: bool = False,
        method: str = "euler",
    ) -> None:
        """``tau`` (s, default 20 ms) or ``beta`` (decay per step); ``r`` (ohm, default: unit
        step gain)."""
        super().__init__(shape, dt=dt, method=method)
        tau = self._add_time_constant(
            "tau", tau_or_beta(tau, beta, self.dt, self.method, 20e-3), learn_tau)
        self._add("r", unit_gain_r(tau, self.dt, self.method) if r is None else r)
        self._add("v_leak", v_leak)

    def forward(
        self, x: Tensor, state: LIState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        alpha, gain, bias = (
            self.per_neuron(q, feat, x3)
            for q in leaky_coefficients_unchecked(self.time_constant("tau"), self.r, self.v_leak,
                                                  self.dt, self.method)
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
        tau = tau_from_decay(beta, 1.0)
        return cls(shape, dt=1.0, tau=tau, r=tau)


__all__ = ["LI", "LIState"]
