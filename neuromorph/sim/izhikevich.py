"""Izhikevich (2003) neurons in SI units, integrated with forward Euler (Brian2 ``'euler'``).

Brian2 equivalent (``method='euler'``; every variable, channels included)::

    dv/dt = (0.04/ms/mV)*v**2 + (5/ms)*v + 140*mV/ms - u + sum_k x_k + r_m*I : volt
    du/dt = a * (b*v - u) : volt/second
    dx_k/dt = -x_k / tau_k : volt/second
    threshold='v > v_peak', reset='v = c; u += d'

with ``a`` (1/s, 0.02/ms = 20), ``b`` (1/s, 0.2/ms = 200), ``c`` (V, -65 mV), ``d`` (V/s,
8 mV/ms = 8). Channels ``x_k`` and ``r_m I`` are in V/s; a projection onto ``v`` adds volts.
Initial state: ``v = c``, ``u = b c``. Parameters also take Brian2 ``Quantity`` values
(``a=0.02/ms``, ``c=-65*mV``, ``d=8*mV/ms``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neuromorph.sim.groups import Channel, NeuronGroup
from neuromorph.sim.propagators import IZH_K2, izhikevich_matrix
from neuromorph.units import as_si

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


class IzhikevichGroup(NeuronGroup):
    """Izhikevich neurons (see the module docstring for the equations and units)."""

    extra_rows = ("u",)

    def __init__(
        self, n: int, *, a: float = 20.0, b: float = 200.0, c: float = -0.065, d: float = 8.0,
        v_peak: float = 0.030, refractory: float = 0.0, r_m: float = 1.0,
        channels: dict[str, float | Channel] | None = None, name: str | None = None,
    ) -> None:
        a, b = as_si(a, "a", "Hz"), as_si(b, "b", "Hz")
        c, d = as_si(c, "c", "V"), as_si(d, "d", "V/s")
        self.a, self.b, self.c, self.d, self.r_m = a, b, c, d, r_m
        super().__init__(n, v_threshold=v_peak, v_reset=c, refractory=refractory,
                         channels=channels, name=name)
        self.state[self.row("u")] = b * c

    def default_v(self) -> float:
        return self.c

    def _build_model(self, net: Network) -> None:
        taus = [ch.tau for ch in self.channels.values()]
        kw = dict(device=net.device, dtype=net.dtype)
        self.M = izhikevich_matrix(self.a, self.b, self.r_m, taus, net.dt).to(**kw)
        K = self.M.shape[0]
        self.Y = torch.empty(K, self.n, **kw)
        self.sq = torch.empty(self.n, **kw)
        self._M, self._Y, self._sq = self.ops.view(self.M), self.ops.view(self.Y), \
            self.ops.view(self.sq)
        self._rows = self._X[:K]
        self._u = self._X[self.row("u")]
        self._k2 = net.dt * IZH_K2

    def update(self, step: int) -> None:
        xp = self.ops.xp
        self.ops.matmul(self._M, self._X, self._Y)
        xp.multiply(self._v, self._v, out=self._sq)
        xp.multiply(self._sq, self._k2, out=self._sq)
        xp.add(self._Y[0], self._sq, out=self._Y[0])
        if self.R > 0:
            self.refractory_now(step)
        self.write_v(self._Y[0])
        self._rows[1:] = self._Y[1:]

    def reset(self, step: int) -> None:
        self.ops.fill(self._v, self.spikes, self.c)
        self.ops.add_at(self._u, self.spikes, self.d)


__all__ = ["IzhikevichGroup"]
