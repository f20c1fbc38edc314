"""Projections: connectivity statistics, CSR layout, delays through the ring buffer, subgroups."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim import (
    LIFGroup,
    Network,
    Projection,
    SpikeGeneratorGroup,
    StateMonitor,
    all_to_all,
    fixed_indegree,
    fixed_probability,
    from_indices,
)
from neuromorph.sim.connectivity import csr_indptr

DT = 1e-4
BACKENDS = ["numpy", "torch"]


def _integrator(n: int) -> LIFGroup:
    """Neurons that only sum their inputs (no leak to speak of, never spike)."""
    return LIFGroup(n, tau_m=1e9, v_rest=0.0, v_threshold=1e9, v_reset=0.0)


@pytest.mark.parametrize("n_pre,n_post,p", [(200, 300, 0.1), (2000, 2500, 0.002)])
def test_fixed_probability_mean_indegree(n_pre, n_post, p):
    # (2000 x 2500 pairs goes through the sparse sampler; 200 x 300 through the dense one)
    g = torch.Generator().manual_seed(1)
    pre, post = fixed_probability(p)(n_pre, n_post, g, None)
    indeg = torch.bincount(post, minlength=n_post).double()
    sd = (n_pre * p * (1 - p) / n_post) ** 0.5  # std of the mean in-degree
    assert abs(indeg.mean().item() - n_pre * p) < 4 * sd
    assert abs(indeg.var().item() / (n_pre * p * (1 - p)) - 1) < 0.2  # binomial spread
    key = pre * n_post + post
    assert bool((key[1:] > key[:-1]).all())  # sorted by (pre, post), no duplicates


def test_fixed_probability_without_autapses_and_seeding():
    conn = fixed_probability(0.5, allow_self=False)
    pre, post = conn(50, 50, torch.Generator().manual_seed(3), 0)
    assert not bool((pre == post).any())
    pre2, _ = conn(50, 50, torch.Generator().manual_seed(3), 0)
    assert torch.equal(pre, pre2)


@pytest.mark.parametrize("k,allow_self", [(7, True), (7, False), (45, False)])
def test_fixed_indegree_is_exact(k, allow_self):
    pre, post = fixed_indegree(k, allow_self=allow_self)(50, 60, torch.Generator().manual_seed(0),
                                                        0)
    assert torch.bincount(post, minlength=60).tolist() == [k] * 60
    pairs = set(zip(pre.tolist(), post.tolist(), strict=True))
    assert len(pairs) == 60 * k  # distinct sources per target
    if not allow_self:
        assert not bool((pre == post).any())


def test_csr_matches_the_pairs_and_from_indices_keeps_duplicates():
    proj = Projection(_integrator(4), _integrator(3), "v",
                      from_indices([3, 0, 2, 0, 0], [1, 2, 0, 2, 0]), weight=[1., 2., 3., 4., 5.])
    assert proj.pre.tolist() == [0, 0, 0, 2, 3] and proj.post.tolist() == [0, 2, 2, 0, 1]
    assert proj.weights.tolist() == [5., 2., 4., 3., 1.]  # stable: duplicates keep their order
    assert proj.indptr.tolist() == [0, 3, 3, 4, 5]
    assert torch.equal(csr_indptr(proj.pre, 4), proj.indptr)


def test_projection_errors_say_what_to_do():
    a, b = _integrator(3), _integrator(3)
    with pytest.raises(ValueError, match="pass generator="):
        Projection(a, b, "v", fixed_probability(0.5), weight=1.0)
    with pytest.raises(ValueError, match="one entry per synapse"):
        Projection(a, b, "v", all_to_all(), weight=torch.ones(4))
    with pytest.raises(KeyError, match="not a synaptic target"):
        Projection(a, b, "ge", all_to_all(), weight=1.0)
    with pytest.raises(ValueError, match="indices must be in"):
        Projection(a, b, "v", from_indices([0, 3], [0, 0]), weight=1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_delays_arrive_exactly_d_steps_later(backend):
    """Spike at step 5; synapse k has delay d_k: target k's v jumps in the synapses slot of
    step 5 + d_k, i.e. is first seen by the monitor at the start of step 6 + d_k."""
    delays_steps = [0, 1, 3, 7, 7, 12]
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    src = net.add(SpikeGeneratorGroup(1, [0], [5 * DT]))
    tgt = net.add(_integrator(len(delays_steps)))
    net.add(Projection(src, tgt, "v", from_indices([0] * 6, range(6)),
                       weight=torch.arange(1.0, 7.0),
                       delay=torch.tensor(delays_steps, dtype=torch.float64) * DT))
    mon = net.add(StateMonitor(tgt, "v"))
    net.run(30 * DT)
    v = mon.v
    for k, d in enumerate(delays_steps):
        first = int(np.flatnonzero(v[:, k] != 0)[0])
        assert first == 6 + d
        assert v[first, k] == pytest.approx(k + 1.0, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_homogeneous_delay_and_repeated_spikes_accumulate(backend):
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    src = net.add(SpikeGeneratorGroup(2, [0, 1, 0, 1], np.array([2, 2, 3, 9]) * DT))
    tgt = net.add(_integrator(1))
    net.add(Projection(src, tgt, "v", all_to_all(), weight=torch.tensor([1.0, 10.0]), delay=4e-4))
    mon = net.add(StateMonitor(tgt, "v"))
    net.run(20 * DT)
    v = mon.v[:, 0]
    np.testing.assert_allclose(v[[6, 7, 8, 13, 14]], [0, 11, 12, 12, 22], atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_subgroups_map_local_indices(backend):
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    src = net.add(SpikeGeneratorGroup(5, [3], [DT]))
    tgt = net.add(_integrator(6))
    net.add(Projection(src[2:4], tgt[4:], "v", from_indices([1], [1]), weight=2.5))
    mon = net.add(StateMonitor(tgt, "v"))
    net.run(4 * DT)
    np.testing.assert_allclose(mon.v[-1], [0, 0, 0, 0, 0, 2.5], atol=1e-9)


def test_fused_static_propagation_equals_separate_calls():
    def run(fuse: bool) -> np.ndarray:
        net = Network(dt=DT, dtype=torch.float64, seed=4, fuse=fuse)
        rng = np.random.default_rng(0)
        src = net.add(SpikeGeneratorGroup(40, rng.integers(0, 40, 300),
                                          np.sort(rng.choice(2000, 300, replace=False)) * DT))
        tgt = net.add(LIFGroup(30, tau_m=1e-2, v_rest=0, v_threshold=1e9, v_reset=0,
                               channels={"ge": 5e-3, "gi": 1e-2}))
        net.connect(src[:25], tgt, "ge", fixed_probability(0.3), weight=0.5)
        net.connect(src[25:], tgt, "gi", fixed_probability(0.3), weight=-0.7)
        net.connect(src, tgt, "v", fixed_probability(0.1), weight=0.1)
        net.connect(src, tgt[:10], "ge", fixed_indegree(3), weight=0.2,
                    delay=torch.linspace(0, 2e-3, 30))  # a ring-buffer projection too
        mon = net.add(StateMonitor(tgt, ["v", "ge", "gi"]))
        net.run(0.2)
        return np.stack([mon.v, mon.ge, mon.gi])
    np.testing.assert_allclose(run(True), run(False), rtol=0, atol=1e-12)
