"""Conductance-based LIF neurons (COBA): synaptic conductances with reversal potentials.

Brian2 equivalent (``method='exponential_euler'``)::

    dv/dt = (v_rest - v + sum_k g_k * (E_k - v) + r_m * I) / tau_m : volt (unless refractory)
    dg_k/dt = -g_k / tau_k : 1
    threshold='v > v_threshold', reset='v = v_reset', refractory=refractory

``g_k`` is in units of the leak conductance (dimensionless). With ``g_leak`` (siemens) given,
the ``g_k`` (and projection weights) are conductances in siemens, every ``g_k`` above reads
``g_k / g_leak``, and ``r_m`` defaults to ``1 / g_leak``. The exponential-Euler step (exact
for the ``g_k``; ``v`` sees the conductances at the start of the step)::

    g_tot = 1 + sum_k g_k,   v_inf = (v_rest + sum_k g_k E_k + r_m I) / g_tot
    v(t+dt) = v_inf + (v - v_inf) * exp(-dt * g_tot / tau_m),   g_k(t+dt) = g_k exp(-dt/tau_k)

Parameters also take Brian2 ``Quantity`` values (``tau_m=20*ms``, ``g_leak=10*nS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.groups import Channel, NeuronGroup
from neuromorph.sim.propagators import coba_matrix
from neuromorph.units import as_seconds, as_si

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


class COBALIFGroup(NeuronGroup):
    """LIF neurons with conductance-based exponential synapses (see the module docstring)."""

    def __init__(
        self, n: int, *, tau_m: float, v_rest: float, v_threshold: float, v_reset: float,
        channels: dict[str, Channel], refractory: float = 0.0, r_m: float | None = None,
        g_leak: float | None = None, name: str | None = None,
    ) -> None:
        tau_m, v_rest = as_seconds(tau_m, "tau_m"), as_si(v_rest, "v_rest", "V")
        if g_leak is not None:
            g_leak = as_si(g_leak, "g_leak", "S")
        r_m = None if r_m is None else as_si(r_m, "r_m", "ohm")
        if not tau_m > 0:
            raise ValueError(f"tau_m must be > 0 seconds, got {tau_m}")
        if g_leak is not None and not g_leak > 0:
            raise ValueError(f"g_leak must be > 0 siemens, got {g_leak}")
        if r_m is None:
            r_m = 1.0 / g_leak if g_leak is not None else 1.0
        self.tau_m, self.v_rest, self.r_m, self.g_leak = tau_m, v_rest, r_m, g_leak
        super().__init__(n, v_threshold=v_threshold, v_reset=v_reset, refractory=refractory,
                         channels=channels, name=name)
        if not self.channels:
            raise ValueError("COBALIFGroup needs at least one channel, e.g. "
                             "channels={'ge': Channel(5e-3, e_rev=0.0)}")
        for k, ch in self.channels.items():
            if ch.e_rev is None:
                raise ValueError(f"channel {k!r} of a COBALIFGroup needs e_rev (volts)")

    def default_v(self) -> float:
        return self.v_rest

    def _build_model(self, net: Network) -> None:
        chs = list(self.channels.values())
        scale = 1.0 / self.g_leak if self.g_leak is not None else 1.0
        A = coba_matrix(self.v_rest, self.r_m, [c.e_rev for c in chs], scale)  # type: ignore[misc]
        decay = torch.tensor([exact_decay(c.tau, net.dt) for c in chs], dtype=torch.float64)
        kw = dict(device=net.device, dtype=net.dtype)
        self.A, self.decay = A.to(**kw), decay[:, None].to(**kw)
        self.Z = torch.empty(2, self.n, **kw)
        self.tmp = torch.empty(2, self.n, **kw)
        v = self.ops.view
        self._A, self._decay, self._Z, self._T = v(self.A), v(self.decay), v(self.Z), v(self.tmp)
        self._ch = self._X[1: self.n_targets]
        self._k = -net.dt / self.tau_m

    def update(self, step: int) -> None:
        xp, Z, T = self.ops.xp, self._Z, self._T
        self.ops.matmul(self._A, self._X, Z)             # Z = [g_tot, drive]
        xp.divide(Z[1], Z[0], out=T[0])                # v_inf
        xp.multiply(Z[0], self._k, out=T[1])
        xp.exp(T[1], out=T[1])                         # exp(-dt g_tot / tau_m)
        xp.subtract(self._v, T[0], out=Z[1])           # v - v_inf
        xp.multiply(Z[1], T[1], out=Z[1])
        xp.add(Z[1], T[0], out=Z[1])                   # v_new
        if self.R > 0:
            self.refractory_now(step)
        self.write_v(Z[1])
        xp.multiply(self._ch, self._decay, out=self._ch)


__all__ = ["COBALIFGroup"]
