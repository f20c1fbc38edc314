"""Randman generator: the manifold formula, determinism, one spike per channel, smoothness."""

import math

import pytest
import torch

from neuromorph.data.randman import (
    eval_manifold,
    make_randman,
    random_manifold,
    spike_times_to_raster,
)


def naive_manifold(params: torch.Tensor, u: torch.Tensor, alpha: float) -> torch.Tensor:
    """Plain-loop evaluation of y_i(u) = prod_d sum_j a/(j+1)^alpha sin(2 pi (j b u_d + c))."""
    n_units, dim, _, n_freq = params.shape
    out = torch.ones(u.shape[0], n_units, dtype=torch.float64)
    for s in range(u.shape[0]):
        for i in range(n_units):
            for d in range(dim):
                acc = 0.0
                for j in range(n_freq):
                    a, b, c = (params[i, d, k, j].item() for k in range(3))
                    acc += a / (j + 1) ** alpha * math.sin(2 * math.pi * (j * b * u[s, d] + c))
                out[s, i] *= acc
    return out


def test_manifold_matches_the_formula():
    gen = torch.Generator().manual_seed(3)
    params = random_manifold(4, 2, alpha=2.0, generator=gen)
    assert params.shape == (4, 2, 3, 32)  # F = ceil(1e-3 ** (-1/2)) = 32
    assert torch.all(params[:, :, 0, 0] == 0)
    u = torch.rand(5, 2, generator=gen, dtype=torch.float64)
    got = eval_manifold(params, u, alpha=2.0)
    torch.testing.assert_close(got, naive_manifold(params, u, 2.0), rtol=1e-10, atol=1e-12)


def test_same_seed_same_data_and_different_seed_differs():
    a = make_randman(3, 8, 20, n_samples=30, seed=5)
    b = make_randman(3, 8, 20, n_samples=30, seed=5)
    c = make_randman(3, 8, 20, n_samples=30, seed=6)
    assert torch.equal(a.times, b.times) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.times, c.times)


def test_one_spike_per_channel_and_time_range():
    T, dt = 50, 2e-3
    data = make_randman(4, 12, T, dt=dt, n_samples=40, seed=0)
    assert len(data) == 160 and data.n_units == 12
    assert torch.bincount(data.labels).tolist() == [40] * 4
    raster = data.spikes()
    assert raster.shape == (T, 160, 12)
    assert torch.all(raster.sum(dim=0) == 1)
    assert data.times.min() >= 0 and data.times.max() <= T * dt
    # min-max normalisation per class and channel: earliest spike at 0, latest at ~T*dt
    for k in range(4):
        t = data.times[data.labels == k]
        assert torch.allclose(t.min(dim=0).values, torch.zeros(12), atol=1e-6)
        assert torch.allclose(t.max(dim=0).values, torch.full((12,), T * dt), rtol=1e-4)
    # raster bins agree with the spike times
    idx = raster.argmax(dim=0)
    expected = torch.clamp(torch.floor(data.times / dt), max=T - 1).long()
    assert torch.equal(idx, expected)


def test_manifold_is_smooth_in_its_coordinate():
    data = make_randman(1, 10, 100, n_samples=400, dim_manifold=1, seed=2, shuffle=False)
    order = data.coords[:, 0].argsort()
    t = data.times[order] / (100 * 1e-3)  # back to [0, 1]
    jumps = (t[1:] - t[:-1]).abs().max()
    assert jumps < 0.1  # neighbouring coordinates (spacing ~1/400) give near-identical times


def test_classes_are_separable_from_spike_times():
    sklearn = pytest.importorskip("sklearn.neighbors")
    data = make_randman(3, 20, 50, n_samples=200, seed=1)
    x, y = data.times.numpy(), data.labels.numpy()
    clf = sklearn.KNeighborsClassifier(3).fit(x[:450], y[:450])
    assert clf.score(x[450:], y[450:]) > 0.8  # chance is 1/3


def test_raster_and_argument_errors():
    r = spike_times_to_raster(torch.tensor([[0.0, 0.0015, 0.01]]), n_steps=10, dt=1e-3)
    assert r[:, 0, :].nonzero().tolist() == [[0, 0], [1, 1], [9, 2]]  # last time clipped to T-1
    with pytest.raises(ValueError, match=">= 0"):
        spike_times_to_raster(torch.tensor([[-1.0]]), 10, 1e-3)
    with pytest.raises(ValueError, match="n_units"):
        make_randman(2, 0, 10)
    with pytest.raises(ValueError, match="step_frac"):
        make_randman(2, 4, 10, step_frac=1.5)
