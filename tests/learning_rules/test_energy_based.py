"""Dual propagation and equilibrium propagation against independent references.

* Dual propagation vs autograd of the feed-forward cross-entropy (backprop): the update agrees
  to first order in the nudge ``beta`` (the error shrinks like ``beta^2`` for ``alpha = 1/2``).
* EqProp vs the implicit gradient of the *same* energy's equilibrium loss, computed here from an
  explicitly written energy (Hessian solve, Almeida-Pineda): the estimate tends to it as
  ``beta -> 0`` (``O(beta)`` one-sided, ``O(beta^2)`` symmetric). The relaxation's fixed point is
  checked to be a stationary point of that energy.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.energy_based import DualPropagation, EquilibriumPropagation
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage, Transform
from neuromorph.substrates import build_network


class Tanh(Transform):
    """A smooth elementwise substrate ``F(z) = tanh(z)`` (``G(s) = s artanh s + log(1-s^2)/2``)."""

    access = Access.FORWARD_ONLY
    elementwise = True

    def __init__(self, n: int) -> None:
        super().__init__(n, n)

    def measure(self, z: torch.Tensor) -> torch.Tensor:
        if z.requires_grad:
            raise AssertionError("the rule handed the forward-only substrate a graph")
        return torch.tanh(z)


def _net(seed: int = 0) -> tuple[StackNet, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    net = StackNet([Stage(Identity(6), 5), Stage(Tanh(5), 4), Stage(Tanh(4), 3)]).double()
    x = torch.randn(8, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (8,))
    return net, x, y


def _rule_grad(rule, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    for p in rule.parameters():
        p.grad = None
    rule.compute_grads(x, y)
    return torch.cat([p.grad.flatten() for p in rule.parameters()])


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_dual_propagation_equals_backprop_to_first_order() -> None:
    net, x, y = _net()
    params = net.trainable_parameters()
    # backprop reference: autograd through tanh written directly (not through the rule's code)
    w0, b0, w1, b1, w2, b2 = params
    logits = torch.tanh(torch.tanh(x @ w0.T + b0) @ w1.T + b1) @ w2.T + b2
    loss = F.cross_entropy(logits, y)
    ref = torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])
    errors = [_rel(_rule_grad(DualPropagation(net, beta=b), x, y), ref) for b in (1.0, 0.1, 0.01)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] / errors[2] > 50  # second order in beta for alpha = 1/2
    assert errors[2] < 1e-5
    # asymmetric dyads are first-order accurate too
    assert _rel(_rule_grad(DualPropagation(net, beta=1e-3, alpha=0.2), x, y), ref) < 1e-2


def _energy(params: list[torch.Tensor], states: list[torch.Tensor], x: torch.Tensor):
    w0, b0, w1, b1, w2, b2 = params
    s1, s2, o = states

    def g(s: torch.Tensor) -> torch.Tensor:  # convex, g' = artanh = F^-1
        return (s * torch.atanh(s) + 0.5 * torch.log1p(-s * s)).sum()

    return (g(s1) + g(s2) + 0.5 * (o * o).sum() - (s1 * (x @ w0.T + b0)).sum()
            - (s2 * (s1 @ w1.T + b1)).sum() - (o * (s2 @ w2.T + b2)).sum())


def _implicit_gradient(net: StackNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``dl(o*)/dtheta = -d/dtheta (grad_s E . H^-1 grad_s l)`` at the free equilibrium."""
    rule = EquilibriumPropagation(net, beta=1.0, free_steps=80)
    params = [p.detach().requires_grad_(True) for p in net.trainable_parameters()]
    states = [s.clone().requires_grad_(True) for s in rule.relax(x, None, 80)[1:]]
    grad_e = torch.autograd.grad(_energy(params, states, x), states, create_graph=True)
    assert max(float(g.detach().abs().max()) for g in grad_e) < 1e-10  # a true equilibrium
    sizes = [s.numel() for s in states]

    def energy_flat(flat: torch.Tensor) -> torch.Tensor:
        parts = [p.view_as(s) for p, s in zip(flat.split(sizes), states, strict=True)]
        return _energy([p.detach() for p in params], parts, x)

    flat = torch.cat([s.detach().flatten() for s in states])
    hessian = torch.autograd.functional.hessian(energy_flat, flat)
    dl = torch.zeros_like(flat)
    dl[-states[-1].numel():] = torch.autograd.grad(F.cross_entropy(states[-1], y),
                                                   states[-1])[0].flatten()
    v = torch.linalg.solve(hessian, dl).split(sizes)
    mixed = sum((g * vv.view_as(g)).sum() for g, vv in zip(grad_e, v, strict=True))
    return -torch.cat([g.flatten() for g in torch.autograd.grad(mixed, params)])


