"""Monitors: spikes, state variables, population rates; recorded data lives on the host.

Recording goes through fixed-size buffers (``chunk`` rows) on the simulation device that are
moved to numpy arrays on the CPU whenever they fill up and at the end of every run, so a long
run never holds its whole recording in GPU memory. Brian2's slots are used:

- :class:`StateMonitor` records in the start slot: the value at ``t = n dt`` *before* step ``n``
  updates it (Brian2's ``StateMonitor`` default ``when='start'``); the first sample is the
  initial state. ``mon["v"]`` is ``[K, n_rec]`` (time-major; Brian2's ``mon.v`` is its
  transpose). Projections record ``"w"`` of the selected synapses.
- :class:`SpikeMonitor` records in the thresholds slot (after the threshold): ``.i``, ``.t``.
- :class:`PopulationRateMonitor` records in the end slot: ``rate[n] = spikes(n) / (N dt)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from neuromorph.sim.groups import NeuronGroup, SpikeSource, Subgroup, resolve
from neuromorph.sim.projections import Projection

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


def _cat(parts: list[np.ndarray], dtype: Any, shape: tuple[int, ...] = (0,)) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype)


class SpikeMonitor:
    """Spike indices (local to the monitored (sub)group) and times of ``source``."""

    def __init__(self, source: SpikeSource | Subgroup, *, name: str | None = None) -> None:
        self.group, self.start, self.stop = resolve(source)
        self.name = name
        self._i: list[np.ndarray] = []
        self._steps: list[np.ndarray] = []

    @property
    def n(self) -> int:
        return self.stop - self.start

    def _build(self, net: Network) -> None:
        self.ops, self.dt = net.ops, net.dt
        self.whole = self.start == 0 and self.stop == self.group.n
        self.pending = self.ops.spike_recorder(self.group.n, net.device)

    def record(self, step: int) -> None:
        if self.pending.record(step, self.group.spikes):
            self.flush()

    def flush(self) -> None:
        """Move pending spikes to the host arrays."""
        drained = self.pending.drain() if hasattr(self, "pending") else None
        if drained is None:
            return
        i, s = drained
        if not self.whole:
            keep = (i >= self.start) & (i < self.stop)
            i, s = i[keep] - self.start, s[keep]
        self._i.append(i.astype(np.int64))
        self._steps.append(s.astype(np.int64))

    @property
    def i(self) -> np.ndarray:
        """Neuron index of each spike (int64), in time order."""
        self.flush()
        return _cat(self._i, np.int64)

    @property
    def steps(self) -> np.ndarray:
        self.flush()
        return _cat(self._steps, np.int64)

    @property
    def t(self) -> np.ndarray:
        """Spike times in seconds (float64)."""
        return self.steps * self.dt

    @property
    def count(self) -> np.ndarray:
        return np.bincount(self.i, minlength=self.n)

    @property
    def num_spikes(self) -> int:
        return int(self.i.size)

    def spike_trains(self) -> dict[int, np.ndarray]:
        i, t = self.i, self.t
        return {k: t[i == k] for k in range(self.n)}

    def state_dict(self) -> dict[str, Any]:
        return {"i": torch.from_numpy(self.i.copy()), "steps": torch.from_numpy(self.steps.copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._i, self._steps = [state["i"].numpy().copy()], [state["steps"].numpy().copy()]


class StateMonitor:
    """Variables of selected neurons (or synapses, for a Projection), every ``every`` steps."""

    def __init__(self, source: NeuronGroup | Subgroup | Projection,
                 variables: Sequence[str] | str = ("v",), *,
                 record: bool | Sequence[int] | np.ndarray | torch.Tensor = True,
                 every: int = 1, name: str | None = None) -> None:
        self.variables = (variables,) if isinstance(variables, str) else tuple(variables)
        if int(every) != every or every < 1:
            raise ValueError(f"every must be an integer >= 1 step, got {every}")
        self.source, self.every, self.name = source, int(every), name
        if isinstance(source, Projection):
            offset, n = 0, source.nnz
            for v in self.variables:
                source.get(v)
        else:
            group, offset, stop = resolve(source)
            if not isinstance(group, NeuronGroup):
                raise TypeError("StateMonitor records a neuron group, a subgroup or a Projection")
            n = stop - offset
            for v in self.variables:
                group.get(v)  # unknown names raise, listing the valid ones
        rec = np.arange(n) if record is True else np.asarray(record, dtype=np.int64).ravel()
        if record is False or rec.size == 0:
            raise ValueError("record selects nothing; pass True or a list of indices")
        if int(rec.min()) < 0 or int(rec.max()) >= n:
            raise ValueError(f"record indices must be in [0, {n})")
        self.record_idx = rec
        self._idx = rec + offset
        self._data: dict[str, list[np.ndarray]] = {v: [] for v in self.variables}
        self._steps: list[np.ndarray] = []

    def _build(self, net: Network) -> None:
        self.ops, self.dt = net.ops, net.dt
        src = self.source
        if isinstance(src, Projection):
            rows = [self.ops.view(src.w_full) for _ in self.variables]
        else:
            group = resolve(src)[0]
            rows = [self.ops.view(group.get(v)) for v in self.variables]
        self.rows = rows
        n_rec = self._idx.size
        self.chunk = max(1, min(4096, (1 << 24) // max(1, n_rec * len(self.variables))))
        self.buf = torch.empty(len(self.variables), self.chunk, n_rec, dtype=net.dtype,
                               device=net.device)
        self._buf = self.ops.view(self.buf)
        self.idx = self.ops.index_array(self._idx, net.device)
        self.k, self.first = 0, 0

    def record(self, step: int) -> None:
        if step % self.every:
            return
        if self.k == 0:
            self.first = step
        for j, row in enumerate(self.rows):
            self.ops.take(row, self.idx, self._buf[j, self.k])
        self.k += 1
        if self.k == self.chunk:
            self.flush()

    def flush(self) -> None:
        if self.k == 0:
            return
        data = self.buf[:, : self.k].cpu().numpy().copy()
        for j, v in enumerate(self.variables):
            self._data[v].append(data[j])
        self._steps.append(self.first + self.every * np.arange(self.k, dtype=np.int64))
        self.k = 0

    def __getitem__(self, var: str) -> np.ndarray:
        if var not in self._data:
            raise KeyError(f"{var!r} was not recorded; recorded: {list(self._data)}")
        self.flush()
        return _cat(self._data[var], np.float64, (0, self._idx.size))

    def __getattr__(self, var: str) -> np.ndarray:
        data = self.__dict__.get("_data")
        if data is not None and var in data:
            return self[var]
        raise AttributeError(f"StateMonitor has no attribute {var!r}")

    @property
    def t(self) -> np.ndarray:
        self.flush()
        return _cat(self._steps, np.int64) * self.dt

    def state_dict(self) -> dict[str, Any]:
        self.flush()
        out = {v: torch.from_numpy(self[v].copy()) for v in self.variables}
        out["steps"] = torch.from_numpy(_cat(self._steps, np.int64).copy())
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._data = {v: [state[v].numpy().copy()] for v in self.variables}
        self._steps = [state["steps"].numpy().copy()]
        self.k = 0


class PopulationRateMonitor:
    """Instantaneous population rate (Hz) of a (sub)group at every step."""

    def __init__(self, source: SpikeSource | Subgroup, *, name: str | None = None) -> None:
        self.group, self.start, self.stop = resolve(source)
        self.name = name
        self._counts: list[np.ndarray] = []
        self._steps: list[np.ndarray] = []

    def _build(self, net: Network) -> None:
        self.ops, self.dt = net.ops, net.dt
        self.whole = self.start == 0 and self.stop == self.group.n
        self.chunk = 4096
        self.buf = torch.zeros(self.chunk, dtype=torch.int64, device=net.device)
        self._buf = self.ops.view(self.buf)
        self.k, self.first = 0, 0

    def record(self, step: int) -> None:
        if self.k == 0:
            self.first = step
        self._buf[self.k] = self.ops.count_in(self.group.spikes, self.start, self.stop,
                                             self.whole)
        self.k += 1
        if self.k == self.chunk:
            self.flush()

    def flush(self) -> None:
        if self.k == 0:
            return
        self._counts.append(self.buf[: self.k].cpu().numpy().copy())
        self._steps.append(self.first + np.arange(self.k, dtype=np.int64))
        self.k = 0

    @property
    def t(self) -> np.ndarray:
        self.flush()
        return _cat(self._steps, np.int64) * self.dt

    @property
    def rate(self) -> np.ndarray:
        self.flush()
        return _cat(self._counts, np.int64) / ((self.stop - self.start) * self.dt)

    def state_dict(self) -> dict[str, Any]:
        self.flush()
        return {"counts": torch.from_numpy(_cat(self._counts, np.int64).copy()),
                "steps": torch.from_numpy(_cat(self._steps, np.int64).copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._counts = [state["counts"].numpy().copy()]
        self._steps = [state["steps"].numpy().copy()]
        self.k = 0


__all__ = ["PopulationRateMonitor", "SpikeMonitor", "StateMonitor"]
