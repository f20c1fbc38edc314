"""The event-side parts each backend of :mod:`neuromorph.sim.backend` hands out.

Spike handles differ by backend (numpy: ascending index arrays; torch: boolean masks that stay on
the device, so a CUDA step never waits for the host). These small objects hold that difference
so the engine's objects need not:

- spike queues (the last ``d`` steps of a source's spikes, for a delayed plastic projection);
- spike schedules (the spikes of each step of a pre-drawn Poisson chunk or of a spike list);
- spike recorders (a monitor's pending spikes until they move to the host).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

EMPTY = np.zeros(0, dtype=np.int64)


# ------------------------------------------------------------------ queues
class IndexQueue:
    """``depth`` slots of index-array spikes; :meth:`swap` returns what arrives now."""

    def __init__(self, depth: int) -> None:
        self.slots: list[np.ndarray] = [EMPTY] * depth

    def swap(self, k: int, spikes: np.ndarray) -> np.ndarray:
        arrived, self.slots[k] = self.slots[k], spikes
        return arrived

    def state(self) -> list[Tensor]:
        return [torch.as_tensor(q).clone() for q in self.slots]

    def load(self, state: list[Tensor]) -> None:
        self.slots = [q.numpy().copy() for q in state]


class MaskQueue:
    """``depth`` slots of mask spikes ``[depth, n]`` on the device."""

    def __init__(self, depth: int, n: int, device: torch.device) -> None:
        self.masks = torch.zeros(depth, n, dtype=torch.bool, device=device)

    def swap(self, k: int, spikes: Tensor) -> Tensor:
        arrived = self.masks[k].clone()
        self.masks[k].copy_(spikes)
        return arrived

    def state(self) -> Tensor:
        return self.masks.clone()

    def load(self, state: Tensor) -> None:
        self.masks.copy_(state)


# ------------------------------------------------------------------ schedules
class IndexSchedule:
    """Spikes of step ``k`` are ``idx[ptr[k]:ptr[k + 1]]`` (none past the last step)."""

    def __init__(self, idx: np.ndarray, ptr: np.ndarray) -> None:
        self.idx, self.ptr, self.steps = idx, ptr, ptr.size - 1

    def at(self, k: int) -> np.ndarray:
        if not 0 <= k < self.steps:
            return EMPTY
        return self.idx[self.ptr[k]: self.ptr[k + 1]]


class MaskChunk:
    """Spikes of a chunk of steps as masks ``buf [chunk, n]`` (filled on the device)."""

    def __init__(self, buf: Tensor, flat: Tensor) -> None:
        buf.zero_()
        buf.view(-1)[flat] = True
        self.buf = buf

    def at(self, k: int) -> Tensor:
        return self.buf[k]


class MaskList:
    """Spikes of step ``k`` written into ``mask`` from ``idx[ptr[k]:ptr[k + 1]]`` (``ptr`` on
    the host, ``idx`` on the device)."""

    def __init__(self, mask: Tensor, idx: Tensor, ptr: np.ndarray) -> None:
        self.mask, self.idx, self.ptr, self.steps = mask, idx, ptr, ptr.size - 1

    def at(self, k: int) -> Tensor:
        self.mask.zero_()
        if 0 <= k < self.steps:
            a, b = int(self.ptr[k]), int(self.ptr[k + 1])
            if b > a:
                self.mask.index_fill_(0, self.idx[a:b], True)
        return self.mask


# ------------------------------------------------------------------ recorders
class IndexRecorder:
    """Pending index-array spikes with their steps."""

    LIMIT = 4096  # pending steps before the caller should drain

    def __init__(self) -> None:
        self.i: list[np.ndarray] = []
        self.s: list[int] = []

    def record(self, step: int, spikes: np.ndarray) -> bool:
        """Keep the spikes of ``step``; True when the caller should :meth:`drain` now."""
        if spikes.size:
            self.i.append(spikes)
            self.s.append(step)
        return len(self.s) >= self.LIMIT

    def drain(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(indices, steps)`` of the pending spikes, or None."""
        if not self.s:
            return None
        sizes = [a.size for a in self.i]
        i = np.concatenate(self.i)
        s = np.repeat(np.asarray(self.s, dtype=np.int64), sizes)
        self.i, self.s = [], []
        return i, s


class MaskRecorder:
    """Pending mask spikes in a ``[chunk, n]`` device buffer."""

    def __init__(self, n: int, device: torch.device) -> None:
        self.chunk = max(1, min(1024, (1 << 26) // n))
        self.buf = torch.zeros(self.chunk, n, dtype=torch.bool, device=device)
        self.k, self.first = 0, 0

    def record(self, step: int, spikes: Tensor) -> bool:
        if self.k == 0:
            self.first = step
        self.buf[self.k].copy_(spikes)
        self.k += 1
        return self.k == self.chunk

    def drain(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.k == 0:
            return None
        rows, i = self.buf[: self.k].nonzero(as_tuple=True)
        s, i = (rows + self.first).cpu().numpy(), i.cpu().numpy()
        self.k = 0
        return i, s


Queue = IndexQueue | MaskQueue
Schedule = IndexSchedule | MaskChunk | MaskList
Recorder = IndexRecorder | MaskRecorder

__all__ = ["EMPTY", "IndexQueue", "IndexRecorder", "IndexSchedule", "MaskChunk", "MaskList",
           "MaskQueue", "MaskRecorder", "Queue", "Recorder", "Schedule"]
