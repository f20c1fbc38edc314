"""The numpy CPU event path: propagation and STDP over padded rows (ELL) or CSR ranges.

Semantics are those of :mod:`neuromorph.sim.kernels.events_reference`; the tests check the two
agree. Speed comes from doing a whole step's events in a handful of numpy calls:

- :class:`RowIndex` holds, for every source row, its synapse ids padded to the longest row
  (``ell [n_rows, L]``, pad = ``nnz``, whose weight is kept at 0 and whose address is 0), so the
  synapses of the spiking rows are one ``take``. When padding would cost more than
  ``4 nnz`` entries (very uneven rows) it keeps the CSR ``indptr`` instead and expands the row
  ranges with ``repeat`` + ``arange``.
- propagation is then ``np.add.at(buffer, address[syn], weight[syn])`` where ``address`` already
  holds ``delay * slot_size + target`` (ring buffers: plus ``slot * slot_size``, modulo the ring).
"""

from __future__ import annotations

import numpy as np

ELL_WASTE = 4  # use padded rows while n_rows * L <= ELL_WASTE * nnz + 4096


def csr_ranges(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Concatenated ``indptr[r]:indptr[r+1]`` over ``rows`` (vectorised, int64)."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = starts - (np.cumsum(lens) - lens)
    return np.repeat(shift, lens) + np.arange(total)


CHUNK = 1 << 22  # elements per block of the engine's blockwise build passes (small temporaries)


def row_blocks(indptr: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive row ranges ``[r0, r1)`` of about :data:`CHUNK` synapses each (at least one
    row each)."""
    n_rows, out, r0 = indptr.size - 1, [], 0
    while r0 < n_rows:
        r1 = int(np.searchsorted(indptr, indptr[r0] + CHUNK, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n_rows)
        out.append((r0, r1))
        r0 = r1
    return out


class RowIndex:
    """Synapse ids of each row, padded (ELL) or as CSR ranges (see the module docstring)."""

    def __init__(self, indptr: np.ndarray, order: np.ndarray | None = None) -> None:
        """``indptr [n_rows+1]`` over positions; ``order[pos]`` = synapse id (None: identity)."""
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        n_rows = self.indptr.size - 1
        self.nnz = int(self.indptr[-1]) if n_rows >= 0 else 0
        lens = np.diff(self.indptr)
        L = int(lens.max()) if n_rows > 0 and lens.size else 0
        self.order = order
        self.padded = n_rows * L <= ELL_WASTE * self.nnz + 4096
        if self.padded:  # int32 ids halve the memory (and the bytes moved per event)
            idx_t = np.int32 if self.nnz < 2**31 - 1 else np.int64
            ell = np.full((n_rows, max(L, 1)), self.nnz, dtype=idx_t)
            for r0, r1 in row_blocks(self.indptr):  # temporaries of one block's size only
                a, b = int(self.indptr[r0]), int(self.indptr[r1])
                rows = np.repeat(np.arange(r0, r1), lens[r0:r1])
                cols = np.arange(a, b) - np.repeat(self.indptr[r0:r1], lens[r0:r1])
                ell[rows, cols] = np.arange(a, b) if order is None else order[a:b]
            self.ell = ell

    def synapses(self, rows: np.ndarray) -> np.ndarray:
        """Synapse ids of ``rows`` (padded rows: ``[k, L]`` including pads ``nnz``)."""
        if self.padded:
            return self.ell[rows]
        pos = csr_ranges(self.indptr, rows)
        return pos if self.order is None else self.order[pos]

    def gather(self, per_synapse: np.ndarray) -> np.ndarray:
        """``per_synapse`` (length ``nnz + 1``, last = pad value) laid out like ``ell``."""
        return per_synapse[self.ell] if self.padded else per_synapse


class Propagator:
    """Adds ``weights[syn]`` at ``address[syn]`` of a flat buffer for the spiking rows."""

    def __init__(self, rows: RowIndex, address: np.ndarray, ring_size: int = 0) -> None:
        """``address`` (length ``nnz + 1``) into the flat buffer; ``ring_size`` > 0 means the
        buffer is a ring of that many elements and ``base`` is added modulo it."""
        self.rows, self.ring_size = rows, ring_size
        self.address: np.ndarray | None = np.ascontiguousarray(address, dtype=np.int64)
        span = max(2 * ring_size, int(self.address.max()) + 1 if self.address.size else 0)
        small = self.address.astype(np.int32) if span < 2**31 else self.address
        self.ell_address = rows.gather(small)
        self.ell_weights: np.ndarray | None = None

    def freeze_weights(self, weights: np.ndarray) -> None:
        """Cache ``weights`` in row layout (static projections; call again after a change)."""
        self.ell_weights = self.rows.gather(weights) if self.rows.padded else None

    def __call__(self, spikes: np.ndarray, weights: np.ndarray, flat: np.ndarray,
                 base: int = 0) -> None:
        if spikes.size == 0:
            return
        rows = self.rows
        if rows.padded:
            addr = self.ell_address[spikes]
            w = self.ell_weights[spikes] if self.ell_weights is not None else \
                weights[rows.ell[spikes]]
        else:
            syn = rows.synapses(spikes)
            addr, w = self.address[syn], weights[syn]
        if self.ring_size:
            addr += base
            np.remainder(addr, self.ring_size, out=addr)
        np.add.at(flat, addr.ravel(), w.ravel())  # (1-d index arrays: ~2x faster add.at)


class STDPPathway:
    """``w[s] = bound(w[s] + trace[partner[s]])`` for the synapses of the spiking rows.

    ``partner`` (length ``nnz + 1``, pad last) is the neuron whose trace each synapse reads; the
    weights array has the pad weight last, which is reset to 0 after every update.
    """

    def __init__(self, rows: RowIndex, partner: np.ndarray) -> None:
        self.rows = rows
        self.partner = np.ascontiguousarray(partner, dtype=np.int64)
        self.ell_partner = rows.gather(self.partner)

    def __call__(self, spikes: np.ndarray, weights: np.ndarray, trace: np.ndarray,
                 w_min: float, w_max: float, multiplicative: bool) -> None:
        rows = self.rows
        if rows.padded:
            syn, who = rows.ell[spikes], self.ell_partner[spikes]
        else:
            syn = rows.synapses(spikes)
            who = self.partner[syn]
        delta = trace[who]
        w = weights[syn]
        if multiplicative:
            delta = np.where(delta > 0, delta * (w_max - w), delta * (w - w_min)) / (w_max - w_min)
        w += delta
        np.maximum(w, w_min, out=w)
        np.minimum(w, w_max, out=w)
        weights[syn] = w
        weights[-1] = 0.0


def stdp_update(rows: RowIndex, spikes: np.ndarray, partner: np.ndarray, weights: np.ndarray,
                trace: np.ndarray, w_min: float, w_max: float, multiplicative: bool) -> None:
    """One-shot :class:`STDPPathway` call (tests; the engine keeps the pathway object)."""
    if spikes.size:
        STDPPathway(rows, partner)(spikes, weights, trace, w_min, w_max, multiplicative)


__all__ = ["CHUNK", "ELL_WASTE", "Propagator", "RowIndex", "STDPPathway", "csr_ranges",
           "stdp_update"]
