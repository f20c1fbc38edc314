"""Poisson input folded into one variable: Brian2's ``PoissonInput``.

``PoissonInput(group, var, n_inputs, rate, weight)`` stands for ``n_inputs`` independent Poisson
sources of ``rate`` (Hz) per neuron, each connected with ``weight``. In every step (synapses
slot, Brian2's ``when='synapses'``) it adds::

    var += weight * k,    k ~ Binomial(n_inputs, rate * dt)   (one draw per neuron and step)

which is exact for spikes on the ``dt`` grid (several sources may fire in one step, unlike one
Poisson spike source of rate ``n_inputs * rate``) and needs no synapses. ``n_inputs`` may differ
per neuron (``[n]``). Draws come from ``net.generator(stream)``, a chunk of steps at a time: by
inversion of uniforms (:mod:`neuromorph.sim.binomial`; 3-4x faster) while the mean
``n_inputs * rate * dt`` is at most 30 and ``rate * dt < 0.5``, else ``torch.binomial``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from neuromorph.sim.groups import NeuronGroup

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


class PoissonInput:
    """``n_inputs`` Poisson sources of ``rate`` Hz with ``weight`` onto ``var`` of ``group``."""

    def __init__(self, group: NeuronGroup, var: str, n_inputs: int | Tensor, rate: float,
                 weight: float, *, stream: str = "poisson_input", name: str | None = None) -> None:
        if not isinstance(group, NeuronGroup):
            raise TypeError(f"PoissonInput drives a neuron group, got {type(group).__name__}")
        group.target_row(var)  # unknown targets raise, listing the valid ones
        counts = torch.as_tensor(n_inputs, dtype=torch.float64)
        if counts.dim() and tuple(counts.shape) != (group.n,):
            raise ValueError(f"n_inputs must be a scalar or [{group.n}], got "
                             f"{list(counts.shape)}")
        if (counts < 0).any() or not torch.equal(counts, counts.round()):
            raise ValueError("n_inputs must be whole numbers >= 0")
        if not rate >= 0:
            raise ValueError(f"rate must be >= 0 Hz, got {rate}")
        self.group, self.var, self.rate, self.weight = group, var, float(rate), float(weight)
        self.counts, self.stream, self.name = counts.expand(group.n).clone(), stream, name

    def _build(self, net: Network) -> None:
        g = self.group
        self.ops = net.ops
        p = self.rate * net.dt
        if p > 1:
            raise ValueError(f"rate * dt = {p:.3g} > 1: use a smaller dt")
        self.p = p
        self.gen = net.generator(self.stream)
        self.chunk = max(1, min(256, (1 << 20) // g.n))
        self.buf = torch.zeros(self.chunk, g.n, dtype=net.dtype, device=net.device)
        self._buf = self.ops.view(self.buf)
        self._x = g._X[g.row(self.var)]
        self.k = self.chunk
        from neuromorph.sim.binomial import inversion_applies  # numba loads on first use

        self.inversion = inversion_applies(float(self.counts.max()) if g.n else 0.0, p)

    def _draw(self) -> None:
        """The next ``chunk`` steps of ``weight * k`` into ``buf``."""
        self.k = 0
        if not self.inversion:
            counts = self.counts.expand(self.chunk, -1)
            k = torch.binomial(counts, torch.full_like(counts, self.p), generator=self.gen)
            self.buf.copy_(k * self.weight)
            return
        from neuromorph.sim.binomial import binomial_by_inversion

        u = torch.rand(self.buf.shape, generator=self.gen, dtype=torch.float64,
                       device=self.gen.device).cpu()
        host = self.buf if self.buf.device.type == "cpu" else \
            torch.empty(self.buf.shape, dtype=self.buf.dtype)
        binomial_by_inversion(u.numpy(), np.ascontiguousarray(self.counts.numpy()), self.p,
                              self.weight, host.numpy())
        if host is not self.buf:
            self.buf.copy_(host)

    def apply(self, step: int) -> None:
        if self.k >= self.chunk:
            self._draw()
        xp = self.ops.xp
        xp.add(self._x, self._buf[self.k], out=self._x)
        self.k += 1

    def state_dict(self) -> dict[str, Any]:
        return {"buf": self.buf.clone(), "k": int(self.k)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buf.copy_(state["buf"])
        self.k = int(state["k"])


__all__ = ["PoissonInput"]
