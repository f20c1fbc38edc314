"""Array backends of the event-driven engine: one place that names them.

The engine keeps its state in torch tensors (the source of truth for users, monitors and
checkpoints) and runs each time step through an :class:`ArrayOps`:

- ``"numpy"`` (CPU): numpy ops on zero-copy views of the CPU tensors. A numpy call on a 4000-element
  array costs ~1-3 us against ~5-10 us for torch, and a step is a few dozen such calls, so this is
  the fast CPU path. Spikes are index arrays (``np.flatnonzero`` of the threshold mask).
- ``"torch"`` (any device): torch ops; spikes stay boolean masks, so a step on CUDA never
  synchronises with the host; the event kernels are the Triton kernels on CUDA and the torch
  references elsewhere.

Both backends share the numpy/torch common API (``matmul``, ``greater``, ``multiply``, ``exp``, ...
with ``out=``) through ``ops.xp``; every call that differs is a method here, so the engine's
objects never ask which backend they run on: array calls, spike propagation, spike queues,
schedules and recorders (:mod:`neuromorph.sim.backend_events`). Paths that exist on one backend
only are capabilities (class attributes, checked with :meth:`ArrayOps.require`):

- ``row_layouts``: numpy row-layout event pathways (fused static propagation, the numpy
  STDP / triplet / reward pathways with lazily decaying traces);
- ``compiled_loop``: the numba loop (:mod:`neuromorph.sim.loop_native`) may run the network;
- ``devices``: the device types the backend runs on (None: any).

:data:`BACKENDS` is the one registry of backends.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuromorph.sim.backend_events import (
    IndexQueue,
    IndexRecorder,
    IndexSchedule,
    MaskChunk,
    MaskList,
    MaskQueue,
    MaskRecorder,
    Queue,
    Recorder,
    Schedule,
)
from neuromorph.sim.events_cpu import CHUNK

Array = Any  # np.ndarray for the numpy backend, torch.Tensor for the torch backend
MATMUL_BLOCK = 1 << 15


class ArrayOps:
    """Backend interface (see the module docstring)."""

    name: str = ""
    xp: ModuleType = np
    row_layouts: bool = False
    compiled_loop: bool = False
    devices: tuple[str, ...] | None = None

    def require(self, capability: str, what: str) -> None:
        """Raise one clear line unless this backend has ``capability`` (needed by ``what``)."""
        if not getattr(self, capability):
            able = [k for k, f in BACKENDS.items()
                    if k != "auto" and getattr(f(torch.device("cpu")), capability)]
            fix = f"use backend={able[0]!r}" if able else "no backend has it"
            raise ValueError(f"{what} needs the {capability!r} capability, which backend "
                             f"{self.name!r} lacks; {fix}")

    def view(self, t: Tensor) -> Array:
        """The backend array that shares memory with tensor ``t``."""
        raise NotImplementedError

    def spikes(self, mask: Array) -> Array:
        """The spike handle of a boolean mask (indices for numpy, the mask itself for torch)."""
        raise NotImplementedError

    def fill(self, a: Array, spikes: Array, value: float | int) -> None:
        """``a[spikes] = value``."""
        raise NotImplementedError

    def add_at(self, a: Array, spikes: Array, value: float | Array) -> None:
        """``a[spikes] += value`` (``value`` scalar, or per element of ``a``)."""
        raise NotImplementedError

    def masked_copy(self, dst: Array, src: Array, mask: Array) -> None:
        """``dst[mask] = src[mask]`` (elementwise, same shapes)."""
        raise NotImplementedError

    def matmul(self, a: Array, b: Array, out: Array) -> None:
        """``out = a @ b`` for 2-d arrays."""
        raise NotImplementedError

    def refractory(self, lastspike: Array, step: int, R: int, buf: Array) -> Array:
        """Handle of the refractory neurons, ``step - lastspike < R`` (``buf``: a bool buffer)."""
        raise NotImplementedError

    def write_unless(self, dst: Array, src: Array, refractory: Array) -> None:
        """``dst = src`` except for the refractory neurons (``(unless refractory)``)."""
        raise NotImplementedError

    def clear(self, mask: Array, refractory: Array) -> None:
        """``mask[refractory] = False``."""
        raise NotImplementedError

    def hold(self, a: Array, refractory: Array) -> Array:
        """The values of ``a`` that :meth:`restore` puts back for the refractory neurons."""
        raise NotImplementedError

    def restore(self, a: Array, refractory: Array, held: Array) -> None:
        raise NotImplementedError

    def count(self, spikes: Array, n: int) -> Array:
        """Number of spikes as an array scalar (no host synchronisation on the torch backend)."""
        raise NotImplementedError

    def indices(self, spikes: Array) -> np.ndarray:
        """Spike indices on the host (synchronises on CUDA; used by monitors at chunk ends)."""
        raise NotImplementedError

    def index_array(self, idx: np.ndarray, device: torch.device) -> Array:
        """Host indices as this backend's index array (on ``device``)."""
        raise NotImplementedError

    def take(self, row: Array, idx: Array, out: Array) -> None:
        """``out = row[idx]``."""
        raise NotImplementedError

    def scatter_add(self, a: Array, idx: Array, values: Array) -> None:
        """``a[idx] += values`` for distinct ``idx``."""
        raise NotImplementedError

    def count_in(self, spikes: Array, start: int, stop: int, whole: bool) -> Any:
        """Number of spikes of neurons ``[start, stop)`` (``whole``: that is every neuron)."""
        raise NotImplementedError

    def spike_indices(self, spikes: Array) -> Array:
        """Indices of the spiking neurons, ascending, on the spikes' device (int64)."""
        raise NotImplementedError

    def mask_of(self, spikes: Array, mask: Tensor) -> Tensor:
        """What a spike source keeps as its ``mask`` after emitting ``spikes``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ event parts
    def spike_queue(self, depth: int, n: int, device: torch.device) -> Queue:
        """The last ``depth`` steps of the spikes of ``n`` neurons (delayed plastic synapses)."""
        raise NotImplementedError

    def chunk_schedule(self, flat: Tensor, n: int, chunk: int, buf: Tensor) -> Schedule:
        """Per-step spikes of a chunk from sorted flat keys ``k * n + i`` (``buf``: a bool
        ``[chunk, n]`` buffer on the device)."""
        raise NotImplementedError

    def list_schedule(self, steps: Tensor, idx: Tensor, mask: Tensor) -> Schedule:
        """Per-step spikes of sorted host ``steps`` with neuron ``idx`` (``mask``: the source's
        mask buffer)."""
        raise NotImplementedError

    def spike_recorder(self, n: int, device: torch.device) -> Recorder:
        """Pending spikes of a monitor on ``n`` neurons."""
        raise NotImplementedError

    # ------------------------------------------------------------------ projections
    def bind_propagation(self, proj: Any, net: Any, ring: bool) -> None:
        """Give projection ``proj`` this backend's propagation state (``ring``: it writes into
        its target's ring buffer ``[D, slot]``, else straight into the target's state)."""
        raise NotImplementedError

    def prepare_propagation(self, proj: Any) -> None:
        """Before a run: refresh whatever caches the projection's weights."""

    def propagate(self, proj: Any, spikes: Array, step: int) -> None:
        """``target += w`` for the synapses of the arriving ``spikes`` (delays through the
        ring slot ``(step + d) mod D``)."""
        raise NotImplementedError

    def propagate_scaled(self, proj: Any, idx: Array, factor: Array) -> None:
        """``target += w * factor[k]`` for the synapses of source ``idx[k]`` (no delay; short-term
        plasticity)."""
        raise NotImplementedError


