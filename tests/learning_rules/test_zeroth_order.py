"""SPSA and the forward gradient: unbiased on a quadratic, seeded, forward-only on a black box.

Statistical tolerance. On a quadratic both estimators are exact per direction:
``g_hat = (g . v) v``. Averaged over ``K`` independent unit-variance directions, coordinate
``j`` has standard error ``s_j = sqrt(V_j / K)`` with ``V_j = ||g||^2 - g_j^2`` for Rademacher
``v`` (``v_j^2 = 1``) and ``V_j = ||g||^2 + g_j^2`` for Gaussian ``v`` (``E v_j^4 = 3``). We
require ``|mean_j - g_j| < 5 s_j`` for every coordinate (a Bonferroni bound: a false alarm over
10 coordinates has probability < 6e-6), and show the same check rejects ``0.8 g``.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from neuromorph.access import AccessError
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.perturbation import (
    DenseNoise,
    LowRankNoise,
    population_logits,
    stage_params,
)
from neuromorph.learning_rules.zeroth_order import SPSA, ForwardGradient
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage
from neuromorph.substrates.loihi import QuantizedLinear
from tests.learning_rules.forward_only_probe import (
    quadratic_problem,
    refusing_net,
    squared_error,
    trained_weights,
)

Z = 5.0


def mean_estimate(rule, x, target, steps: int) -> list[torch.Tensor]:
    acc = [torch.zeros_like(p) for p in rule.parameters()]
    for _ in range(steps):
        rule.compute_grads(x, target)
        for a, p in zip(acc, rule.parameters(), strict=True):
            a += p.grad
    return [a / steps for a in acc]


def within_tolerance(mean, truth, k: int, gaussian: bool) -> bool:
    m, g = torch.cat([t.flatten() for t in mean]), torch.cat([t.flatten() for t in truth])
    var = g.pow(2).sum() + (g.pow(2) if gaussian else -g.pow(2))
    return bool(((m - g).abs() < Z * (var / k).sqrt()).all())


def test_spsa_is_unbiased_on_a_quadratic_and_the_check_rejects_a_wrong_gradient():
    x, target, net, true_grad = quadratic_problem()
    rule = SPSA(net, perturbations=16, c=0.1, seed=3, loss=squared_error)
    steps = 1000
    mean = mean_estimate(rule, x, target, steps)
    g = true_grad()
    assert within_tolerance(mean, g, 16 * steps, gaussian=False)
    assert not within_tolerance(mean, [0.8 * t for t in g], 16 * steps, gaussian=False)


@pytest.mark.parametrize("mode", ["jvp", "fd"])
def test_forward_gradient_is_unbiased_on_a_quadratic(mode):
    x, target, net, true_grad = quadratic_problem()
    rule = ForwardGradient(net, directions=32, epsilon=0.1, mode=mode, seed=4,
                           loss=squared_error)
    steps = 500
    mean = mean_estimate(rule, x, target, steps)
    g = true_grad()
    assert within_tolerance(mean, g, 32 * steps, gaussian=True)
    assert not within_tolerance(mean, [0.8 * t for t in g], 32 * steps, gaussian=True)


def test_forward_gradient_jvp_equals_the_finite_difference_direction_by_direction():
    x, target, net, _ = quadratic_problem()
    grads = []
    for mode in ("jvp", "fd"):
        rule = ForwardGradient(copy.deepcopy(net), directions=5, epsilon=0.05, mode=mode,
                               seed=9, loss=squared_error)
        rule.compute_grads(x, target)
        grads.append([p.grad.clone() for p in rule.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


def test_forward_gradient_jvp_is_unbiased_on_a_relu_net_against_autograd():
    torch.manual_seed(0)
    net = StackNet([Stage(Identity(6), 5), Stage(ReLU(5), 3)])
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 6, generator=gen), torch.randint(0, 3, (32,), generator=gen)
    loss = nn.functional.cross_entropy(net(x), y)
    truth = torch.autograd.grad(loss, net.trainable_parameters())
    rule = ForwardGradient(net, directions=32, seed=2)
    assert rule.mode == "jvp"  # auto: the whole net is differentiable
    steps = 150
    mean = mean_estimate(rule, x, y, steps)
    assert within_tolerance(mean, truth, 32 * steps, gaussian=True)
    assert not within_tolerance(mean, [0.5 * t for t in truth], 32 * steps, gaussian=True)


@pytest.mark.parametrize("quantized", [False, True])
@pytest.mark.parametrize("low_rank", [False, True])
def test_stacked_population_equals_members_run_one_by_one(quantized, low_rank):
    torch.manual_seed(0)
    net = StackNet([Stage(Identity(7), 6), Stage(ReLU(6), 4)])
    if quantized:
        old = net.layers[0].linear
        net.layers[0].linear = QuantizedLinear(7, 6)
        net.layers[0].linear.load_state_dict(old.state_dict())
    params = net.trainable_parameters()
    noise = (LowRankNoise(params, 3, seed=5, rank=2) if low_rank
             else DenseNoise(params, 3, seed=5, distribution="rademacher"))
    dirs, scales = [0, 0, 1, 1, 2, -1], torch.tensor([0.1, -0.1, 0.2, -0.2, 0.05, 0.0])
    x = torch.randn(9, 7)
    stacked = population_logits(net, x, 6, noise.stage_map(stage_params(net, params), dirs,
                                                           scales))
    for m, d in enumerate(dirs):
        member = copy.deepcopy(net)
        with torch.no_grad():
            for j, p in enumerate(member.trainable_parameters()):
                if d >= 0:
                    p += scales[m] * noise.direction(d, j)
            torch.testing.assert_close(stacked[m], member(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [lambda n, s: SPSA(n, 4, seed=s),
                                  lambda n, s: ForwardGradient(n, 4, seed=s)])
def test_zeroth_order_rules_are_deterministic_under_their_seed(make):
    a, b, other = (trained_weights(make, s) for s in (1, 1, 2))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not all(torch.equal(u, v) for u, v in zip(a, other, strict=True))


def test_zeroth_order_rules_never_differentiate_through_a_forward_only_substrate():
    x, y = torch.randn(16, 12), torch.randint(0, 3, (16,))
    probe = refusing_net()
    with pytest.raises(AssertionError, match="requires grad"):  # the probe does catch autograd
        nn.functional.cross_entropy(probe(x), y).backward()
    for make in (lambda n: SPSA(n, 4), lambda n: ForwardGradient(n, 4)):
        net = refusing_net()
        before = [p.detach().clone() for p in net.trainable_parameters()]
        rule = make(net)
        rule.train_batch(x, y, make_optimizer("adam", rule.parameters(), 1e-2))
        assert all(not torch.equal(a, p) for a, p in zip(before, net.trainable_parameters(),
                                                            strict=True))
        assert net.physical_queries() == 2 * 4 * 16  # 2P members x B samples, one call
    assert ForwardGradient(refusing_net(), 4).mode == "fd"


def test_forward_gradient_jvp_on_a_forward_only_net_is_refused_with_the_fix():
    with pytest.raises(AccessError, match="mode='fd'"):
        ForwardGradient(refusing_net(), mode="jvp")


def test_spsa_holds_one_parameter_sized_draw_and_no_state():
    net = refusing_net()
    rule = SPSA(net, perturbations=6)
    rule.compute_grads(torch.randn(8, 12), torch.randint(0, 3, (8,)))
    sizes = {j: p.numel() for j, p in enumerate(rule.parameters())}
    assert rule.held_floats == sizes
    assert rule.state_tensors() == []
    assert rule.perturbation_bytes == 4 * max(sizes.values())


@pytest.mark.parametrize("bad", [dict(perturbations=0), dict(c=0.0), dict(distribution="uni")])
def test_spsa_bad_settings_raise_one_clear_error(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SPSA(refusing_net(), **bad)


def test_forward_gradient_unknown_mode_raises():
    with pytest.raises(ValueError, match="mode"):
        ForwardGradient(refusing_net(), mode="reverse")
