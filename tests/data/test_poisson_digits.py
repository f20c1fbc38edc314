"""Poisson-coded scikit-learn digits and the split / minibatch helpers."""

import pytest
import torch

from neuromorph.data.poisson_digits import (
    digits_split,
    load_digits,
    minibatches,
    poisson_digits,
    stratified_split,
)


def test_load_digits_shapes_and_range():
    x, y = load_digits()
    assert x.shape == (1797, 64) and y.shape == (1797,)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() == 0 and x.max() == 1  # 16 / 16
    assert torch.bincount(y).min() >= 170


def test_split_is_seeded_stratified_and_disjoint():
    a, b = digits_split(0.2, seed=1), digits_split(0.2, seed=1)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_test, digits_split(0.2, seed=2).y_test)
    assert len(a.y_train) + len(a.y_test) == 1797
    _, y = load_digits()
    tr, te = stratified_split(y, 0.2, seed=1)
    assert set(tr.tolist()).isdisjoint(te.tolist())
    assert len(set(tr.tolist()) | set(te.tolist())) == 1797
    counts, totals = torch.bincount(y[te]), torch.bincount(y)
    assert torch.all((counts - 0.2 * totals).abs() <= 0.5 + 1e-9)


def test_rates_match_the_requested_rate():
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0]]).repeat(500, 1)
    T, dt, rate = 400, 1e-3, 100.0
    s = poisson_digits(x, T, dt=dt, max_rate=rate, generator=torch.Generator().manual_seed(0))
    assert s.shape == (T, 500, 4) and set(s.unique().tolist()) <= {0.0, 1.0}
    measured = s.mean(dim=(0, 1)) / dt  # Hz
    expected = torch.tensor([0.0, 25.0, 50.0, 100.0])
    # binomial std of the mean rate over 200000 Bernoulli steps is < 0.7 Hz
    assert torch.allclose(measured, expected, atol=3.0)
    assert measured[0] == 0


def test_encoding_is_deterministic_under_a_generator():
    x, _ = load_digits()
    a = poisson_digits(x[:8], 20, generator=torch.Generator().manual_seed(4))
    b = poisson_digits(x[:8], 20, generator=torch.Generator().manual_seed(4))
    c = poisson_digits(x[:8], 20, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_minibatches_cover_everything_once():
    gen = torch.Generator().manual_seed(0)
    batches = list(minibatches(10, 3, generator=gen))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert [len(b) for b in minibatches(10, 3, shuffle=False, drop_last=True)] == [3, 3, 3]
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(10, 0))
    with pytest.raises(ValueError, match=r"\[B, features\]"):
        poisson_digits(torch.zeros(64), 10)
