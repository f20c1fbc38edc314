"""The compiled loop split over threads: the same spikes and bit-identical state as one thread.

Each thread owns a contiguous part of every group and receives the additions onto its neurons in
the serial order, so the split may not change a single bit. The one-thread loop is itself
checked against the per-step numpy path (``test_native_loop.py``) and Brian2.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim import LIFGroup, Network, SpikeMonitor
from neuromorph.sim.connectivity import fixed_probability
from neuromorph.sim.kernels_native import BLOCK, row_bounds, split_parts
from neuromorph.sim.loop_native import THREADS_ENV, rows_ascending
from neuromorph.sim.poisson_input import PoissonInput

pytest.importorskip("numba")
F64 = torch.float64


def two_groups(threads: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Network, SpikeMonitor]:
    """Recurrent CUBA-like group with per-synapse delays, and a refractory delta-synapse group
    fed from a subgroup (clamped ``v``) and a Poisson input: every kernel mode crosses the
    thread boundary."""
    monkeypatch.setenv(THREADS_ENV, str(threads))
    net = Network(dt=1e-4, seed=3, dtype=F64)
    g = net.generator("init")
    A = net.add(LIFGroup(1500, tau_m=20e-3, v_rest=-49e-3, v_threshold=-50e-3, v_reset=-60e-3,
                         refractory=5e-3, channels={"ge": 5e-3, "gi": 10e-3}, name="A"))
    B = net.add(LIFGroup(1100, tau_m=15e-3, v_rest=-70e-3, v_threshold=-52e-3, v_reset=-70e-3,
                         refractory=3e-3, name="B"))
    A.set("v", -60e-3 + 10e-3 * torch.rand(1500, generator=g, dtype=F64))
    B.set("I", 17e-3 + 2e-3 * torch.rand(1100, generator=g, dtype=F64))
    net.connect(A[:1200], A, "ge", fixed_probability(0.02), weight=1.62e-3, name="E")
    net.connect(A[1200:], A, "gi", fixed_probability(0.02), weight=-9e-3,
                delay=lambda n, gen: torch.rand(n, generator=gen, dtype=F64) * 3e-3, name="I")
    net.connect(A[:600], B[200:], "v", fixed_probability(0.05), weight=2e-3, delay=1e-3,
                name="AB")
    net.add(PoissonInput(B, "v", 200, 20.0, 0.3e-3, name="bg"))
    mon = net.add(SpikeMonitor(A, name="sa"), SpikeMonitor(B, name="sb"))
    return net, mon


def test_two_threads_give_one_threads_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    if numba.get_num_threads() < 2:
        pytest.skip("numba has one thread here (one core, or NUMBA_NUM_THREADS=1)")
    runs = []
    for threads in (1, 2):
        net, _ = two_groups(threads, monkeypatch)
        net.run(0.12)
        net.run(0.03)  # a second call resumes mid-run
        assert net._native is not None and net._native.threads == threads
        runs.append(net)
    one, two = runs
    for name in ("sa", "sb"):
        assert one[name].num_spikes > 100
        np.testing.assert_array_equal(one[name].i, two[name].i)
        np.testing.assert_array_equal(one[name].steps, two[name].steps)
    for name in ("A", "B"):
        assert torch.equal(one[name].state, two[name].state)
        assert torch.equal(one[name].lastspike, two[name].lastspike)
        np.testing.assert_array_equal(one[name].spikes, two[name].spikes)


def test_parts_are_whole_blocks_covering_the_group() -> None:
    for n, threads in [(1500, 2), (100, 2), (5000, 3), (BLOCK, 1)]:
        b = split_parts(n, threads)
        assert b[0] == 0 and b[-1] == n and np.all(np.diff(b) >= 0)
        assert np.all(b[1:-1] % BLOCK == 0)


def test_row_bounds_give_each_threads_share_of_every_row() -> None:
    rng = np.random.default_rng(0)
    lens = rng.integers(0, 12, 40)
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    post = np.concatenate([np.sort(rng.choice(100, k, replace=False)) for k in lens])
    inner = np.array([-5, 30, 64, 150])  # bounds below, inside and beyond the targets
    bounds = row_bounds(indptr, post.astype(np.int32), inner)
    assert bounds.shape == (40, 6)
    for i in range(40):
        row = post[indptr[i]:indptr[i + 1]]
        expect = [0, *(np.searchsorted(row, inner, side="left")), row.size]
        np.testing.assert_array_equal(bounds[i] - indptr[i], expect)


def test_rows_ascending_detects_an_unsorted_row() -> None:
    indptr = np.array([0, 3, 5])
    assert rows_ascending(indptr, np.array([1, 4, 7, 0, 2], dtype=np.int32))
    assert not rows_ascending(indptr, np.array([1, 7, 4, 0, 2], dtype=np.int32))


def test_a_shared_weight_written_between_runs_reaches_the_compiled_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A projection with one shared weight stores no per-synapse array until asked; a write
    through ``weights`` between runs must reach the next compiled run (reference: the per-step
    numpy path given the same write)."""
    runs = []
    for native in ("0", "1"):
        monkeypatch.setenv("NEUROMORPH_NATIVE", native)
        net, _ = two_groups(1, monkeypatch)
        assert net["E"].uniform_weight == pytest.approx(1.62e-3)
        net.run(0.05)
        w = net["E"].weights
        w[: w.numel() // 2] *= 1.5
        assert net["E"].uniform_weight is None
        net.run(0.05)
        runs.append(net)
    one, two = runs
    assert (one["A"].spikes.size, one["sa"].num_spikes) == (two["A"].spikes.size,
                                                            two["sa"].num_spikes)
    np.testing.assert_array_equal(one["sa"].i, two["sa"].i)
    np.testing.assert_array_equal(one["sa"].steps, two["sa"].steps)
