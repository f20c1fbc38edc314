"""Spiking layers and the sequential container against plain compositions of their parts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuromorph.networks.neurons import LIF, CubaLIFState, LIFState, LIState
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)

GEN = torch.Generator().manual_seed(0)


def _grads(out, params):
    return torch.autograd.grad(out.sum() + (out * torch.linspace(0, 1, out.shape[-1])).sum(),
                               params)


@pytest.mark.parametrize("neuron", ["lif", "lif-learn-tau", "if"])
@pytest.mark.parametrize("recompute", [False, True])
@pytest.mark.parametrize("delay", [False, True])
def test_fused_spiking_linear_equals_linear_then_neuron(neuron, recompute, delay):
    torch.manual_seed(1)
    kw = dict(dt=1.0, r=0.4, reset_delay=delay, learn_threshold=True)
    if neuron.startswith("lif"):
        kw.update(dt=1e-3, tau=torch.linspace(4e-3, 12e-3, 7), r=2.5, v_leak=0.05,
                  learn_tau=neuron == "lif-learn-tau")
        neuron = "lif"
    layer = SpikingLinear(5, 7, neuron=neuron, recompute=recompute, **kw)
    x = torch.rand(20, 3, 5, generator=GEN) * 2
    params = [p for p in layer.parameters() if p.requires_grad]
    st = LIFState(torch.rand(3, 7, generator=GEN)) if neuron == "lif" else None
    fused = layer(x, st, return_state=True)  # CPU, no return_v -> fused op
    plain = layer.neuron(layer.synapse(x), st, return_state=True)  # unfused reference path
    assert 0.02 < float(plain.spikes.detach().mean()) < 0.9
    torch.testing.assert_close(fused.spikes, plain.spikes)
    torch.testing.assert_close(fused.state.v, plain.state.v, rtol=1e-5, atol=1e-6)
    for a, b in zip(_grads(fused.spikes, params), _grads(plain.spikes, params), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def _hand_neuron(name: str, cur: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Euler step loops written out from the documented equations (dt = 1 ms, see _NEURONS)."""
    n = cur.shape[-1]
    v, i, a = torch.zeros(cur.shape[1], n), torch.zeros(cur.shape[1], n), torch.zeros(n)
    spikes, vs = [], []
    for c in cur:
        if name == "li":  # tau = 4 ms, r = 2: v <- 0.75 v + 0.25 * 2 I
            v = 0.75 * v + 0.5 * c
            s = v
        elif name == "cuba_lif":  # tau_syn 5 ms, tau_mem 10 ms, r = 6, threshold 0.5
            i = 0.8 * i + 0.2 * c
            h = 0.9 * v + 0.1 * 6.0 * i
            s = (h > 0.5).float()
            v = h - s * 0.5
        else:  # alif: tau 10 ms, tau_adapt 50 ms, beta_adapt 0.5, r = 4, threshold 0.4
            theta = 0.4 + 0.5 * a
            h = 0.9 * v + 0.1 * 4.0 * c
            s = (h > theta).float()
            v = h - s * theta
            a = 0.98 * a + 0.02 * s
        spikes.append(s)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs)


_NEURONS = {
    "li": dict(tau=4e-3, r=2.0),
    "cuba_lif": dict(tau_syn=5e-3, tau_mem=10e-3, r=6.0, w_in=1.0, v_threshold=0.5),
    "alif": dict(tau=10e-3, tau_adapt=50e-3, beta_adapt=0.5, r=4.0, v_threshold=0.4),
}


@pytest.mark.parametrize("name", list(_NEURONS))
def test_spiking_linear_other_neurons_equal_hand_written_equations(name):
    x = torch.rand(30, 2, 4, generator=GEN)
    layer = SpikingLinear(4, 3, neuron=name, dt=1e-3, **_NEURONS[name])
    w, b = torch.rand(3, 4, generator=GEN) * 0.8 - 0.1, torch.tensor([0.1, -0.05, 0.0])
    with torch.no_grad():
        layer.synapse.weight.copy_(w)
        layer.synapse.bias.copy_(b)
    out = layer(x, return_v=True, return_state=True)
    s_want, v_want = _hand_neuron(name, torch.einsum("tbi,oi->tbo", x, w) + b)
    if name != "li":
        assert 0.02 < float(s_want.mean()) < 0.9, "the input must make the neurons spike"
    torch.testing.assert_close(out.spikes, s_want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.v, v_want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.state.v, v_want[-1], rtol=1e-5, atol=1e-6)


