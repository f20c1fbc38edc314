"""Triton event kernels: spike propagation over CSR rows and STDP weight updates on events.

Same signatures and numbers as :mod:`neuromorph.sim.kernels.events_reference` (read its
docstring for the semantics). One program per source row: a row whose ``spiked`` flag is 0 runs
zero loop iterations, so the launch needs no host-side list of spikes (no synchronisation; the
spike mask stays on the device). A spiking row walks its synapses in blocks of ``BLOCK``:

- propagation reads ``targets``/``weights``/``delays`` (coalesced) and ``atomic_add``s into the
  ring buffer (several rows may hit the same target);
- STDP reads the partner trace and writes each synapse's weight once (no atomics needed: a
  synapse belongs to one row, and one row is handled by one program).

On CPU tensors the kernels run only under ``TRITON_INTERPRET=1`` (the tests use that).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from neuromorph.sim.kernels.events_reference import check_events
from neuromorph.sim.kernels.triton_common import check_launchable


@triton.jit
def propagate_kernel(spk_ptr, indptr_ptr, tgt_ptr, w_ptr, d_ptr, buf_ptr, slot, D, M,
                     HAS_DELAY: tl.constexpr, BLOCK: tl.constexpr):
    """``buf[(slot + d[q]) % D, tgt[q]] += w[q]`` for the synapses ``q`` of spiking row pid."""
    r = tl.program_id(0)
    spk = tl.load(spk_ptr + r)
    start = tl.load(indptr_ptr + r)
    end = tl.load(indptr_ptr + r + 1)
    end = tl.where(spk != 0, end, start)
    for base in range(start, end, BLOCK):
        q = base + tl.arange(0, BLOCK)
        m = q < end
        tgt = tl.load(tgt_ptr + q, mask=m, other=0).to(tl.int64)
        w = tl.load(w_ptr + q, mask=m, other=0.0)
        if HAS_DELAY:
            d = tl.load(d_ptr + q, mask=m, other=0).to(tl.int64)
            row = (slot + d) % D
        else:
            row = tl.zeros([BLOCK], dtype=tl.int64) + slot
        tl.atomic_add(buf_ptr + row * M + tgt, w.to(buf_ptr.dtype.element_ty), mask=m)


@triton.jit
def stdp_kernel(spk_ptr, indptr_ptr, syn_ptr, partner_ptr, w_ptr, trace_ptr, bounds_ptr,
                HAS_SYN: tl.constexpr, MULT: tl.constexpr, BLOCK: tl.constexpr):
    """``w[s] = bound(w[s] + trace[partner[q]])`` for the synapses of spiking row pid.

    ``bounds = [w_min, w_max]`` comes as a tensor in the weight dtype (a Python float argument
    would be rounded to fp32).
    """
    r = tl.program_id(0)
    w_min = tl.load(bounds_ptr)
    w_max = tl.load(bounds_ptr + 1)
    spk = tl.load(spk_ptr + r)
    start = tl.load(indptr_ptr + r)
    end = tl.load(indptr_ptr + r + 1)
    end = tl.where(spk != 0, end, start)
    for base in range(start, end, BLOCK):
        q = base + tl.arange(0, BLOCK)
        m = q < end
        if HAS_SYN:  # noqa: SIM108 (constexpr branch: no load at all without syn)
            s = tl.load(syn_ptr + q, mask=m, other=0).to(tl.int64)
        else:
            s = q.to(tl.int64)
        p = tl.load(partner_ptr + q, mask=m, other=0).to(tl.int64)
        delta = tl.load(trace_ptr + p, mask=m, other=0.0).to(w_ptr.dtype.element_ty)
        w = tl.load(w_ptr + s, mask=m, other=0.0)
        if MULT:
            span = w_max - w_min
            delta = tl.where(delta > 0, delta * (w_max - w), delta * (w - w_min)) / span
        new = tl.minimum(tl.maximum(w + delta, w_min), w_max)
        tl.store(w_ptr + s, new, mask=m)


def _block(indptr: Tensor, block: int | None) -> int:
    return block if block is not None else 128


_BOUNDS: dict[tuple, Tensor] = {}


def _bounds(w_min: float, w_max: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``[w_min, w_max]`` on the device, cached (no host-to-device copy per step)."""
    key = (w_min, w_max, dtype, str(device))
    if key not in _BOUNDS:
        if len(_BOUNDS) > 64:
            _BOUNDS.clear()
        _BOUNDS[key] = torch.tensor([w_min, w_max], dtype=dtype, device=device)
    return _BOUNDS[key]


def propagate_triton(
    spiked: Tensor, indptr: Tensor, targets: Tensor, weights: Tensor, delays: Tensor | None,
    buffer: Tensor, slot: int, *, block: int | None = None,
) -> None:
    """Triton version of :func:`~.events_reference.propagate_reference` (same arguments)."""
    check_launchable(propagate_kernel, buffer)
    check_events(spiked, indptr, {"targets": targets, "weights": weights, "delays": delays})
    if buffer.dim() != 2 or not buffer.is_contiguous():
        raise ValueError(f"buffer must be a contiguous [D, M] tensor, got {list(buffer.shape)}")
    n_rows = spiked.numel()
    if n_rows == 0:
        return
    D, M = buffer.shape
    propagate_kernel[(n_rows,)](
        spiked.view(torch.uint8), indptr, targets, weights,
        delays if delays is not None else targets, buffer, int(slot) % D, D, M,
        HAS_DELAY=delays is not None, BLOCK=_block(indptr, block),
    )


def stdp_update_triton(
    spiked: Tensor, indptr: Tensor, syn: Tensor | None, partner: Tensor, weights: Tensor,
    trace: Tensor, w_min: float, w_max: float, multiplicative: bool = False, *,
    block: int | None = None,
) -> None:
    """Triton version of :func:`~.events_reference.stdp_update_reference` (same arguments)."""
    check_launchable(stdp_kernel, weights)
    check_events(spiked, indptr, {"syn": syn, "partner": partner})
    n_rows = spiked.numel()
    if n_rows == 0:
        return
    bounds = _bounds(float(w_min), float(w_max), weights.dtype, weights.device)
    stdp_kernel[(n_rows,)](
        spiked.view(torch.uint8), indptr,
        syn if syn is not None else partner, partner, weights, trace, bounds,
        HAS_SYN=syn is not None, MULT=bool(multiplicative), BLOCK=_block(indptr, block),
    )


__all__ = ["propagate_kernel", "propagate_triton", "stdp_kernel", "stdp_update_triton"]
