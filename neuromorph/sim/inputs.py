"""Inputs: Poisson spike sources, explicit spike times, injected currents.

- :class:`PoissonGroup` (Brian2 ``PoissonGroup(n, rates)``): neuron ``i`` spikes at step ``n``
  iff ``U < rates[i] * dt`` with ``U ~ Uniform[0, 1)`` drawn from ``net.generator("poisson")``
  (draws are made ``chunk`` steps at a time; the stream is reproducible and checkpointed).
- :class:`SpikeGeneratorGroup` (Brian2 ``SpikeGeneratorGroup(n, indices, times)``): spike times
  in seconds go to step ``int((t + 1e-3 dt)/dt)`` (Brian2's ``timestep``); two spikes of one
  neuron in one step are an error.
- :class:`CurrentInput` (Brian2 ``TimedArray(values, dt=dt)`` driving ``I``): during step ``n`` the
  current of the selected neurons is ``values[min(n, T - 1)]`` amperes (held after the end, as
  a TimedArray is). It runs in the start slot, before the state update.

Both spike sources emit in the thresholds slot, like Brian2's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from neuromorph.sim.groups import NeuronGroup, SpikeSource, Subgroup, resolve
from neuromorph.sim.propagators import time_step

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


class PoissonGroup(SpikeSource):
    """``n`` independent Poisson spike trains with ``rates`` (Hz, scalar or ``[n]``)."""

    def __init__(self, n: int, rates: float | Tensor, *, name: str | None = None,
                 stream: str = "poisson") -> None:
        """``stream``: the network RNG stream the draws come from (``net.generator(stream)``;
        give groups their own stream to make their inputs independent of each other's sizes)."""
        if int(n) != n or n < 1:
            raise ValueError(f"a PoissonGroup needs n >= 1, got {n}")
        self.n, self.name, self.stream = int(n), name, stream
        self.rates = self._check_rates(rates)
        self.mask = torch.zeros(self.n, dtype=torch.bool)

    def _check_rates(self, rates: float | Tensor) -> Tensor:
        r = torch.as_tensor(rates, dtype=torch.float64)
        if r.dim() and tuple(r.shape) != (self.n,):
            raise ValueError(f"rates must be a scalar or [{self.n}], got {list(r.shape)}")
        if not torch.isfinite(r).all() or (r < 0).any():
            raise ValueError("rates must be finite and >= 0 Hz")
        return r.expand(self.n).clone()

    def set_rates(self, rates: float | Tensor) -> None:
        """New rates, effective from the next step (the pre-drawn chunk is discarded)."""
        self.rates = self._check_rates(rates)
        self._start = None

    def _build(self, net: Network) -> None:
        self.ops, self.dt, self.device = net.ops, net.dt, net.device
        self.gen = net.generator(self.stream, device=net.device)
        self.chunk = max(1, min(1000, (1 << 22) // self.n))
        self.buf = torch.zeros(self.chunk, self.n, dtype=torch.bool, device=net.device)
        self._start: int | None = None

    def _draw(self) -> Tensor:
        """Flat positions ``k * n + i`` (sorted) of the spikes of the next ``chunk`` steps.

        Sparse rates: the gaps between successive hits of a Bernoulli(p_max) process over the
        flattened [chunk, n] grid are Geometric(p_max); each hit is kept with probability
        ``p_i / p_max`` (thinning). Every cell is then an independent Bernoulli(p_i) trial.
        Dense rates (p_max > 0.2): one uniform draw per cell.
        """
        p = (self.rates * self.dt).to(self.device)
        p_max, total = float(p.max()), self.chunk * self.n
        kw = dict(device=self.device)
        if p_max <= 0.0:
            return torch.zeros(0, dtype=torch.int64, **kw)
        if p_max > 0.2:
            u = torch.rand(self.chunk, self.n, generator=self.gen, dtype=torch.float64, **kw)
            return (u < p).view(-1).nonzero().flatten()
        parts, last = [], -1
        while last < total:
            m = int((total - last) * p_max * 1.2) + 64
            gaps = torch.empty(m, dtype=torch.float64, **kw).geometric_(p_max, generator=self.gen)
            pos = last + torch.cumsum(gaps.long(), 0)
            parts.append(pos)
            last = int(pos[-1])
        flat = torch.cat(parts)
        flat = flat[flat < total]
        if float(p.min()) < p_max:
            u = torch.rand(flat.numel(), generator=self.gen, dtype=torch.float64, **kw)
            flat = flat[u * p_max < p[flat % self.n]]
        return flat

    def _load_chunk(self, flat: Tensor) -> None:
        self.flat = flat
        self._table = self.ops.chunk_schedule(flat, self.n, self.chunk, self.buf)

    def threshold(self, step: int) -> None:
        k = step - self._start if self._start is not None else -1
        if not 0 <= k < self.chunk:
            self._load_chunk(self._draw())
            self._start, k = step, 0
        self.spikes = self._table.at(k)
        self.mask = self.ops.mask_of(self.spikes, self.mask)

    def state_dict(self) -> dict[str, Any]:
        started = self._start is not None
        return {"rates": self.rates.clone(), "start": self._start if started else -1,
                "flat": self.flat.clone() if started else torch.zeros(0, dtype=torch.int64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rates = state["rates"].clone()
        start = int(state["start"])
        self._start = None if start < 0 else start
        if self._start is not None:
            self._load_chunk(state["flat"].to(self.device))


class SpikeGeneratorGroup(SpikeSource):
    """Spikes at explicit times: neuron ``indices[k]`` fires at ``times[k]`` seconds."""

    def __init__(self, n: int, indices: Tensor | np.ndarray | list[int],
                 times: Tensor | np.ndarray | list[float], *, name: str | None = None) -> None:
        self.n, self.name = int(n), name
        self.indices = torch.as_tensor(np.asarray(indices), dtype=torch.int64).flatten()
        self.times = torch.as_tensor(np.asarray(times), dtype=torch.float64).flatten()
        if self.indices.shape != self.times.shape:
            raise ValueError(f"indices ({self.indices.numel()}) and times ({self.times.numel()}) "
                             "must have the same length")
        if self.indices.numel() and (int(self.indices.min()) < 0 or
                                     int(self.indices.max()) >= self.n):
            raise ValueError(f"spike indices must be in [0, {self.n})")
        if self.times.numel() and (not torch.isfinite(self.times).all() or
                                   float(self.times.min()) < 0):
            raise ValueError("spike times must be finite and >= 0 seconds")
        self.mask = torch.zeros(self.n, dtype=torch.bool)

    def _build(self, net: Network) -> None:
        self.ops = net.ops
        steps = time_step(self.times, net.dt)
        order = torch.sort(steps * self.n + self.indices, stable=True).indices
        steps, idx = steps[order], self.indices[order]
        key = steps * self.n + idx
        if key.numel() > 1 and bool((key[1:] == key[:-1]).any()):
            k = int((key[1:] == key[:-1]).nonzero()[0])
            raise ValueError(f"neuron {int(idx[k])} has two spikes in step {int(steps[k])} "
                             f"(dt = {net.dt} s); use a smaller dt or remove one")
        self.last_step = int(steps[-1]) if steps.numel() else -1
        self.mask = torch.zeros(self.n, dtype=torch.bool, device=net.device)
        self._table = self.ops.list_schedule(steps, idx, self.mask)

    def threshold(self, step: int) -> None:
        self.spikes = self._table.at(step)


class CurrentInput:
    """Injected current (amperes) into ``I`` of a group or subgroup, one row per step."""

    def __init__(self, target: NeuronGroup | Subgroup, values: Tensor | np.ndarray, *,
                 name: str | None = None) -> None:
        self.group, self.start, self.stop = resolve(target)
        if not isinstance(self.group, NeuronGroup):
            raise TypeError("CurrentInput drives a neuron group")
        v = torch.as_tensor(np.asarray(values), dtype=torch.float64)
        if v.dim() == 1:
            v = v[:, None].expand(-1, self.stop - self.start)
        if v.dim() != 2 or v.shape[1] != self.stop - self.start or v.shape[0] < 1:
            raise ValueError(f"values must be [T, {self.stop - self.start}] (or [T]) amperes, "
                             f"got {list(v.shape)}")
        if not torch.isfinite(v).all():
            raise ValueError("values contain NaN or inf")
        self.values, self.name = v.contiguous(), name

    def _build(self, net: Network) -> None:
        self.ops = net.ops
        vals = self.values.to(net.device, net.dtype)
        self._vals = self.ops.view(vals)
        self._vals_t = vals
        self._I = self.group._X[self.group.row("I")][self.start: self.stop]
        self.T = vals.shape[0]

    def apply(self, step: int) -> None:
        self._I[...] = self._vals[min(step, self.T - 1)]


__all__ = ["CurrentInput", "PoissonGroup", "SpikeGeneratorGroup"]
