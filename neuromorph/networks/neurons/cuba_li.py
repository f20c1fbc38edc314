"""Current-based leaky integrator without spikes (NIR ``CubaLI``): a membrane readout behind an
exponential synapse.

Continuous time (SI units; ``tau_syn``, ``tau_mem`` in s):

    tau_syn dI/dt = -I + w_in x,      tau_mem dv/dt = (v_leak - v) + r I

discretised by :mod:`neuromorph.primitives.discretize` as ``I <- a_syn I + g_syn x`` and
``v <- a_mem v + g_mem I + b_mem`` (the membrane sees the new current, as in
:class:`~neuromorph.networks.neurons.CubaLIF`). ``w_in`` and ``r`` not given mean unit step gains.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape
from neuromorph.primitives.discretize import (
    leaky_coefficients_unchecked,
    synapse_coefficients_unchecked,
    unit_gain_r,
)
from neuromorph.sim.kernels.cpu_scan import linear_scan

Num = float | Tensor


class CubaLIState(NamedTuple):
    """Synaptic current ``i`` and membrane ``v``, each ``[B, *F]``."""

    i: Tensor
    v: Tensor


class CubaLI(NeuronBase):
    """Current-based leaky integrator (NIR ``CubaLI``), no spikes; returns the membrane trace."""

    SPEC = specs.CubaLI

    def __init__(self, shape: Shape = None, *, dt: float, tau_syn: Num = 5e-3,
                 tau_mem: Num = 20e-3, r: Num | None = None, v_leak: Num = 0.0,
                 w_in: Num | None = None, method: str = "euler") -> None:
        super().__init__(shape, dt=dt, method=method)
        t_syn = self._add_time_constant("tau_syn", tau_syn, False)
        t_mem = self._add_time_constant("tau_mem", tau_mem, False)
        self._add("r", unit_gain_r(t_mem, self.dt, self.method) if r is None else r)
        self._add("v_leak", v_leak)
        self._add("w_in", unit_gain_r(t_syn, self.dt, self.method) if w_in is None else w_in)

    def forward(self, x: Tensor, state: CubaLIState | None = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        a_syn, g_syn = synapse_coefficients_unchecked(self.time_constant("tau_syn"), self.dt,
                                                      self.method, self.w_in)
        a_mem, g_mem, b_mem = leaky_coefficients_unchecked(
            self.time_constant("tau_mem"), self.r, self.v_leak, self.dt, self.method)
        a_syn, g_syn, a_mem, g_mem, b_mem = (self.per_neuron(q, feat, x3)
                                             for q in (a_syn, g_syn, a_mem, g_mem, b_mem))
        i0 = self.state_in(None if state is None else state.i, x3, "i")
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        i = linear_scan(x3 * g_syn, i0, a_syn)
        v = linear_scan(i * g_mem + b_mem, v0, a_mem)
        B = x.shape[1]
        st = CubaLIState(i[-1].reshape(B, *feat), v[-1].reshape(B, *feat))
        out = v.reshape(x.shape)
        return self.output(out, out, st, return_v, return_state)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, dt={self.dt}, method={self.method!r}"


__all__ = ["CubaLI", "CubaLIState"]