@pytest.mark.parametrize("symmetric", [False, True])
def test_eqprop_tends_to_the_equilibrium_gradient_as_beta_vanishes(symmetric: bool) -> None:
    net, x, y = _net(1)
    ref = _implicit_gradient(net, x, y)
    betas = (1e-2, 1e-3, 1e-4)
    est = [_rule_grad(EquilibriumPropagation(net, beta=b, free_steps=80, nudged_steps=80,
                                             symmetric=symmetric), x, y) for b in betas]
    errors = [_rel(e, ref) for e in est]
    cosines = [float(F.cosine_similarity(e, ref, dim=0)) for e in est]
    assert errors[0] > errors[1] > errors[2]
    assert cosines[0] < cosines[2] and cosines[2] > 1 - 1e-8
    assert errors[2] < (1e-6 if symmetric else 1e-3)
    order = 2 if symmetric else 1  # the estimator's bias is O(beta^order)
    assert errors[1] / errors[2] > 0.5 * 10 ** order


def test_eqprop_free_phase_differs_from_feed_forward_but_predicts_with_it() -> None:
    """The free equilibrium feeds the logits back (W^T o): not the feed-forward pass."""
    net, x, _ = _net(2)
    rule = EquilibriumPropagation(net, free_steps=200)
    free = rule.relax(x, None, 200)
    with torch.no_grad():
        assert (free[-1] - net(x)).abs().max() > 1e-4
    assert torch.equal(rule.predict(x), free[-1].argmax(1))


@pytest.mark.parametrize("rule", [DualPropagation, EquilibriumPropagation])
@pytest.mark.parametrize("substrate", ["optical", "microwave"])
def test_dense_physical_substrates_are_refused_with_the_fix(rule, substrate: str) -> None:
    net = build_network(substrate, 20, 10, seed=0)
    with pytest.raises(AccessError, match="not elementwise.*pat.*counter_current"):
        rule(net)


@pytest.mark.parametrize("substrate", ["digital", "spiking", "loihi_int"])
def test_elementwise_substrates_are_accepted(substrate: str) -> None:
    net = build_network(substrate, 20, 10, seed=0)
    DualPropagation(net)
    EquilibriumPropagation(net)


@pytest.mark.parametrize("make", [lambda n: DualPropagation(n, beta=0.5),
                                  lambda n: EquilibriumPropagation(n, free_steps=4,
                                                                   nudged_steps=2)])
def test_same_seed_same_training(make) -> None:
    def run() -> torch.Tensor:
        torch.manual_seed(3)
        net = StackNet([Stage(Identity(12), 16), Stage(ReLU(16), 4)])
        gen = torch.Generator().manual_seed(5)
        x, y = torch.randn(64, 12, generator=gen), torch.randint(0, 4, (64,), generator=gen)
        rule = make(net)
        opt = make_optimizer("adam", rule.parameters(), 1e-2)
        for i in range(0, 64, 16):
            rule.train_batch(x[i:i + 16], y[i:i + 16], opt)
        return torch.cat([p.detach().flatten() for p in rule.parameters()])

    a, b = run(), run()
    assert torch.equal(a, b)


def test_bad_arguments_raise_clear_errors() -> None:
    net, _, _ = _net()
    with pytest.raises(ValueError, match="beta"):
        DualPropagation(net, beta=0.0)
    with pytest.raises(ValueError, match="alpha"):
        DualPropagation(net, alpha=1.5)
    with pytest.raises(ValueError, match="sweep"):
        EquilibriumPropagation(net, free_steps=0)
