"""The substrate contract: shapes, access, twins, derivatives, drift and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.access import Access, AccessError
from neuromorph.hardware_models.chips.loihi import loihi_step
from neuromorph.learning_rules.backprop import Backprop, PhysicsAware
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage
from neuromorph.substrates import SUBSTRATES, build_network, callable_substrate
from neuromorph.substrates.loihi import LoihiRate, QuantizedLinear
from neuromorph.substrates.spiking import SpikingRate

CHEAP = ["digital", "optical", "microwave", "spiking", "loihi_int"]


@pytest.mark.parametrize("name", CHEAP)
def test_every_substrate_builds_the_same_shape(name: str) -> None:
    net = build_network(name, 30, 4, seed=0)
    x = torch.rand(7, 30)
    assert net(x).shape == (7, 4)
    assert net.physical_queries() == 7  # the input stage is not a query
    assert net.access == SUBSTRATES[name].build(8, 0, {}).access


def test_bp_refused_on_forward_only_substrates_and_pat_accepted() -> None:
    for name in ["optical", "loihi_int"]:
        net = build_network(name, 30, 4, seed=0)
        with pytest.raises(AccessError, match="physics-aware training"):
            Backprop(net)
        PhysicsAware(net)  # has a twin


def test_pat_refused_without_a_twin_names_the_fix() -> None:
    m = np.random.default_rng(0).normal(size=(6, 6))
    callable_substrate("test-callable", lambda x: np.tanh(x @ m), width=6)
    net = build_network("test-callable", 10, 3, seed=0)
    with pytest.raises(AccessError, match="fit_system"):
        PhysicsAware(net)
    del SUBSTRATES["test-callable"]


def test_pat_on_a_physical_substrate_uses_measured_value_and_twin_gradient() -> None:
    net = build_network("optical", 12, 3, seed=0)
    rule = PhysicsAware(net)
    x = torch.rand(5, 12)
    est = rule.physics()
    z = net.layers[0](x)
    torch.testing.assert_close(est[1](z), net.layers[1].transform(z))
    zz = z.detach().requires_grad_(True)
    est[1](zz).sum().backward()
    zt = z.detach().requires_grad_(True)
    rule.twins[1](zt).sum().backward()
    torch.testing.assert_close(zz.grad, zt.grad)


def test_relu_derivative_and_forward_only_derivative_refused() -> None:
    z = torch.tensor([[-1.0, 0.5]])
    torch.testing.assert_close(ReLU(2).derivative(z), torch.tensor([[0.0, 1.0]]))
    net = build_network("optical", 12, 3, seed=0)
    with pytest.raises(AccessError, match="derivative"):
        net.layers[1].transform.derivative(torch.rand(2, net.layers[1].n_in))


def test_spiking_rate_counts_hard_threshold_spikes() -> None:
    """Rate of a unit-gain LIF under constant drive, against a hand-written loop."""
    beta, steps = 0.9, 8
    s = SpikingRate(3, steps=steps, beta=beta)
    z = torch.tensor([[0.05, 0.3, 1.5]])
    v, count = torch.zeros(3), torch.zeros(3)
    for _ in range(steps):
        v = beta * v + z[0]
        spk = (v > 1.0).float()
        count += spk
        v = v - spk
    torch.testing.assert_close(s(z)[0], count / steps)
    d = s.derivative(torch.tensor([[0.0, 0.8, 0.9]]))
    assert d.shape == (1, 3) and bool((d > 0).all())


def test_loihi_rate_is_the_integer_chip_step_and_its_twin_agrees() -> None:
    n = 16
    rate = LoihiRate(n, steps=8)
    z = torch.linspace(-0.5, 2.5, n).unsqueeze(0)
    out = rate(z)
    # the same neurons stepped by hand through the chip's step function
    ev = torch.round(z * 64).clamp(-255, 255).to(torch.int64)
    state = (ev.new_zeros(1, n), ev.new_zeros(1, n))
    count = ev.new_zeros(1, n)
    for _ in range(8):
        s, state = loihi_step(rate.layer, ev, state, ev.new_zeros(1, n))
        count += s
    torch.testing.assert_close(out, count.float() / 8)
    assert float((rate.twin()(z) - out).abs().max()) <= 0.125  # one spike of 8 at most


def test_quantized_linear_uses_8_bit_weights_with_straight_through_gradient() -> None:
    lin = QuantizedLinear(5, 3)
    wq = lin.quantized_weight().detach()
    q = lin.weight.detach().abs().max() / 127
    levels = wq / q
    torch.testing.assert_close(levels, torch.round(levels))
    lin(torch.ones(2, 5)).sum().backward()
    torch.testing.assert_close(lin.weight.grad, torch.full((3, 5), 2.0))


def test_drift_changes_physical_and_spiking_constants_deterministically() -> None:
    for name in ["optical", "spiking", "loihi_int"]:
        outs = []
        for _ in range(2):
            net = build_network(name, 12, 3, seed=0)
            x = torch.rand(20, 12, generator=torch.Generator().manual_seed(1))
            before = net(x)
            net.layers[1].transform.perturb(0.5, torch.Generator().manual_seed(3))
            outs.append(net(x))
        assert not torch.equal(before, outs[0]), name
        torch.testing.assert_close(outs[0], outs[1])


def test_stack_widths_must_chain() -> None:
    with pytest.raises(ValueError, match="do not chain"):
        StackNet([Stage(Identity(4), 5), Stage(ReLU(6), 2)])
    assert Identity(3).access == Access.DIFFERENTIABLE


def test_unknown_substrate_and_missing_data_are_clear() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        build_network("quantum", 4, 2)
    with pytest.raises(ValueError, match="data_dir"):
        build_network("measured_acoustic", 30, 3, data_dir="/nonexistent")


def test_crossbar_substrate_is_forward_only_rectified_and_ages_by_a_day() -> None:
    net = build_network("crossbar_pcm", 12, 3, seed=0)
    f = net.layers[1].transform
    z = torch.randn(6, f.n_in, generator=torch.Generator().manual_seed(0))
    out = f(z)
    assert bool((out[:, : f.system.n_out] >= 0).all())
    torch.testing.assert_close(out[:, f.system.n_out:], z)
    with pytest.raises(AccessError):
        Backprop(net)
    f.perturb(0.2, torch.Generator())
    assert f.system.t == pytest.approx(86_400.0) and f.system.compensation == "none"
    assert not torch.equal(f(z), out)
