"""Event kernels: torch references vs a plain loop, the Triton kernels and the numpy CPU path.

Without an NVIDIA device, tests/conftest.py sets ``TRITON_INTERPRET=1`` and the Triton kernels
run interpreted on small CPU tensors; with a GPU the same tests run compiled on CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim.events_cpu import Propagator, RowIndex, csr_ranges, stdp_update
from neuromorph.sim.kernels.events_reference import (
    csr_positions,
    propagate_reference,
    stdp_update_reference,
)

triton = pytest.importorskip("triton")
from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

from neuromorph.sim.kernels.triton_events import (  # noqa: E402
    propagate_kernel,
    propagate_triton,
    stdp_update_triton,
)

INTERPRET = isinstance(propagate_kernel, InterpretedFunction)
DEVICES = [
    pytest.param("cpu", marks=pytest.mark.skipif(
        not INTERPRET, reason="CPU tensors need TRITON_INTERPRET=1 (set when no GPU is present)")),
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
        INTERPRET or not torch.cuda.is_available(), reason="needs CUDA and compiled Triton")]),
]


def _csr(n_rows: int, n_targets: int, seed: int, max_len: int = 40, d_max: int = 5):
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(0, max_len, (n_rows,), generator=g)
    lens[0] = 0  # an empty row
    indptr = torch.cat([torch.zeros(1, dtype=torch.int64), lens.cumsum(0)])
    nnz = int(indptr[-1])
    targets = torch.randint(0, n_targets, (nnz,), generator=g)
    weights = torch.randn(nnz, generator=g, dtype=torch.float64)
    delays = torch.randint(0, d_max, (nnz,), generator=g)
    spiked = torch.rand(n_rows, generator=g) < 0.5
    spiked[0] = True
    return indptr, targets, weights, delays, spiked


def _loop_propagate(spiked, indptr, targets, weights, delays, buffer, slot):
    D = buffer.shape[0]
    for r in range(spiked.numel()):
        if spiked[r]:
            for q in range(int(indptr[r]), int(indptr[r + 1])):
                d = 0 if delays is None else int(delays[q])
                buffer[(slot + d) % D, int(targets[q])] += weights[q]


@pytest.mark.parametrize("with_delays", [False, True])
def test_reference_propagation_equals_a_plain_loop(with_delays):
    indptr, targets, weights, delays, spiked = _csr(12, 9, 0)
    delays = delays if with_delays else None
    D = 5 if with_delays else 1
    a, b = torch.zeros(D, 9, dtype=torch.float64), torch.zeros(D, 9, dtype=torch.float64)
    propagate_reference(spiked, indptr, targets, weights, delays, a, 3)
    _loop_propagate(spiked, indptr, targets, weights, delays, b, 3)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    assert a.abs().sum() > 0


def test_csr_positions_and_ranges_agree():
    indptr, *_ , spiked = _csr(20, 5, 1)
    rows = spiked.nonzero().flatten()
    expect = [q for r in rows.tolist() for q in range(int(indptr[r]), int(indptr[r + 1]))]
    assert csr_positions(indptr, rows).tolist() == expect
    assert csr_ranges(indptr.numpy(), rows.numpy()).tolist() == expect


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("with_delays", [False, True])
@pytest.mark.parametrize("block", [16, None])
def test_triton_propagation_matches_reference(device, with_delays, block):
    indptr, targets, weights, delays, spiked = _csr(10, 11, 2)
    delays = delays.to(torch.int32) if with_delays else None
    D = 5 if with_delays else 1
    ref = torch.zeros(D, 11, dtype=torch.float64)
    propagate_reference(spiked, indptr, targets, weights, delays, ref, 7)
    dev = lambda t: None if t is None else t.to(device)  # noqa: E731
    out = torch.zeros(D, 11, dtype=torch.float64, device=device)
    propagate_triton(dev(spiked), dev(indptr), dev(targets.to(torch.int32)), dev(weights),
                     dev(delays), out, 7, block=block)
    torch.testing.assert_close(out.cpu(), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multiplicative", [False, True])
@pytest.mark.parametrize("columns", [False, True])
def test_triton_stdp_matches_reference(device, multiplicative, columns):
    indptr, partner, weights, _, spiked = _csr(9, 7, 3)
    nnz = weights.numel()
    g = torch.Generator().manual_seed(4)
    weights = torch.rand(nnz, generator=g, dtype=torch.float64) * 0.05
    trace = (torch.rand(7, generator=g, dtype=torch.float64) - 0.5) * 0.04
    syn = torch.randperm(nnz, generator=g) if columns else None  # column order: a permutation
    ref = weights.clone()
    stdp_update_reference(spiked, indptr, syn, partner, ref, trace, 0.0, 0.05, multiplicative)
    assert not torch.equal(ref, weights)
    dev = lambda t: None if t is None else t.to(device)  # noqa: E731
    out = weights.to(device)
    stdp_update_triton(dev(spiked), dev(indptr), dev(syn), dev(partner), out, dev(trace), 0.0,
                       0.05, multiplicative, block=16)
    torch.testing.assert_close(out.cpu(), ref, rtol=0, atol=1e-15)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 0.05


def test_stdp_reference_by_hand():
    indptr = torch.tensor([0, 2, 3])
    partner = torch.tensor([0, 1, 1])
    w = torch.tensor([0.5, 0.9, 0.2], dtype=torch.float64)
    trace = torch.tensor([0.2, -0.3], dtype=torch.float64)
    stdp_update_reference(torch.tensor([True, False]), indptr, None, partner, w, trace, 0.0, 1.0)
    assert w.tolist() == pytest.approx([0.7, 0.6, 0.2])
    w = torch.tensor([0.5, 0.9, 0.2], dtype=torch.float64)
    stdp_update_reference(torch.tensor([True, True]), indptr, None, partner, w, trace, 0.0, 1.0,
                          multiplicative=True)
    assert w.tolist() == pytest.approx([0.5 + 0.2 * 0.5, 0.9 - 0.3 * 0.9, 0.2 - 0.3 * 0.2])


@pytest.mark.parametrize("uneven", [False, True])
@pytest.mark.parametrize("ring", [False, True])
def test_numpy_propagator_matches_reference(uneven, ring):
    indptr, targets, weights, delays, spiked = _csr(30, 13, 5)
    if uneven:  # one huge row: the row index falls back from padded rows to CSR ranges
        extra = 20000
        indptr = torch.cat([indptr[:2], indptr[2:] + extra])
        targets = torch.cat([targets, torch.randint(0, 13, (extra,))])
        weights = torch.cat([weights, torch.rand(extra, dtype=torch.float64)])
        delays = torch.cat([delays, torch.randint(0, 5, (extra,))])
    D = 5 if ring else 1
    d = delays if ring else None
    ref = torch.zeros(D, 13, dtype=torch.float64)
    propagate_reference(spiked, indptr, targets, weights, d, ref, 2)
    rows = RowIndex(indptr.numpy())
    assert rows.padded != uneven
    addr = targets.numpy() + (delays.numpy() * 13 if ring else 0)
    prop = Propagator(rows, np.r_[addr, 0], D * 13 if ring else 0)
    w = np.r_[weights.numpy(), 0.0]
    out = np.zeros(D * 13)
    prop(np.flatnonzero(spiked.numpy()), w, out, 2 * 13 if ring else 0)
    np.testing.assert_allclose(out.reshape(D, 13), ref.numpy(), rtol=0, atol=1e-10)
    prop.freeze_weights(w)  # the cached row-layout weights give the same sums
    out2 = np.zeros(D * 13)
    prop(np.flatnonzero(spiked.numpy()), w, out2, 2 * 13 if ring else 0)
    np.testing.assert_allclose(out2, out, rtol=0, atol=1e-12)


@pytest.mark.parametrize("multiplicative", [False, True])
def test_numpy_stdp_matches_reference(multiplicative):
    indptr, partner, _, _, spiked = _csr(9, 7, 6)
    nnz = int(indptr[-1])
    g = torch.Generator().manual_seed(7)
    w0 = torch.rand(nnz, generator=g, dtype=torch.float64) * 0.05
    trace = (torch.rand(7, generator=g, dtype=torch.float64) - 0.5) * 0.04
    order = torch.randperm(nnz, generator=g)  # a column index: synapse ids in another order
    ref = w0.clone()
    stdp_update_reference(spiked, indptr, order, partner[order], ref, trace, 0.0, 0.05,
                          multiplicative)
    w = np.r_[w0.numpy(), 0.0]
    stdp_update(RowIndex(indptr.numpy(), order.numpy()), np.flatnonzero(spiked.numpy()),
                np.r_[partner.numpy(), 0], w, trace.numpy(), 0.0, 0.05, multiplicative)
    np.testing.assert_allclose(w[:-1], ref.numpy(), rtol=0, atol=1e-15)
    assert w[-1] == 0.0


def test_kernel_input_errors():
    with pytest.raises(ValueError, match="1-d bool mask"):
        propagate_reference(torch.zeros(3), torch.zeros(4, dtype=torch.int64),
                            torch.zeros(0, dtype=torch.int64), torch.zeros(0), None,
                            torch.zeros(1, 2), 0)
    with pytest.raises(ValueError, match="indptr must have shape"):
        propagate_reference(torch.zeros(3, dtype=torch.bool), torch.zeros(3, dtype=torch.int64),
                            torch.zeros(0, dtype=torch.int64), torch.zeros(0), None,
                            torch.zeros(1, 2), 0)
