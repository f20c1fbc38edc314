"""Counter-current learning: local losses (hand-derived gradients), locality, access, learning."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuromorph.access import Access
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.counter_current import CounterCurrent
from neuromorph.networks.stack import Identity, StackNet, Stage, Transform


class DenseBlackBox(Transform):
    """A dense, forward-only ``F(z) = [tanh(A z); z]`` that refuses to be differentiated."""

    access = Access.FORWARD_ONLY

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__(n, 2 * n)
        self.a = torch.randn(n, n, generator=torch.Generator().manual_seed(seed)) / n ** 0.5

    def measure(self, z: torch.Tensor) -> torch.Tensor:
        if z.requires_grad:
            raise AssertionError("counter-current handed the physical system a graph")
        return torch.cat([torch.tanh(z @ self.a.T), z], dim=1)


def _blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(4, 10, generator=torch.Generator().manual_seed(99))
    y = torch.randint(0, 4, (n,), generator=gen)
    return centres[y] + 0.7 * torch.randn(n, 10, generator=gen), y


def _net(seed: int = 0) -> StackNet:
    torch.manual_seed(seed)
    return StackNet([Stage(Identity(10), 8), Stage(DenseBlackBox(8), 4)])


def test_gradients_equal_the_hand_derived_local_losses() -> None:
    net = _net()
    rule = CounterCurrent(net, seed=1, loss_scale=0.7)
    x, y = _blobs(16, 0)
    rule.compute_grads(x, y)
    w1, b1 = net.layers[0].linear.weight, net.layers[0].linear.bias
    w2, b2 = net.layers[1].linear.weight, net.layers[1].linear.bias
    g = rule.feedback[0].weight.detach()  # [8, 4]
    with torch.no_grad():
        z = x @ w1.T + b1
        feats = torch.cat([torch.tanh(z @ net.layers[1].transform.a.T), z], dim=1)
        logits = feats @ w2.T + b2
        c0 = torch.where(g.T > 0, g.T, torch.expm1(g.T))  # elu of G's columns: [4, 8]
        target = F.one_hot(y, 4).float()
        d_sim = 2 * 0.7 / (16 * 4) * (z @ c0.T - target)  # dL/dS, S = z c0^T
        d_z = d_sim @ c0
        d_logits = (torch.softmax(logits, 1) - target) / 16
        d_c0 = d_sim.T @ z
        d_g = (d_c0 * torch.where(g.T > 0, 1.0, torch.exp(g.T))).T
    torch.testing.assert_close(w1.grad, d_z.T @ x)
    torch.testing.assert_close(b1.grad, d_z.sum(0))
    torch.testing.assert_close(w2.grad, d_logits.T @ feats)
    torch.testing.assert_close(b2.grad, d_logits.sum(0))
    torch.testing.assert_close(rule.feedback[0].weight.grad, d_g)


def test_first_layer_update_is_local() -> None:
    """W_1's update does not depend on W_2 (no error travels back across the substrate)."""
    x, y = _blobs(16, 1)
    grads = []
    for scale in (1.0, -3.0):
        net = _net()
        with torch.no_grad():
            net.layers[1].linear.weight.mul_(scale)
        CounterCurrent(net, seed=1).compute_grads(x, y)
        grads.append(net.layers[0].linear.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def _train(seed: int, steps: int = 60) -> tuple[CounterCurrent, float]:
    net = _net(seed)
    rule = CounterCurrent(net, seed=seed)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    x, y = _blobs(256, seed)
    for i in range(steps):
        idx = slice((i * 32) % 256, (i * 32) % 256 + 32)
        rule.train_batch(x[idx], y[idx], opt)
    xt, yt = _blobs(256, seed + 100)
    return rule, rule.accuracy(xt, yt)


def test_trains_a_forward_only_dense_system_without_differentiating_it() -> None:
    rule, acc = _train(0)
    assert acc > 0.9
    assert rule.net.physical_queries() == 60 * 32 + 256


def test_same_seed_same_training_other_seed_other_feedback() -> None:
    a, b, c = _train(3, 10)[0], _train(3, 10)[0], _train(4, 10)[0]
    flat = [torch.cat([p.detach().flatten() for p in r.parameters()]) for r in (a, b, c)]
    assert torch.equal(flat[0], flat[1])
    assert not torch.equal(a.feedback[0].weight, c.feedback[0].weight)


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="loss_scale"):
        CounterCurrent(_net(), loss_scale=0.0)
    with pytest.raises(ValueError, match="2 stages"):
        CounterCurrent(StackNet([Stage(Identity(4), 3)]))
