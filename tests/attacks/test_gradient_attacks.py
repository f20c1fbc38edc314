"""FGSM / PGD / random noise against closed-form answers on linear models; the rate code."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.attacks import (
    fgsm,
    pgd,
    project,
    random_sign_noise,
    rate_noise,
    straight_through_rate,
    success_rate,
)


def _softmax_linear(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.randn(5, 8, generator=gen, dtype=torch.float64),
            torch.randn(5, generator=gen, dtype=torch.float64),
            torch.randint(0, 5, (6,), generator=gen))


def test_fgsm_matches_the_analytic_gradient_of_softmax_regression() -> None:
    gen = torch.Generator().manual_seed(0)
    w, b, y = _softmax_linear(gen)
    x = torch.rand(6, 8, generator=gen, dtype=torch.float64) * 0.6 + 0.2
    eps = 0.05

    def loss(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(z @ w.T + b, y, reduction="none")

    # d CE / dx = W^T (softmax(W x + b) - onehot(y)), per sample
    p = torch.softmax(x @ w.T + b, dim=1)
    grad = (p - torch.nn.functional.one_hot(y, 5).double()) @ w
    expected = (x + eps * grad.sign()).clamp(0, 1)
    assert torch.allclose(fgsm(x, loss, eps), expected, atol=0, rtol=0)


def test_pgd_reaches_the_worst_case_corner_of_a_linear_margin() -> None:
    # loss = -(w . x): the L-inf worst case in the box is clip(x - eps sign(w), 0, 1)
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(10, generator=gen, dtype=torch.float64)
    x = torch.rand(4, 10, generator=gen, dtype=torch.float64)
    eps = 0.1
    adv = pgd(x, lambda z: -(z @ w), eps, steps=8, generator=gen)
    assert torch.allclose(adv, (x - eps * w.sign()).clamp(0, 1), atol=1e-12)
    margin_drop = ((x - adv) @ w).max()
    assert margin_drop <= eps * w.abs().sum() + 1e-12  # no more than the L1 bound


def test_pgd_and_noise_stay_in_budget_and_box() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(32, 16, generator=gen)
    w = torch.randn(16, generator=gen)
    for adv in (pgd(x, lambda z: torch.sin(5 * z) @ w, 0.07, steps=5, generator=gen),
                random_sign_noise(x, 0.07, generator=gen)):
        assert (adv - x).abs().max() <= 0.07 + 1e-6
        assert adv.min() >= 0 and adv.max() <= 1
    inner = (x > 0.07) & (x < 0.93)
    noise = random_sign_noise(x, 0.07, generator=gen)
    assert torch.allclose((noise - x)[inner].abs(), torch.full_like(x[inner], 0.07), atol=1e-6)
    assert torch.equal(project(x + 1.0, x, 0.1), (x + 0.1).clamp(0, 1))


def test_success_rate_counts_only_clean_correct_samples() -> None:
    y = torch.tensor([0, 1, 2, 3])
    clean = torch.tensor([0, 1, 2, 0])  # the last one was wrong already
    adv = torch.tensor([0, 2, 1, 1])
    assert success_rate(clean, adv, y) == pytest.approx(2 / 3)
    assert math.isnan(success_rate(torch.tensor([1]), torch.tensor([1]), torch.tensor([0])))


def test_bad_inputs_fail_with_one_clear_line() -> None:
    x = torch.rand(2, 3)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        fgsm(x, lambda z: z.sum(1), -0.1)
    with pytest.raises(ValueError, match="does not depend on x"):
        fgsm(x, lambda z: torch.ones(2), 0.1)
    with pytest.raises(ValueError, match="p_max"):
        straight_through_rate(x, rate_noise(3, x), 2.0)
    with pytest.raises(ValueError, match="noise must be"):
        straight_through_rate(x, torch.rand(3, 5, 3), 1.0)


def test_straight_through_rate_spikes_and_gradient() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(5, 7, generator=gen, dtype=torch.float64).requires_grad_(True)
    noise = rate_noise(4, x, samples=3, generator=gen)
    s = straight_through_rate(x, noise, 0.8)
    assert s.shape == (4, 15, 7)
    lam = (0.8 * x.detach()).repeat(3, 1)
    assert torch.equal(s, (noise < lam).double())  # exactly the Bernoulli spikes
    c = torch.randn(4, 15, 7, generator=gen, dtype=torch.float64)
    (grad,) = torch.autograd.grad((s * c).sum(), x)
    # ds/dx = p_max for every step and every noise sample of the image
    expected = 0.8 * c.sum(0).reshape(3, 5, 7).sum(0)
    assert torch.allclose(grad, expected)


def test_straight_through_rate_has_the_rate_code_statistics() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0]])
    s = straight_through_rate(x, rate_noise(20_000, x, generator=gen), 0.5)
    p = 0.5 * x[0]
    se = (p * (1 - p) / 20_000).sqrt()
    assert ((s.mean((0, 1)) - p).abs() <= 4 * se + 1e-12).all()
