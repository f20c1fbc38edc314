"""Test helpers for the forward-only rules: a substrate that refuses any gradient, and nets."""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.access import Access
from neuromorph.networks.stack import Identity, StackNet, Stage, Transform


class GradRefusingSystem(Transform):
    """``F(z) = [tanh(z M); z]``, forward-only; raises if handed a tensor that requires grad."""

    access = Access.FORWARD_ONLY

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__(n, 2 * n)
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("mix", torch.randn(n, n, generator=gen) / n**0.5)

    def measure(self, z: Tensor) -> Tensor:
        if z.requires_grad:
            raise AssertionError("a forward-only rule handed the substrate a tensor that "
                                 "requires grad (it would differentiate through it)")
        return torch.cat([torch.tanh(z @ self.mix), z], dim=1)


class GradRefusingReLU(Transform):
    """An elementwise ReLU offering its local derivative; raises if handed a grad tensor."""

    access = Access.LOCAL
    elementwise = True

    def __init__(self, n: int) -> None:
        super().__init__(n, n)

    def measure(self, z: Tensor) -> Tensor:
        if z.requires_grad:
            raise AssertionError("GradRefusingReLU was handed a tensor that requires grad")
        return torch.relu(z)

    def derivative(self, z: Tensor) -> Tensor:
        return (z > 0).to(z.dtype)


def refusing_net(n_in: int = 12, hidden: int = 8, n_classes: int = 3, seed: int = 0) -> StackNet:
    """``logits = W_2 F(W_1 x)`` with ``F`` a :class:`GradRefusingSystem`."""
    torch.manual_seed(seed)
    return StackNet([Stage(Identity(n_in), hidden),
                     Stage(GradRefusingSystem(hidden, seed), n_classes)])


def linear_net(n_in: int, n_out: int, seed: int = 0) -> StackNet:
    """One stage, ``out = W x + b``: a squared error of it is a quadratic of ``(W, b)``."""
    torch.manual_seed(seed)
    return StackNet([Stage(Identity(n_in), n_out)])


def squared_error(logits: Tensor, target: Tensor) -> Tensor:
    """``L_m = mean_b ||out_mb - target_b||^2 / 2`` for every member ``m`` (``[M, B, C]``)."""
    return 0.5 * (logits - target.unsqueeze(0)).pow(2).sum(dim=2).mean(dim=1)


def quadratic_problem(n_in: int = 4, n_out: int = 2, batch: int = 16, seed: int = 0):
    """Inputs, targets and a linear net; the exact gradient of :func:`squared_error`."""
    gen = torch.Generator().manual_seed(seed + 5)
    x = torch.randn(batch, n_in, generator=gen)
    target = torch.randn(batch, n_out, generator=gen)
    net = linear_net(n_in, n_out, seed)

    def true_grad() -> list[Tensor]:
        lin = net.layers[0].linear
        residual = (x @ lin.weight.detach().T + lin.bias.detach() - target) / batch
        return [residual.T @ x, residual.sum(dim=0)]

    return x, target, net, true_grad


def trained_weights(make, seed: int, optimizer: str | None = "adam") -> list[Tensor]:
    """Weights of ``refusing_net`` after 5 batches of the rule ``make(net, seed)``."""
    from neuromorph.learning_rules.base import make_optimizer

    net = refusing_net(seed=0)
    rule = make(net, seed)
    opt = None if optimizer is None else make_optimizer(optimizer, rule.parameters(), 1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        rule.train_batch(torch.randn(16, 12, generator=gen),
                         torch.randint(0, 3, (16,), generator=gen), opt)
    return [p.detach().clone() for p in net.trainable_parameters()]
