"""Weights onto tiles: balanced tiling and differential conductance pairs.

A logical weight matrix ``W [n_out, n_in]`` is cut into blocks of at most ``max_inputs`` rows
(word lines, driven by DACs) and ``max_outputs`` columns (bit-line pairs, read by ADCs). The
splits are balanced (sizes differ by at most one) so every tile is used evenly.

Within a block the weight is normalised by the block's largest magnitude ``w_max`` and written
as a differential pair of conductances (S) spanning ``[g_lo, g_hi]``::

    g+ = g_lo + max(w, 0) / w_max * (g_hi - g_lo),   g- = g_lo + max(-w, 0) / w_max * (g_hi - g_lo)
    w  = w_max * (g+ - g-) / (g_hi - g_lo)

so an ideal read gives back ``W`` exactly; ``g_lo`` (a device's off state) cancels in the pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def split_sizes(size: int, max_size: int) -> list[int]:
    """Balanced split of ``size`` into ``ceil(size / max_size)`` parts differing by at most one."""
    if size < 1:
        raise ValueError(f"cannot tile a dimension of size {size}; it must be >= 1")
    if max_size < 1:
        raise ValueError(f"tile size must be >= 1, got {max_size}")
    n = (size + max_size - 1) // max_size
    base, extra = divmod(size, n)
    return [base + (i < extra) for i in range(n)]


def slices(sizes: list[int]) -> list[slice]:
    """Consecutive slices of the given sizes."""
    out, start = [], 0
    for s in sizes:
        out.append(slice(start, start + s))
        start += s
    return out


@dataclass(frozen=True)
class Tiling:
    """Where each tile sits in the logical matrix: ``rows`` cut inputs, ``cols`` cut outputs."""

    rows: tuple[slice, ...]
    cols: tuple[slice, ...]

    @classmethod
    def of(cls, n_in: int, n_out: int, max_inputs: int, max_outputs: int) -> Tiling:
        return cls(tuple(slices(split_sizes(n_in, max_inputs))),
                   tuple(slices(split_sizes(n_out, max_outputs))))

    @property
    def shape(self) -> tuple[int, int]:
        """(tiles along the inputs, tiles along the outputs)."""
        return len(self.rows), len(self.cols)

    def block(self, w: Tensor, r: int, c: int) -> Tensor:
        """The ``[n_out_c, n_in_r]`` block of ``w [n_out, n_in]`` on tile ``(r, c)``."""
        return w[self.cols[c], self.rows[r]]


def block_wmax(w_block: Tensor) -> Tensor:
    """Largest magnitude of a block (a 0-d tensor, never 0: an all-zero block maps to 1)."""
    m = w_block.detach().abs().max()
    return torch.where(m > 0, m, torch.ones_like(m))


def to_conductance_pair(w_norm: Tensor, g_lo: float, g_hi: float) -> Tensor:
    """Normalised weights ``w / w_max`` in [-1, 1] -> ``[2, ...]`` conductances ``(g+, g-)`` (S)."""
    if g_hi <= g_lo:
        raise ValueError(f"conductance window needs g_hi > g_lo, got g_lo={g_lo}, g_hi={g_hi}")
    span = g_hi - g_lo
    w = w_norm.clamp(-1.0, 1.0)
    return torch.stack([g_lo + w.clamp_min(0) * span, g_lo + (-w).clamp_min(0) * span])


def from_conductance_pair(g_pair: Tensor, g_lo: float, g_hi: float) -> Tensor:
    """``[2, ...]`` conductances -> normalised weights ``(g+ - g-) / (g_hi - g_lo)``."""
    return (g_pair[0] - g_pair[1]) / (g_hi - g_lo)
