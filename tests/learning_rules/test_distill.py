"""Distillation loss against its closed-form gradient; the step-down schedule."""

from __future__ import annotations

import pytest
import torch

from neuromorph.learning_rules.distill import distillation_loss, step_down


@pytest.mark.parametrize(("tau", "alpha"), [(1.0, 0.0), (2.0, 0.5), (4.0, 1.0)])
def test_gradient_is_the_softmax_difference(tau: float, alpha: float) -> None:
    gen = torch.Generator().manual_seed(0)
    zs = torch.randn(7, 4, generator=gen, dtype=torch.float64).requires_grad_(True)
    zt = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (7,), generator=gen)
    loss = distillation_loss(zs, zt, y, temperature=tau, alpha=alpha)
    (grad,) = torch.autograd.grad(loss, zs)
    onehot = torch.nn.functional.one_hot(y, 4).double()
    hard = (torch.softmax(zs, 1) - onehot) / 7
    soft = tau * (torch.softmax(zs / tau, 1) - torch.softmax(zt / tau, 1)) / 7
    assert torch.allclose(grad, (1 - alpha) * hard + alpha * soft, atol=1e-12)


def test_soft_term_vanishes_when_student_equals_teacher() -> None:
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    y = torch.zeros(5, dtype=torch.int64)
    assert float(distillation_loss(z, z.clone(), y, alpha=1.0)) == pytest.approx(0.0, abs=1e-6)


def test_step_down_and_bad_arguments() -> None:
    assert step_down(5) == [4, 3, 2, 1]
    assert step_down(3, 2) == [2]
    with pytest.raises(ValueError, match="1 <= stop < start"):
        step_down(1)
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(z, z, torch.zeros(2, dtype=torch.int64), alpha=1.5)
    with pytest.raises(ValueError, match=r"\[B, C\]"):
        distillation_loss(z, torch.zeros(2, 4), torch.zeros(2, dtype=torch.int64))