class NumpyOps(ArrayOps):
    name = "numpy"
    xp = np
    row_layouts = True
    compiled_loop = True
    devices = ("cpu",)

    def view(self, t: Tensor) -> np.ndarray:
        if t.device.type != "cpu":
            raise ValueError(f"the numpy backend needs CPU tensors, got one on {t.device}; "
                             "use backend='torch' on other devices")
        return t.detach().numpy()

    def spikes(self, mask: np.ndarray) -> np.ndarray:
        return mask.nonzero()[0]  # (3x cheaper than np.flatnonzero on a 1-d mask)

    def fill(self, a: np.ndarray, spikes: np.ndarray, value: float | int) -> None:
        a[spikes] = value

    def add_at(self, a: np.ndarray, spikes: np.ndarray, value: float | np.ndarray) -> None:
        a[spikes] += value if np.isscalar(value) else value[spikes]

    def masked_copy(self, dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
        np.copyto(dst, src, where=mask)

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        # A [k, K] x [K, n] product with tiny K: above ~2^15 columns OpenBLAS goes
        # multi-threaded and, on a busy machine, can be ~100x slower than column blocks
        # that stay single-threaded (same numbers: columns are independent).
        n = b.shape[1]
        if n <= MATMUL_BLOCK:
            np.matmul(a, b, out=out)
            return
        for lo in range(0, n, MATMUL_BLOCK):
            hi = min(lo + MATMUL_BLOCK, n)
            np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])

    def refractory(self, lastspike: np.ndarray, step: int, R: int, buf: np.ndarray) -> np.ndarray:
        np.greater(lastspike, step - R, out=buf)
        return buf.nonzero()[0]  # few neurons: fix them up instead of masking all

    def write_unless(self, dst: np.ndarray, src: np.ndarray, refractory: np.ndarray) -> None:
        held = dst[refractory]
        dst[...] = src
        dst[refractory] = held

    def clear(self, mask: np.ndarray, refractory: np.ndarray) -> None:
        mask[refractory] = False

    def hold(self, a: np.ndarray, refractory: np.ndarray) -> np.ndarray:
        return a[refractory]

    def restore(self, a: np.ndarray, refractory: np.ndarray, held: np.ndarray) -> None:
        a[refractory] = held

    def count(self, spikes: np.ndarray, n: int) -> int:
        return spikes.size

    def indices(self, spikes: np.ndarray) -> np.ndarray:
        return spikes

    def index_array(self, idx: np.ndarray, device: torch.device) -> np.ndarray:
        return idx

    def take(self, row: np.ndarray, idx: np.ndarray, out: np.ndarray) -> None:
        np.take(row, idx, out=out)

    def scatter_add(self, a: np.ndarray, idx: np.ndarray, values: np.ndarray) -> None:
        a[idx] += values

    def count_in(self, spikes: np.ndarray, start: int, stop: int, whole: bool) -> int:
        return spikes.size if whole else np.count_nonzero((spikes >= start) & (spikes < stop))

    def spike_indices(self, spikes: np.ndarray) -> np.ndarray:
        return np.asarray(spikes, dtype=np.int64)

    def mask_of(self, spikes: np.ndarray, mask: Tensor) -> Tensor:
        return mask  # index spikes: a source's mask is not kept up to date

    def spike_queue(self, depth: int, n: int, device: torch.device) -> IndexQueue:
        return IndexQueue(depth)

    def chunk_schedule(self, flat: Tensor, n: int, chunk: int, buf: Tensor) -> IndexSchedule:
        f = flat.numpy()  # all spikes of the chunk at once, sliced per step
        return IndexSchedule(f % n, np.searchsorted(f // n, np.arange(chunk + 1)))

    def list_schedule(self, steps: Tensor, idx: Tensor, mask: Tensor) -> IndexSchedule:
        last = int(steps[-1]) if steps.numel() else -1
        return IndexSchedule(idx.numpy(), np.searchsorted(steps.numpy(), np.arange(last + 2)))

    def spike_recorder(self, n: int, device: torch.device) -> IndexRecorder:
        return IndexRecorder()

    def bind_propagation(self, proj: Any, net: Any, ring: bool) -> None:
        """Flat buffer, addresses ``delay * slot + target`` (row layout built on first use)."""
        tg = proj.target_group
        addr = np.zeros(proj.nnz + 1, dtype=np.int64)  # pad address 0 last
        addr[:-1] = proj.address.numpy()
        if ring:  # + delay * slot_size, block by block (no full-size temporaries)
            steps, block = proj._dsteps.numpy(), CHUNK
            for start in range(0, proj.nnz, block):
                stop = min(start + block, proj.nnz)
                addr[start:stop] += steps[start:stop].astype(np.int64) * proj.slot_size
        proj.flat = self.view(tg.ring).reshape(-1) if ring else tg._top.reshape(-1)
        proj.ring_size = proj.D * proj.slot_size if ring else 0
        proj._layout = (addr, proj.ring_size)

    def prepare_propagation(self, proj: Any) -> None:
        """Static projections cache their weights in row layout; plastic ones read them live
        (a projection fused with others has no propagator of its own)."""
        prop = proj.prop
        if prop is None:
            return
        if proj.stdp is None:
            prop.freeze_weights(proj.np_w)
        else:
            prop.ell_weights = None

    def propagate(self, proj: Any, spikes: np.ndarray, step: int) -> None:
        proj.prop(spikes, proj.np_w, proj.flat, (step % proj.D) * proj.slot_size)

    def propagate_scaled(self, proj: Any, idx: np.ndarray, factor: np.ndarray) -> None:
        rows, prop = proj.rows, proj.prop
        if rows.padded:
            addr = prop.ell_address[idx]
            w = proj.np_w[rows.ell[idx]] * factor[:, None]
        else:
            syn = rows.synapses(idx)
            addr = prop.address[syn]
            w = proj.np_w[syn] * np.repeat(factor, np.diff(rows.indptr)[idx])
        np.add.at(proj.flat, addr.ravel(), w.ravel())


class TorchOps(ArrayOps):
    name = "torch"
    xp = torch

    def view(self, t: Tensor) -> Tensor:
        return t

    def spikes(self, mask: Tensor) -> Tensor:
        return mask

    def fill(self, a: Tensor, spikes: Tensor, value: float | int) -> None:
        a.masked_fill_(spikes, value)

    def add_at(self, a: Tensor, spikes: Tensor, value: float | Tensor) -> None:
        if isinstance(value, Tensor):
            a.add_(torch.where(spikes, value, 0))
        else:
            a.add_(spikes.to(a.dtype), alpha=value)

    def masked_copy(self, dst: Tensor, src: Tensor, mask: Tensor) -> None:
        torch.where(mask, src, dst, out=dst)

    def refractory(self, lastspike: Tensor, step: int, R: int, buf: Tensor) -> Tensor:
        torch.gt(lastspike, step - R, out=buf)
        return buf

    def write_unless(self, dst: Tensor, src: Tensor, refractory: Tensor) -> None:
        torch.where(refractory, dst, src, out=dst)

    def clear(self, mask: Tensor, refractory: Tensor) -> None:
        mask.logical_and_(refractory.logical_not())

    def hold(self, a: Tensor, refractory: Tensor) -> Tensor:
        return a.clone()

    def restore(self, a: Tensor, refractory: Tensor, held: Tensor) -> None:
        torch.where(refractory, held, a, out=a)

    def matmul(self, a: Tensor, b: Tensor, out: Tensor) -> None:
        if a.is_cuda:
            torch.mm(a, b, out=out)
        else:  # tiny CPU gemms may go multi-threaded and stall on a busy machine
            torch.sum(a[:, :, None] * b[None], dim=1, out=out)

    def count(self, spikes: Tensor, n: int) -> Tensor:
        return spikes.sum()

    def indices(self, spikes: Tensor) -> np.ndarray:
        return spikes.nonzero().flatten().cpu().numpy()

    def index_array(self, idx: np.ndarray, device: torch.device) -> Tensor:
        return torch.as_tensor(idx, device=device)

    def take(self, row: Tensor, idx: Tensor, out: Tensor) -> None:
        torch.index_select(row, 0, idx, out=out)

    def scatter_add(self, a: Tensor, idx: Tensor, values: Tensor) -> None:
        a.index_add_(0, idx, values)

    def count_in(self, spikes: Tensor, start: int, stop: int, whole: bool) -> Tensor:
        return spikes[start:stop].sum()

    def spike_indices(self, spikes: Tensor) -> Tensor:
        return spikes.nonzero().flatten()

    def mask_of(self, spikes: Tensor, mask: Tensor) -> Tensor:
        return spikes

    def spike_queue(self, depth: int, n: int, device: torch.device) -> MaskQueue:
        return MaskQueue(depth, n, device)

    def chunk_schedule(self, flat: Tensor, n: int, chunk: int, buf: Tensor) -> MaskChunk:
        return MaskChunk(buf, flat)

    def list_schedule(self, steps: Tensor, idx: Tensor, mask: Tensor) -> MaskList:
        last = int(steps[-1]) if steps.numel() else -1
        ptr = np.searchsorted(steps.numpy(), np.arange(last + 2))
        return MaskList(mask, idx.to(mask.device), ptr)

    def spike_recorder(self, n: int, device: torch.device) -> MaskRecorder:
        return MaskRecorder(n, device)

    def bind_propagation(self, proj: Any, net: Any, ring: bool) -> None:
        """The event kernels (Triton on CUDA) on device copies of the CSR arrays."""
        from neuromorph.sim.events import event_kernels

        tg, dev = proj.target_group, net.device
        proj.kernels = event_kernels(net.kernels, dev)
        proj.indptr_full = proj.indptr_full.to(dev)
        small = proj.slot_size < 2**31
        proj.t_targets = proj.address.to(dev, torch.int32 if small else torch.int64)
        proj.t_delays = proj._dsteps.to(dev, torch.int32) if ring else None
        proj.buffer = tg.ring if ring else tg.state[: tg.n_targets].view(1, -1)

    def propagate(self, proj: Any, spikes: Tensor, step: int) -> None:
        proj.kernels.propagate(spikes, proj.indptr_full, proj.t_targets, proj.w_full,
                               proj.t_delays, proj.buffer, step % proj.buffer.shape[0])

    def propagate_scaled(self, proj: Any, idx: Tensor, factor: Tensor) -> None:
        from neuromorph.sim.kernels.events_reference import csr_positions

        factor = factor.to(proj.w_full.dtype)
        pos = csr_positions(proj.indptr_full, idx)
        lens = proj.indptr_full[idx + 1] - proj.indptr_full[idx]
        w = proj.w_full[pos] * torch.repeat_interleave(factor, lens, output_size=pos.numel())
        proj.buffer[0].index_add_(0, proj.t_targets[pos].long(), w)


def _auto(device: torch.device) -> ArrayOps:
    return NumpyOps() if device.type == "cpu" else TorchOps()


#: backend name -> factory(device). The one place backends are named.
BACKENDS: dict[str, Callable[[torch.device], ArrayOps]] = {
    "auto": _auto,
    "numpy": lambda device: NumpyOps(),
    "torch": lambda device: TorchOps(),
}


def make_ops(backend: str, device: torch.device) -> ArrayOps:
    """The :class:`ArrayOps` for ``backend`` on ``device`` (unknown names list the valid ones)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}")
    ops = BACKENDS[backend](device)
    if ops.devices is not None and device.type not in ops.devices:
        where = "/".join(d.upper() for d in ops.devices)
        raise ValueError(f"backend {ops.name!r} runs only on {where} tensors, not on {device}; "
                         "use backend='torch' or 'auto'")
    return ops


__all__ = ["BACKENDS", "Array", "ArrayOps", "NumpyOps", "TorchOps", "make_ops"]
