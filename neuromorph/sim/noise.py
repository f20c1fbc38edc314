"""White-noise input: Brian2's ``xi`` term, integrated with the Euler-Maruyama increment.

A :class:`WhiteNoise` adds to variable ``var`` (default ``v``) of a neuron group the stochastic
term of (Brian2, e.g. its Brunel & Hakim 1999 example)::

    dv/dt = f(v, ...) + sigma * sqrt(tau) * xi / tau          (xi: white noise, units s^-1/2)

In each step, right after the group's deterministic update over ``[t, t + dt]``, it adds the
Euler-Maruyama increment ``sigma * sqrt(dt / tau) * N(0, 1)`` (volts; one independent standard
normal per neuron and step), so the noise power does not depend on ``dt``. On a free leaky
membrane ``dv/dt = (mu - v) / tau + sigma xi / sqrt(tau)`` the stationary variance is
``sigma**2 / 2`` (continuous time). Brian2's other common form ``sigma * sqrt(2 / tau) * xi`` is
``WhiteNoise(g, sigma * sqrt(2), tau)`` (stationary variance ``sigma**2``).

A neuron whose ``v`` is clamped while refractory (Brian2's ``(unless refractory)``) gets no noise
on ``v`` then; groups with ``integrate_refractory=True`` get it always. The normals come from
``net.generator(stream)`` in chunks of steps (reproducible, checkpointed with the draw position).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.groups import NeuronGroup

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


class WhiteNoise:
    """``dvar/dt += sigma * xi / sqrt(tau)`` on a neuron group (see the module docstring).

    ``sigma``: volts (or the unit of ``var``), a scalar or one value per neuron (``[n]``; zeros
    leave neurons noiseless, which is how a subgroup gets noise); ``tau``: seconds.
    """

    def __init__(self, group: NeuronGroup, sigma: float | Tensor, tau: float, *,
                 var: str = "v", stream: str = "noise", name: str | None = None) -> None:
        if not isinstance(group, NeuronGroup):
            raise TypeError(f"WhiteNoise drives a neuron group, got {type(group).__name__}; for "
                            "a subgroup pass the whole group and per-neuron sigma (0 elsewhere)")
        if not tau > 0:
            raise ValueError(f"tau must be > 0 seconds, got {tau}")
        group.row(var)  # unknown names raise, listing the valid ones
        if var == "I":
            raise ValueError("noise on I would be overwritten by inputs; add it to v or a channel")
        s = torch.as_tensor(sigma, dtype=torch.float64)
        if s.dim() and tuple(s.shape) != (group.n,):
            raise ValueError(f"sigma must be a scalar or [{group.n}], got {list(s.shape)}")
        if not torch.isfinite(s).all() or (s < 0).any():
            raise ValueError("sigma must be finite and >= 0")
        self.group, self.var, self.tau, self.stream, self.name = group, var, float(tau), \
            stream, name
        self.sigma = s.expand(group.n).clone()

    def _build(self, net: Network) -> None:
        g = self.group
        self.ops, self.device = net.ops, net.device
        self.gen = net.generator(self.stream)
        self.scale = (self.sigma * math.sqrt(net.dt / self.tau)).to(net.device, net.dtype)
        self.chunk = max(1, min(256, (1 << 20) // g.n))
        self.buf = torch.zeros(self.chunk, g.n, dtype=net.dtype, device=net.device)
        self._buf, self._scale = self.ops.view(self.buf), self.ops.view(self.scale)
        self._x = g._X[g.row(self.var)]
        self.tmp = torch.empty(g.n, dtype=net.dtype, device=net.device)
        self._tmp = self.ops.view(self.tmp)
        self.k = self.chunk  # next row of the buffer; chunk = draw a new one

    def _draw(self) -> None:
        z = torch.randn(self.chunk, self.group.n, generator=self.gen, dtype=torch.float64)
        self.buf.copy_(z)
        self.k = 0

    def apply(self, step: int) -> None:
        """Groups slot, after the state update: ``var += scale * N(0, 1)``."""
        if self.k >= self.chunk:
            self._draw()
        xp, g, tmp = self.ops.xp, self.group, self._tmp
        xp.multiply(self._buf[self.k], self._scale, out=tmp)
        self.k += 1
        if self.var == "v" and g.R > 0 and g.clamp_v:
            self.ops.fill(tmp, g._ref, 0.0)
        xp.add(self._x, tmp, out=self._x)

    def state_dict(self) -> dict[str, Any]:
        return {"buf": self.buf.clone(), "k": int(self.k)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buf.copy_(state["buf"])
        self.k = int(state["k"])


def ou_stationary_variance(sigma: float, tau: float, dt: float | None = None) -> float:
    """Stationary variance of ``dv/dt = -v/tau + sigma xi / sqrt(tau)`` (volts^2).

    ``dt=None``: continuous time, ``sigma^2 / 2``. With ``dt``: the scheme of this module (exact
    decay ``a = exp(-dt/tau)``, then the increment ``sigma sqrt(dt/tau) N``):
    ``sigma^2 (dt/tau) / (1 - a^2)``.
    """
    if dt is None:
        return sigma * sigma / 2.0
    a = exact_decay(tau, dt)
    return float(sigma * sigma * (dt / tau) / (1.0 - a * a))


__all__ = ["WhiteNoise", "ou_stationary_variance"]
