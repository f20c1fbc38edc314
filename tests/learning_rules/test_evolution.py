"""OpenAI-ES, EGGROLL and the deep GA: memory, direction, convergence, seeds, forward-only access.

References: the exact gradient and the least-squares optimum (``torch.linalg.lstsq``) of a
squared error of a linear map, which is a quadratic of its weights.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.evolution import EGGROLL, DeepGA, EvolutionStrategy
from neuromorph.learning_rules.perturbation import centred_ranks
from neuromorph.networks.stack import Identity, StackNet, Stage
from tests.learning_rules.forward_only_probe import (
    quadratic_problem,
    refusing_net,
    squared_error,
    trained_weights,
)


def current_loss(net, x, target) -> float:
    with torch.no_grad():
        return float(squared_error(net(x).unsqueeze(0), target))


def least_squares_loss(x: torch.Tensor, target: torch.Tensor) -> float:
    """The minimum of ``mean ||W x + b - t||^2 / 2`` (a dense solve)."""
    xb = torch.cat([x, torch.ones(x.shape[0], 1)], dim=1)
    sol = torch.linalg.lstsq(xb, target).solution
    return float(0.5 * (xb @ sol - target).pow(2).sum(1).mean())


def test_centred_ranks_span_minus_half_to_half_in_fitness_order():
    u = centred_ranks(torch.tensor([3.0, -1.0, 10.0, 0.5]))
    torch.testing.assert_close(u, torch.tensor([1 / 6, -0.5, 0.5, -1 / 6]))


@pytest.mark.parametrize("rank", [1, 4])
def test_eggroll_holds_rank_times_m_plus_n_floats_per_matrix(rank):
    torch.manual_seed(0)
    net = StackNet([Stage(Identity(30), 20), Stage(Identity(20), 7)])
    egg, es = EGGROLL(net, pairs=3, rank=rank), EvolutionStrategy(net, pairs=3)
    x, y = torch.randn(5, 30), torch.randint(0, 7, (5,))
    egg.compute_grads(x, y)
    es.compute_grads(x, y)
    params = net.trainable_parameters()  # W1 [20, 30], b1, W2 [7, 20], b2
    assert egg.held_floats[0] == rank * (20 + 30) and egg.held_floats[2] == rank * (7 + 20)
    assert es.held_floats[0] == 20 * 30 and es.held_floats[2] == 7 * 20
    assert egg.held_floats[1] == es.held_floats[1] == 20  # biases: dense in both
    assert egg.perturbation_floats() < es.perturbation_floats() == sum(p.numel() for p in params)


def test_eggroll_update_direction_correlates_with_the_true_gradient():
    x, target, net, true_grad = quadratic_problem(n_in=6, n_out=3)
    rule = EGGROLL(net, pairs=16, sigma=0.05, rank=2, seed=1, loss=squared_error)
    acc = [torch.zeros_like(p) for p in rule.parameters()]
    for _ in range(100):
        rule.compute_grads(x, target)
        for a, p in zip(acc, rule.parameters(), strict=True):
            a += p.grad
    est = torch.cat([a.flatten() for a in acc])
    g = torch.cat([t.flatten() for t in true_grad()])
    # 21 parameters; a random direction has |cos| ~ 1/sqrt(21) ~ 0.22
    assert F.cosine_similarity(est, g, dim=0) > 0.9


@pytest.mark.parametrize("make", [lambda n: EvolutionStrategy(n, 8, 0.05, seed=0,
                                                              loss=squared_error),
                                  lambda n: EGGROLL(n, 8, 0.05, rank=1, seed=0,
                                                    loss=squared_error)])
def test_es_converges_to_the_least_squares_optimum(make):
    x, target, net, _ = quadratic_problem(batch=32)
    best = least_squares_loss(x, target)
    rule = make(net)
    start = current_loss(net, x, target)
    opt = make_optimizer("adam", rule.parameters(), 0.05)
    for _ in range(400):
        rule.train_batch(x, target, opt)
    final = current_loss(net, x, target)
    assert final - best < 0.02 * (start - best)


def test_ga_elite_never_gets_worse_on_a_fixed_batch_and_approaches_the_optimum():
    x, target, net, _ = quadratic_problem(batch=32)
    best = least_squares_loss(x, target)
    rule = DeepGA(net, population=32, sigma=0.05, parents=6, elites=1, seed=0,
                  loss=squared_error)
    start = current_loss(net, x, target)
    history = [rule.train_batch(x, target, None) for _ in range(150)]
    assert all(b <= a + 1e-6 for a, b in zip(history, history[1:], strict=False))
    final = current_loss(net, x, target)
    assert final == pytest.approx(history[-1], abs=1e-5)  # the net carries the elite
    assert final - best < 0.1 * (start - best)


RULES = {
    "es": (lambda n, s: EvolutionStrategy(n, 4, seed=s), "adam"),
    "eggroll": (lambda n, s: EGGROLL(n, 4, rank=2, seed=s), "adam"),
    "ga": (lambda n, s: DeepGA(n, 8, parents=3, seed=s), None),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_evolution_rules_are_deterministic_under_their_seed(name):
    make, opt_name = RULES[name]

    a, b, other = (trained_weights(make, s, opt_name) for s in (1, 1, 2))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not all(torch.equal(u, v) for u, v in zip(a, other, strict=True))


@pytest.mark.parametrize("name", sorted(RULES))
def test_evolution_rules_run_on_a_substrate_that_refuses_gradients(name):
    make, opt_name = RULES[name]
    net = refusing_net()
    before = [p.detach().clone() for p in net.trainable_parameters()]
    rule = make(net, 0)
    opt = None if opt_name is None else make_optimizer(opt_name, rule.parameters(), 1e-2)
    for _ in range(3):  # the GA's elite may stay the parent for a generation
        rule.train_batch(torch.randn(16, 12), torch.randint(0, 3, (16,)), opt)
    assert any(not torch.equal(a, p) for a, p in zip(before, net.trainable_parameters(),
                                                        strict=True))
    assert net.physical_queries() == 3 * 8 * 16  # 3 batches x 8 members x 16 samples


def test_ga_needs_no_optimizer_and_refuses_compute_grads():
    rule = DeepGA(refusing_net(), 8, parents=3)
    with pytest.raises(NotImplementedError, match="train_batch"):
        rule.compute_grads(torch.randn(4, 12), torch.zeros(4, dtype=torch.long))
    assert rule.state_tensors()[0].shape == (8, sum(p.numel() for p in rule.parameters()))


@pytest.mark.parametrize("bad", [dict(population=8, parents=9), dict(elites=0),
                                 dict(sigma=-1.0)])
def test_ga_bad_settings_raise_one_clear_error(bad):
    with pytest.raises(ValueError, match="sigma|elites"):
        DeepGA(refusing_net(), **bad)


@pytest.mark.parametrize("bad", [dict(pairs=0), dict(sigma=0.0), dict(rank=0)])
def test_eggroll_bad_settings_raise_one_clear_error(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        EGGROLL(refusing_net(), **bad)
