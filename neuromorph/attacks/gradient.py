"""L-infinity gradient attacks on an analog input, and how often they succeed.

``loss_fn(x) -> loss`` is any differentiable function of the input ``x [B, ...]`` whose value is
a per-sample loss ``[B]`` (or its sum); for a spiking network it runs the input code and the
network, and its gradient flows through the surrogate spike derivatives. Every attack keeps the
perturbed input inside the budget ``|x' - x|_inf <= eps`` and the valid box ``[lower, upper]``
(the projection ``P``):

- :func:`fgsm` (Goodfellow et al. 2015): ``x' = P(x + eps sign(grad_x L))``;
- :func:`pgd` (Madry et al. 2018): from a random start in the ball,
  ``x_{k+1} = P(x_k + a sign(grad_x L(x_k)))`` for ``steps`` steps of size ``a``
  (default ``2.5 eps / steps``);
- :func:`random_sign_noise`: ``x' = P(x + eps r)``, ``r`` uniform in ``{-1, +1}``: the
  baseline an attack must beat at the same budget.

:func:`success_rate` is the fraction of the samples classified correctly before the attack
that are misclassified after it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["fgsm", "input_gradient", "pgd", "project", "random_sign_noise", "success_rate"]

LossFn = Callable[[Tensor], Tensor]


def _check_budget(eps: float, lower: float, upper: float) -> None:
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0 (an L-inf budget in input units), got {eps}")
    if not lower < upper:
        raise ValueError(f"the input box needs lower < upper, got [{lower}, {upper}]")


def project(x_adv: Tensor, x: Tensor, eps: float, lower: float = 0.0,
            upper: float = 1.0) -> Tensor:
    """``P(x') = clip(clip(x', x - eps, x + eps), lower, upper)``: back into budget and box."""
    return torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp(lower, upper)


def input_gradient(loss_fn: LossFn, x: Tensor) -> Tensor:
    """``grad_x sum_b L_b(x)`` (a per-sample loss gives each sample its own gradient)."""
    x = x.detach().requires_grad_(True)
    loss = loss_fn(x)
    if not loss.requires_grad:
        raise ValueError("loss_fn(x) does not depend on x differentiably; build it from x")
    (grad,) = torch.autograd.grad(loss.sum(), x)
    return grad


def fgsm(x: Tensor, loss_fn: LossFn, eps: float, *, lower: float = 0.0,
         upper: float = 1.0) -> Tensor:
    """Fast gradient sign method: ``P(x + eps sign(grad_x L))`` (one gradient)."""
    _check_budget(eps, lower, upper)
    return project(x + eps * input_gradient(loss_fn, x).sign(), x, eps, lower, upper).detach()


def pgd(x: Tensor, loss_fn: LossFn, eps: float, *, steps: int = 10,
        step_size: float | None = None, random_start: bool = True,
        generator: torch.Generator | None = None, lower: float = 0.0,
        upper: float = 1.0) -> Tensor:
    """Projected gradient descent on the loss (ascent), L-inf ball of radius ``eps``.

    Starts at ``P(x + U[-eps, eps])`` when ``random_start`` (seeded by ``generator``), then takes
    ``steps`` signed steps of ``step_size`` (default ``2.5 eps / steps``), projecting each.
    """
    _check_budget(eps, lower, upper)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    a = 2.5 * eps / steps if step_size is None else float(step_size)
    if a <= 0 and eps > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")
    x_adv = x.detach().clone()
    if random_start:
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype)
        x_adv = project(x_adv + eps * (2 * u - 1), x, eps, lower, upper)
    for _ in range(steps):
        x_adv = project(x_adv + a * input_gradient(loss_fn, x_adv).sign(), x, eps, lower, upper)
    return x_adv.detach()


def random_sign_noise(x: Tensor, eps: float, *, generator: torch.Generator | None = None,
                      lower: float = 0.0, upper: float = 1.0) -> Tensor:
    """``P(x + eps r)`` with independent random signs ``r`` (a corner of the budget ball)."""
    _check_budget(eps, lower, upper)
    r = torch.randint(0, 2, x.shape, generator=generator).to(x.dtype) * 2 - 1
    return project(x + eps * r, x, eps, lower, upper)


def success_rate(clean_pred: Tensor, adv_pred: Tensor, labels: Tensor) -> float:
    """Fraction of the samples correct before the attack (``clean_pred == labels``) that the
    attack turns wrong (``adv_pred != labels``); ``nan`` when none was correct."""
    if not clean_pred.shape == adv_pred.shape == labels.shape:
        raise ValueError(f"predictions and labels must share one shape, got "
                         f"{tuple(clean_pred.shape)}, {tuple(adv_pred.shape)}, "
                         f"{tuple(labels.shape)}")
    correct = clean_pred == labels
    n = int(correct.sum())
    if n == 0:
        return float("nan")
    return float((adv_pred[correct] != labels[correct]).sum()) / n
