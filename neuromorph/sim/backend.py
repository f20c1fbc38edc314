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
with ``out=``) through ``ops.xp``; only the few calls that differ are methods here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

Array = Any  # np.ndarray for the numpy backend, torch.Tensor for the torch backend
MATMUL_BLOCK = 1 << 15


class ArrayOps:
    """Backend interface (see the module docstring)."""

    name: str = ""
    xp: ModuleType = np

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


class NumpyOps(ArrayOps):
    name = "numpy"
    xp = np

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
    if ops.name == "numpy" and device.type != "cpu":
        raise ValueError(f"backend 'numpy' runs only on CPU tensors, not on {device}; "
                         "use backend='torch' or 'auto'")
    return ops


__all__ = ["BACKENDS", "Array", "ArrayOps", "NumpyOps", "TorchOps", "make_ops"]
