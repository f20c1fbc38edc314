"""The plasticity interface: access checks, .grad / in-place application, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuromorph.access import Access, AccessError
from neuromorph.hardware_models import make_system
from neuromorph.learning_rules.plasticity import (
    RULES,
    Oja,
    PairSTDP,
    RewardSTDP,
    SoftHebb,
    TripletSTDP,
    make_rule,
)
from neuromorph.networks.physical import PhysicalLayer


class ForwardOnlyLayer(nn.Module):
    access = Access.FORWARD_ONLY

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(2, 3))


def test_access_mismatch_is_a_clear_error():
    with pytest.raises(AccessError, match="needs local access.*forward-only"):
        Oja().bind(ForwardOnlyLayer())


def test_physical_layer_points_to_its_digital_map():
    layer = PhysicalLayer(make_system("optical", 8, 8, seed=0), 4)
    with pytest.raises(AccessError, match=r"rule.bind\(layer.linear\)"):
        SoftHebb().bind(layer)
    with pytest.raises(AccessError, match="black box"):
        SoftHebb().bind(layer.system)
    syn = SoftHebb(lr=0.1).bind(layer.linear)  # the digital map after the system is fine
    x = torch.rand(5, 8)
    feats = layer.features(x)
    dw = syn.observe(feats, apply="none")
    assert dw.shape == layer.linear.weight.shape


def test_grad_path_equals_inplace_update():
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    a, b = nn.Linear(3, 2, bias=False), nn.Linear(3, 2, bias=False)
    b.load_state_dict(a.state_dict())
    opt = torch.optim.SGD(a.parameters(), lr=1.0)
    sa, sb = Oja(lr=0.1).bind(a), Oja(lr=0.1).bind(b)
    opt.zero_grad()
    dw = sa.observe(x, apply="grad")
    assert torch.allclose(a.weight.grad, -dw)
    opt.step()
    sb.observe(x, apply="inplace")
    assert torch.allclose(a.weight, b.weight)
    # grads accumulate like autograd's
    sa.observe(x, apply="grad")
    sa.observe(x, apply="grad")
    assert a.weight.grad is not None and a.weight.grad.abs().sum() > 0


def test_inplace_update_applies_the_rule_bounds():
    lin = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.99)
    syn = PairSTDP(dt=1e-3, tau_pre=20e-3, tau_post=20e-3, a_pre=0.5, a_post=-0.1,
                   w_max=1.0).bind(lin)
    pre, post = torch.zeros(10, 1, 1), torch.zeros(10, 1, 1)
    pre[2], post[3] = 1.0, 1.0
    syn.observe(pre, post, apply="inplace")
    assert float(lin.weight.detach()) == 1.0


def test_bound_state_carries_between_observations():
    lin = nn.Linear(2, 1, bias=False)
    syn = TripletSTDP(dt=1e-3).bind(lin)
    pre, post = torch.zeros(5, 1, 2), torch.zeros(5, 1, 1)
    pre[4] = 1.0
    syn.observe(pre, post, apply="none")
    assert syn.state is not None and float(syn.state[0].sum()) == pytest.approx(2.0)
    syn.reset_state()
    assert syn.state is None


def test_shape_dtype_nan_and_modulator_errors():
    w = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"expects rates \[B, n_pre\]"):
        Oja().update(torch.zeros(4, 1, 3), None, w)
    with pytest.raises(ValueError, match=r"spike trains \[T, B, n_pre\].*unsqueeze"):
        PairSTDP(dt=1e-3, tau_pre=1e-2, tau_post=1e-2, a_pre=1, a_post=-1, w_max=1).update(
            torch.zeros(4, 3), torch.zeros(4, 2), w)
    with pytest.raises(ValueError, match="pre has 4 neurons"):
        Oja().update(torch.zeros(2, 4), None, w)
    with pytest.raises(ValueError, match="post must have shape"):
        Oja().update(torch.zeros(2, 3), torch.zeros(2, 5), w)
    with pytest.raises(ValueError, match="NaN"):
        Oja().update(torch.full((2, 3), float("nan")), None, w)
    with pytest.raises(TypeError, match="floating-point"):
        Oja().update(torch.zeros(2, 3, dtype=torch.int64), None, w)
    with pytest.raises(ValueError, match="takes no modulator"):
        Oja().update(torch.zeros(2, 3), None, w, modulator=1.0)
    with pytest.raises(ValueError, match="three-factor"):
        RewardSTDP(dt=1e-3).update(torch.zeros(4, 1, 3), torch.zeros(4, 1, 2), w)
    with pytest.raises(ValueError, match="needs the post-synaptic spike trains"):
        TripletSTDP(dt=1e-3).update(torch.zeros(4, 1, 3), None, w)


def test_registry_builds_every_rule_by_name():
    assert make_rule("oja", lr=0.5).lr == 0.5
    with pytest.raises(ValueError, match="unknown plasticity rule"):
        make_rule("ojaa")
    with pytest.raises(ValueError, match="bad options"):
        make_rule("oja", learning_rate=1.0)
    assert all(rule.requires == Access.LOCAL for rule in RULES.values())


def test_one_rule_object_trains_rate_spiking_and_physical_layers():
    from neuromorph.learning_rules.plasticity import NeuromodulatedHebb
    from neuromorph.networks.spiking_layers import SpikingLinear

    rule = NeuromodulatedHebb(lr=0.1, mode="sign")  # accepts rates [B, n] and spikes [T, B, n]
    g = torch.Generator().manual_seed(0)
    # a rate layer
    rate = nn.Linear(4, 3, bias=False)
    x = torch.rand(5, 4, generator=g)
    y = rate(x).detach()
    w0 = rate.weight.detach().clone()
    dw = rule.bind(rate).observe(x, y, modulator=1.0, apply="inplace")
    assert torch.allclose(dw, 0.1 * y.T @ x / 5)
    assert torch.allclose(rate.weight.detach(), w0 + dw)
    # a spiking layer (engineer A's SpikingLinear): the rule trains its synapse
    snn = SpikingLinear(4, 3, dt=1e-3, tau=5e-3, v_threshold=0.1)
    spikes_in = (torch.rand(20, 2, 4, generator=g) < 0.5).float()
    with torch.no_grad():
        snn.synapse.weight.fill_(0.5)
        spikes_out = snn(spikes_in)
    assert spikes_out.sum() > 0
    syn = rule.bind(snn.synapse)
    before = snn.synapse.weight.detach().clone()
    dw = syn.observe(spikes_in, spikes_out, modulator=torch.ones(20, 2), apply="inplace")
    coincidences = torch.einsum("tbj,tbi->ji", spikes_out, spikes_in) / 40
    assert torch.allclose(dw, 0.1 * coincidences)
    assert torch.allclose(snn.synapse.weight.detach(), before + dw)
    # the digital map after a physical system
    layer = PhysicalLayer(make_system("optical", 8, 8, seed=0), 3)
    feats = layer.features(torch.rand(5, 8, generator=g))
    dw = rule.bind(layer.linear).observe(feats, layer.linear(feats).detach(), modulator=-1.0,
                                         apply="none")
    assert (dw * (layer.linear(feats).detach().T @ feats)).sum() < 0  # anti-Hebbian sign
