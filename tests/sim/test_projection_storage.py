"""What a projection keeps per synapse: the CSR order from sorted and unsorted index lists, and
per-synapse delays kept as whole steps once built (read back as ``steps * dt``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim import LIFGroup, Network, Projection, SpikeGeneratorGroup, StateMonitor
from neuromorph.sim.connectivity import from_indices, pairs_sorted
from neuromorph.sim.projections import _delay_steps

DT = 1e-4


def _integrator(n: int) -> LIFGroup:
    return LIFGroup(n, tau_m=1e9, v_rest=0.0, v_threshold=1e9, v_reset=0.0)


def _random_synapses(n_pre: int, n_post: int, nnz: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    pre, post = rng.integers(0, n_pre, nnz), rng.integers(0, n_post, nnz)  # with multapses
    w = rng.normal(1.0, 0.5, nnz)
    d = rng.integers(1, 30, nnz) * DT + rng.uniform(-0.4, 0.4, nnz) * DT
    return pre, post, w, d


def test_sorted_and_unsorted_lists_give_the_same_csr_arrays():
    """Pairs in draw order and the same pairs pre-sorted (numpy's stable lexsort, so multapses
    keep their order) give identical synapses, weights and delay steps."""
    pre, post, w, d = _random_synapses(40, 30, 3000, seed=1)
    order = np.lexsort((post, pre))  # stable: by pre, then post, then draw order
    assert not pairs_sorted(torch.from_numpy(pre), torch.from_numpy(post))
    assert pairs_sorted(torch.from_numpy(pre[order]), torch.from_numpy(post[order]))
    projs = []
    for idx in (np.arange(pre.size), order):
        net = Network(dt=DT, dtype=torch.float64)
        a, b = net.add(_integrator(40)), net.add(_integrator(30))
        projs.append(net.add(Projection(
            a, b, "v", from_indices(torch.from_numpy(pre[idx].astype(np.int32)),
                                    torch.from_numpy(post[idx])),
            weight=torch.from_numpy(w[idx]), delay=torch.from_numpy(d[idx]))))
        net.build()
    first, second = projs
    assert torch.equal(first.indptr, second.indptr) and torch.equal(first.post, second.post)
    assert torch.equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.weights.numpy(), w[order])
    np.testing.assert_array_equal(first.post.numpy(), post[order])
    want = np.floor(d[order] / DT + 0.5).astype(np.int64)  # Brian2's rounding
    np.testing.assert_array_equal(first.delay_steps.numpy(), want)
    assert torch.equal(first.delay_steps, second.delay_steps)


def test_per_synapse_delays_are_kept_as_int32_steps_once_built():
    pre, post, w, d = _random_synapses(10, 10, 200, seed=2)
    net = Network(dt=DT, dtype=torch.float64)
    g = net.add(_integrator(10))
    p = net.add(Projection(g, g, "v", from_indices(pre, post), weight=1.0,
                           delay=torch.from_numpy(d)))
    order = np.lexsort((post, pre))
    np.testing.assert_array_equal(p.delay.numpy(), d[order])  # seconds as given until built
    net.build()
    steps = np.floor(d[order] / DT + 0.5)
    assert p.delay_steps.dtype == torch.int32 and p._delay_s is None
    np.testing.assert_array_equal(p.delay.numpy(), steps * DT)  # the delays simulated


def test_one_delay_in_an_array_is_shared_and_keeps_its_seconds():
    net = Network(dt=DT, dtype=torch.float64)
    g = net.add(_integrator(6))
    p = net.add(Projection(g, g, "v", from_indices([0, 1, 2], [3, 4, 5]), weight=1.0,
                           delay=torch.full((3,), 1.23e-3, dtype=torch.float64)))
    net.build()
    assert p.delay.stride() == (0,) and p.delay_steps.stride() == (0,)
    assert p.delay.tolist() == [1.23e-3] * 3 and p.delay_steps.tolist() == [12] * 3


def test_steps_widen_to_int64_when_ring_addresses_would_not_fit_int32():
    d = torch.tensor([3e-4, 1024e-4])
    assert _delay_steps(d, DT, slot_size=2**20).dtype == torch.int32  # 1025 * 2**20 < 2**31
    wide = _delay_steps(d, DT, slot_size=2**21)
    assert wide.dtype == torch.int64 and wide.tolist() == [3, 1024]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_steps_stored_as_int32_arrive_on_time(backend):
    """A spike at step 5 through synapse k of delay d_k is first seen at step 6 + d_k."""
    steps = [0, 1, 3, 7, 7, 12]
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    src = net.add(SpikeGeneratorGroup(1, [0], [5 * DT]))
    tgt = net.add(_integrator(len(steps)))
    net.add(Projection(src, tgt, "v", from_indices([0] * 6, range(6)), weight=1.0,
                       delay=torch.tensor(steps, dtype=torch.float64) * DT))
    mon = net.add(StateMonitor(tgt, "v"))
    net.run(30 * DT)
    first = [int(np.flatnonzero(mon.v[:, k] != 0)[0]) for k in range(len(steps))]
    assert first == [6 + s for s in steps]
