"""Surrogate swap and the potential-dependent surrogate against hand-written references."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.attacks import (
    input_gradient,
    logistic_scale,
    potential_dependent_scales,
    pre_spike_potentials,
    use_potential_dependent_surrogate,
    use_surrogate,
)
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential
from neuromorph.primitives.spike import surrogate_grad

DT, TAU = 1e-3, 20e-3


def _net(seed: int, reset: str = "subtract") -> SpikingSequential:
    torch.manual_seed(seed)
    net = SpikingSequential(
        SpikingLinear(6, 5, dt=DT, tau=TAU, r=TAU / DT, surrogate="fast_sigmoid", reset=reset),
        SpikingLinear(5, 3, neuron="li", dt=DT, tau=TAU, r=TAU / DT),
    ).double()
    with torch.no_grad():
        net[0].synapse.weight.mul_(3.0)
    return net


#: closed forms of two surrogate derivatives at their default scales (written out here)
CLOSED_FORMS = {
    "arctan": lambda u: 1.0 / (1.0 + (math.pi * u) ** 2),  # k = 2: (k/2) / (1 + (pi/2 k u)^2)
    "fast_sigmoid": lambda u: 1.0 / (25.0 * u.abs() + 1.0) ** 2,
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_gradient_through_a_swapped_surrogate_matches_the_chain_rule(name: str) -> None:
    # one step: h = W1 x + b1 (unit gain), s = H(h - 1), readout v = W2 s + b2, L = c . v
    net = _net(0)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1, 4, 6, generator=gen, dtype=torch.float64)
    c = torch.randn(3, generator=gen, dtype=torch.float64)
    w1, b1 = net[0].synapse.weight.detach(), net[0].synapse.bias.detach()
    w2 = net[1].synapse.weight.detach()
    u = x[0] @ w1.T + b1 - 1.0
    expected = (CLOSED_FORMS[name](u) * (c @ w2)) @ w1
    before = net(x)
    with use_surrogate(net, name):
        assert net[0].neuron.surrogate == name
        grad = input_gradient(lambda z: (net(z)[0] * c).sum(1), x)
        assert torch.equal(net(x), before)  # the forward pass never sees the surrogate
    assert net[0].neuron.surrogate == "fast_sigmoid" and net[0].neuron.scale == 25.0
    assert torch.allclose(grad[0], expected, atol=1e-12)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_pre_spike_potentials_match_a_hand_written_lif(reset: str) -> None:
    net = _net(2, reset)
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(12, 3, 6, generator=gen) < 0.5).double()
    (u,) = pre_spike_potentials(net, x)
    w, b = net[0].synapse.weight.detach(), net[0].synapse.bias.detach()
    alpha = 1 - DT / TAU
    v = torch.zeros(3, 5, dtype=torch.float64)
    for t in range(12):
        h = alpha * v + x[t] @ w.T + b
        assert torch.allclose(u[t], h - 1.0, atol=1e-12)
        s = (h > 1.0).double()
        v = h - s if reset == "subtract" else h * (1 - s)


def test_logistic_scale_gives_a_density_with_that_spread() -> None:
    sigma = 0.37
    k = logistic_scale(sigma)
    u = torch.linspace(-12 * sigma, 12 * sigma, 200_001, dtype=torch.float64)
    g = surrogate_grad(u, "sigmoid", k)
    du = float(u[1] - u[0])
    assert float(g.sum() * du) == pytest.approx(1.0, rel=1e-6)  # a probability density
    assert math.sqrt(float((u**2 * g).sum() * du)) == pytest.approx(sigma, rel=1e-4)


def test_potential_dependent_surrogate_follows_the_potentials() -> None:
    net = _net(4)
    gen = torch.Generator().manual_seed(5)
    x = (torch.rand(10, 8, 6, generator=gen) < 0.5).double()
    (u,) = pre_spike_potentials(net, x)
    (k,) = potential_dependent_scales(net, x)
    assert k == pytest.approx(math.pi / (math.sqrt(3) * float(u.std())))
    (k_wide,) = potential_dependent_scales(net, 3 * x)  # larger inputs: wider spread
    assert k_wide < k
    with use_potential_dependent_surrogate(net, x) as scales:
        assert scales == [k]
        assert (net[0].neuron.surrogate, net[0].neuron.scale) == ("sigmoid", k)
    assert (net[0].neuron.surrogate, net[0].neuron.scale) == ("fast_sigmoid", 25.0)


def test_models_without_spiking_layers_are_refused() -> None:
    with pytest.raises(ValueError, match="no spiking neuron"), \
            use_surrogate(torch.nn.Linear(2, 2), "arctan"):
        pass
    with pytest.raises(ValueError, match="unknown surrogate"), use_surrogate(_net(0), "gaussian"):
        pass
