"""Binomial counts by inversion (PoissonInput's draws) against the exact binomial law."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from neuromorph.sim import LIFGroup, Network
from neuromorph.sim.binomial import binomial_by_inversion, inversion_applies
from neuromorph.sim.poisson_input import PoissonInput


def draw(n: np.ndarray, p: float, rows: int, weight: float = 1.0, seed: int = 0,
         dtype: type = np.float64) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(rows, n.size, generator=g, dtype=torch.float64).numpy()
    out = np.empty((rows, n.size), dtype=dtype)
    binomial_by_inversion(u, n.astype(np.float64), p, weight, out)
    return out


CASES = [(300, 0.008), (2000, 8e-4), (40, 0.3), (1, 0.2), (60, 0.45), (10**6, 2.5e-5)]


@pytest.mark.parametrize("n,p", CASES)
def test_each_count_is_the_binomial_quantile_of_its_uniform(n: int, p: float) -> None:
    """The reference: inversion gives ``k = min{k : CDF(k) >= u}``, scipy's ``binom.ppf(u)``."""
    g = torch.Generator().manual_seed(0)
    u = torch.rand(50_000, 4, generator=g, dtype=torch.float64).numpy()
    out = np.empty_like(u)
    binomial_by_inversion(u, np.full(4, float(n)), p, 1.0, out)
    np.testing.assert_array_equal(out, stats.binom.ppf(u, n, p))


@pytest.mark.parametrize("n,p", CASES)
def test_counts_follow_the_binomial_law(n: int, p: float) -> None:
    k = draw(np.full(4, n), p, 50_000).ravel().astype(np.int64)
    support = np.arange(k.max() + 1)
    observed = np.bincount(k, minlength=support.size)
    expected = stats.binom.pmf(support, n, p) * k.size
    keep = expected >= 5  # pool the thin tail into one bin, as the chi-square test needs
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], k.size - expected[keep].sum())
    if exp[-1] < 5:
        obs, exp = obs[:-2].tolist() + [obs[-2:].sum()], exp[:-2].tolist() + [exp[-2:].sum()]
    assert stats.chisquare(obs, exp).pvalue > 1e-3
    assert k.mean() == pytest.approx(n * p, rel=0.02)


def test_each_neuron_has_its_own_count_and_the_weight_scales() -> None:
    n = np.array([0, 1, 50, 400, 3000])
    out = draw(n, 0.004, 40_000, weight=2.5, dtype=np.float32)
    assert out.dtype == np.float32 and not out[:, 0].any()
    k = out / 2.5
    assert np.array_equal(k, np.round(k)) and (k <= n).all()
    np.testing.assert_allclose(k.mean(axis=0), n * 0.004, rtol=0.03, atol=1e-3)
    np.testing.assert_allclose(k.var(axis=0), n * 0.004 * 0.996, rtol=0.05, atol=1e-3)


def test_large_means_are_left_to_torch_binomial() -> None:
    assert inversion_applies(3000, 0.01) and not inversion_applies(3001, 0.01)
    assert not inversion_applies(10, 0.5)
    net = Network(dt=1e-3, seed=4)
    g = net.add(LIFGroup(200, tau_m=1e-2, v_rest=0.0, v_threshold=1e9, v_reset=0.0,
                         channels={"x": 1e-9}))
    small = net.add(PoissonInput(g, "x", 100, 50.0, 1.0, name="small"))
    large = net.add(PoissonInput(g, "x", 10_000, 50.0, 1.0, name="large"))  # mean 500
    net.run(0.001)
    assert small.inversion and not large.inversion
    for inp, mean in ((small, 5.0), (large, 500.0)):
        assert inp.buf.mean().item() == pytest.approx(mean, rel=0.02)