def test_spiking_conv2d_equals_conv_then_lif():
    layer = SpikingConv2d(2, 4, 3, padding=1, dt=1e-3, tau=5e-3, r=4.0,
                          neuron_shape=(4, 1, 1), v_threshold=torch.tensor([0.2, 0.4, 0.6, 0.8])
                          .view(4, 1, 1))
    x = torch.rand(5, 2, 2, 6, 6, generator=GEN)
    y = layer(x)
    cur = layer.synapse(x.flatten(0, 1)).unflatten(0, (5, 2))
    manual = LIF(dt=1e-3, tau=5e-3, r=4.0)
    thr = torch.tensor([0.2, 0.4, 0.6, 0.8])
    for c in range(4):  # per-channel thresholds, broadcast over H, W
        manual.v_threshold = thr[c]
        torch.testing.assert_close(y[:, :, c], manual(cur[:, :, c]))
    assert y.shape == (5, 2, 4, 6, 6) and 0 < float(y.detach().mean()) < 1
    with pytest.raises(ValueError, match="at least 5 dims"):
        layer(x[0])


def test_recurrent_layer_equals_manual_loop_and_continues():
    torch.manual_seed(2)
    layer = RecurrentSpiking(3, 4, dt=1e-3, tau=5e-3, r=3.0, v_threshold=0.3)
    with torch.no_grad():
        layer.recurrent.weight.copy_(torch.randn(4, 4) * 0.5)
    x = torch.rand(12, 2, 3, generator=GEN)
    y = layer(x, return_state=True)
    s, v, want = torch.zeros(2, 4), torch.zeros(2, 4), []
    for t in range(12):
        h = 0.8 * v + 0.2 * 3.0 * (layer.input(x[t]) + layer.recurrent(s))
        s = (h > 0.3).float()
        v = h - s * 0.3
        want.append(s)
    torch.testing.assert_close(y.spikes, torch.stack(want))
    first = layer(x[:5], return_state=True)
    rest = layer(x[5:], first.state)
    torch.testing.assert_close(torch.cat([first.spikes, rest]), y.spikes)
    assert 0 < float(y.spikes.detach().mean()) < 1
    with pytest.raises(ValueError, match="single-step"):
        RecurrentSpiking(3, 4, neuron="li", dt=1e-3)


def test_sequential_runs_plain_modules_per_step_and_keeps_state_explicit():
    torch.manual_seed(3)
    net = SpikingSequential(
        SpikingConv2d(1, 2, 3, dt=1e-3, tau=4e-3, r=5.0, v_threshold=0.2),
        nn.MaxPool2d(2),
        nn.Flatten(),
        SpikingLinear(2 * 3 * 3, 5, neuron="cuba_lif", dt=1e-3, r=8.0, v_threshold=0.1),
        SpikingLinear(5, 3, neuron="li", dt=1e-3),
    )
    x = torch.rand(8, 2, 1, 8, 8, generator=GEN)
    y, states = net(x, return_state=True)
    assert y.shape == (8, 2, 3) and len(states) == 5 and states[1] is None
    assert isinstance(states[3], CubaLIFState) and isinstance(states[4], LIState)
    torch.testing.assert_close(net(x), y)  # fresh state every call
    a, st = net(x[:3], return_state=True)
    b = net(x[3:], st)
    torch.testing.assert_close(torch.cat([a, b]), y, rtol=1e-5, atol=1e-6)
    # the plain modules act on every (t, b) frame: 2x2 max pooling written as a reshape + max
    h = net[0](x)  # [8, 2, 2, 6, 6]
    assert 0.02 < float(h.detach().mean()) < 0.9
    pooled = h.reshape(8, 2, 2, 3, 2, 3, 2).amax(dim=(4, 6))
    torch.testing.assert_close(net[4](net[3](pooled.reshape(8, 2, 18))), y)
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    with pytest.raises(ValueError, match="entries for 5 layers"):
        net(x, [None])


def test_cuba_conv_state_shapes():
    layer = SpikingConv2d(1, 2, 3, neuron="cuba_lif", dt=1e-3)
    out = layer(torch.rand(4, 3, 1, 5, 5), return_state=True)
    assert isinstance(out.state, CubaLIFState)
    assert out.state.v.shape == out.state.i.shape == (3, 2, 3, 3)
