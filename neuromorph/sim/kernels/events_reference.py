"""Pure-torch reference event kernels: spike propagation over CSR rows and STDP on events.

These define the numbers the Triton kernels (:mod:`.triton_events`) and the engine's numpy CPU
path reproduce. Both mutate their output buffer in place and return nothing.

Propagation (``propagate_reference``): for every source row ``r`` with ``spiked[r]`` and every
synapse ``q`` in ``indptr[r]:indptr[r+1]``::

    buffer[(slot + delays[q]) % D, targets[q]] += weights[q]        (buffer is [D, M])

``delays=None`` means all zero. ``D = 1`` with ``slot = 0`` adds straight into a ``[1, M]`` view
of the target state (no ring buffer).

STDP update (``stdp_update_reference``): for every spiking row ``r`` and ``q`` in its range,
with ``s = syn[q]`` (``s = q`` when ``syn`` is None) and ``delta = trace[partner[q]]``::

    additive:        w[s] = clip(w[s] + delta, w_min, w_max)
    multiplicative:  w[s] = clip(w[s] + delta * (w_max - w[s]) / (w_max - w_min), ...)  if delta > 0
                     w[s] = clip(w[s] + delta * (w[s] - w_min) / (w_max - w_min), ...)  otherwise

On pre spikes the rows are the CSR rows (``syn=None``, ``partner`` = post index of each synapse,
``trace`` = the post traces); on post spikes they are the CSC columns (``syn`` = synapse ids in
column order, ``partner`` = their pre indices, ``trace`` = the pre traces). Every synapse
appears at most once per call, so the updates do not race.
"""

from __future__ import annotations

import torch
from torch import Tensor


def csr_positions(indptr: Tensor, rows: Tensor) -> Tensor:
    """Concatenated ranges ``indptr[r]:indptr[r+1]`` of ``rows`` (int64, vectorised)."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum()) if rows.numel() else 0
    if total == 0:
        return torch.zeros(0, dtype=torch.int64, device=indptr.device)
    shift = starts - (torch.cumsum(lens, 0) - lens)
    return torch.repeat_interleave(shift, lens, output_size=total) + \
        torch.arange(total, device=indptr.device)


def check_events(spiked: Tensor, indptr: Tensor, arrays: dict[str, Tensor | None]) -> int:
    """Validate event-kernel inputs; returns ``nnz`` (-1 for CUDA tensors, where the synapse
    count is not read back). Errors name the tensor and the fix."""
    if spiked.dim() != 1 or spiked.dtype != torch.bool:
        raise ValueError(f"spiked must be a 1-d bool mask over the source rows, got "
                         f"{spiked.dtype} {list(spiked.shape)}")
    if tuple(indptr.shape) != (spiked.numel() + 1,):
        raise ValueError(f"indptr must have shape [n_rows + 1] = [{spiked.numel() + 1}], got "
                         f"{list(indptr.shape)}")
    if indptr.is_cuda:  # reading indptr[-1] would synchronise with the device every step
        return -1
    nnz = int(indptr[-1]) if indptr.numel() else 0
    for name, t in arrays.items():
        if t is not None and t.shape[0] < nnz:
            raise ValueError(f"{name} has {t.shape[0]} entries but indptr[-1] = {nnz} synapses")
    return nnz


def propagate_reference(
    spiked: Tensor, indptr: Tensor, targets: Tensor, weights: Tensor, delays: Tensor | None,
    buffer: Tensor, slot: int,
) -> None:
    """Scatter the CSR rows of spiking sources into ``buffer`` (see the module docstring)."""
    check_events(spiked, indptr, {"targets": targets, "weights": weights, "delays": delays})
    if buffer.dim() != 2:
        raise ValueError(f"buffer must be [D, M] (ring slots x targets), got {list(buffer.shape)}")
    q = csr_positions(indptr, spiked.nonzero().flatten())
    if q.numel() == 0:
        return
    D, M = buffer.shape
    row = (slot + delays[q].long()) % D if delays is not None else torch.full_like(q, slot % D)
    pos = row * M + targets[q].long()
    buffer.view(-1).index_add_(0, pos, weights[q].to(buffer.dtype))


def stdp_update_reference(
    spiked: Tensor, indptr: Tensor, syn: Tensor | None, partner: Tensor, weights: Tensor,
    trace: Tensor, w_min: float, w_max: float, multiplicative: bool = False,
) -> None:
    """Apply the pair-based STDP weight update of one pathway (see the module docstring)."""
    check_events(spiked, indptr, {"syn": syn, "partner": partner})
    q = csr_positions(indptr, spiked.nonzero().flatten())
    if q.numel() == 0:
        return
    s = syn[q].long() if syn is not None else q
    delta = trace[partner[q].long()].to(weights.dtype)
    w = weights[s]
    if multiplicative:
        span = w_max - w_min
        delta = torch.where(delta > 0, delta * (w_max - w), delta * (w - w_min)) / span
    weights[s] = torch.clamp(w + delta, w_min, w_max)


__all__ = ["check_events", "csr_positions", "propagate_reference", "stdp_update_reference"]
