"""Tsodyks-Markram short-term plasticity (depressing and facilitating synapses), event-driven.

Each synapse has a utilisation ``u`` and a fraction of available resources ``x`` (both
dimensionless) that relax between spikes and jump when a spike arrives (Tsodyks, Pawelzik &
Markram 1998, the form of Brian2's ``Tsodyks_Pawelzik_Markram_1998`` example with an
instantaneous release). Brian2 equivalent::

    S = Synapses(src, tgt, '''w : 1
                              du/dt = -u / tau_f : 1 (event-driven)
                              dx/dt = (1 - x) / tau_d : 1 (event-driven)''',
                 on_pre='''u += U * (1 - u)
                           ge_post += w * u * x
                           x -= u * x''')
    S.x = 1            # u starts at 0: the first spike uses u = U

so a spike arriving ``Δt`` after the previous one (exact solution of the relaxation) does::

    u <- u exp(-Δt / tau_f);  x <- 1 + (x - 1) exp(-Δt / tau_d)
    u <- u + U (1 - u);  r = u x;  target += w r;  x <- x - r

Depressing synapses: ``tau_f=None`` keeps ``u = U`` (``r = U x``). ``U`` in (0, 1], ``tau_d``
and ``tau_f`` in seconds. With one ``U, tau_d, tau_f`` and one delay per projection, every
synapse of a presynaptic neuron sees the same spike train and so holds the same ``u, x``: the
state is stored once per *presynaptic neuron* (exactly Brian2's per-synapse values, no memory
per synapse). Use it as ``Projection(..., plasticity=TsodyksMarkram(...))``; like plastic
projections it takes one homogeneous delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from neuromorph.sim.network import Network
    from neuromorph.sim.projections import Projection


@dataclass(frozen=True)
class TsodyksMarkram:
    """Short-term plasticity parameters (see the module docstring)."""

    U: float
    tau_d: float
    tau_f: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.U <= 1.0:
            raise ValueError(f"U must be in (0, 1], got {self.U}")
        if not self.tau_d > 0:
            raise ValueError(f"tau_d must be > 0 seconds, got {self.tau_d}")
        if self.tau_f is not None and not self.tau_f > 0:
            raise ValueError(f"tau_f must be > 0 seconds (or None: depression only), got "
                             f"{self.tau_f}")

    def bind(self, proj: Projection, net: Network) -> ShortTermState:
        return ShortTermState(self, proj, net)


class ShortTermState:
    """Runtime of one projection with short-term plasticity: ``u, x`` per presynaptic neuron."""

    owns_propagation = True  # it propagates ``w * u * x`` itself (:meth:`propagate`)

    def __init__(self, rule: TsodyksMarkram, proj: Projection, net: Network) -> None:
        self.rule, self.proj, self.ops, self.dt = rule, proj, net.ops, net.dt
        n = proj.source_group.n
        kw = dict(dtype=torch.float64, device=net.device)
        self.u_s = torch.full((n,), rule.U if rule.tau_f is None else 0.0, **kw)
        self.x_s = torch.ones(n, **kw)
        self.last = torch.zeros(n, **kw)  # step of the last arrival (float64: exact steps)
        self._u, self._x, self._last = (self.ops.view(t) for t in (self.u_s, self.x_s, self.last))

    @property
    def u(self) -> torch.Tensor:
        """Utilisation of each presynaptic neuron's synapses, as of its last spike."""
        return self.u_s

    @property
    def x(self) -> torch.Tensor:
        """Available resources of each presynaptic neuron's synapses, after its last spike."""
        return self.x_s

    def _release(self, idx: Any, step: int) -> Any:
        """Relax and jump ``u, x`` of the sources ``idx`` arriving at ``step``; returns ``r``."""
        xp, r = self.ops.xp, self.rule
        elapsed = (step - self._last[idx]) * self.dt
        x = 1.0 + (self._x[idx] - 1.0) * xp.exp(-elapsed / r.tau_d)
        if r.tau_f is None:
            u = self._u[idx]
        else:
            u = self._u[idx] * xp.exp(-elapsed / r.tau_f)
            u = u + r.U * (1.0 - u)
        release = u * x
        self._u[idx], self._x[idx], self._last[idx] = u, x - release, step
        return release

    def propagate(self, spikes: Any, step: int) -> None:
        """``target += w * r`` for the synapses of the arriving spikes (any backend)."""
        idx = self.ops.spike_indices(spikes)
        if not len(idx):
            return
        self.ops.propagate_scaled(self.proj, idx, self._release(idx, step))

    def decay(self) -> None:
        """Nothing per step: ``u, x`` relax lazily, at the next spike."""

    def on_post(self, spikes: Any, step: int = 0) -> None:
        """Short-term plasticity ignores postsynaptic spikes."""

    def state_dict(self) -> dict[str, Any]:
        return {"u": self.u_s.clone(), "x": self.x_s.clone(), "last": self.last.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.u_s.copy_(state["u"])
        self.x_s.copy_(state["x"])
        self.last.copy_(state["last"])


__all__ = ["ShortTermState", "TsodyksMarkram"]
