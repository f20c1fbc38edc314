"""Mapping, converters, tiles, compensation, to_analog and the crossbar as a physical system."""

import math

import pytest
import torch
from torch import nn

from neuromorph.access import AccessError
from neuromorph.hardware_models import make_system
from neuromorph.hardware_models.crossbar import (
    PCM,
    AnalogLinear,
    CrossbarSystem,
    TileConfig,
    program_model,
    read_model_at,
    to_analog,
)
from neuromorph.hardware_models.crossbar.converters import adc, dac
from neuromorph.hardware_models.crossbar.device import Programmed
from neuromorph.hardware_models.crossbar.mapping import (
    Tiling,
    from_conductance_pair,
    split_sizes,
    to_conductance_pair,
)

IDEAL = TileConfig(dac_bits=0, adc_bits=0, adc_bound=1e6, input_range=100.0)


def test_balanced_tiling_and_pair_round_trip():
    assert split_sizes(10, 4) == [4, 3, 3]
    assert split_sizes(8, 8) == [8]
    tiling = Tiling.of(10, 7, 4, 3)
    assert tiling.shape == (3, 3)
    w = torch.randn(7, 10, dtype=torch.float64)
    pair = to_conductance_pair(w / w.abs().max(), 1e-6, 25e-6)
    assert pair.min() >= 1e-6 and pair.max() <= 25e-6 * (1 + 1e-12)
    assert ((pair[0] > 1e-6) & (pair[1] > 1e-6)).sum() == 0  # one side of each pair is off
    assert torch.allclose(from_conductance_pair(pair, 1e-6, 25e-6) * w.abs().max(), w)
    with pytest.raises(ValueError, match="tile size must be >= 1"):
        split_sizes(4, 0)


def test_converters_round_to_the_stated_grid():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.26, 0.74, 3.0])
    q = dac(x, 1.0, 3)  # 2^3 - 2 = 6 steps over [-1, 1]: grid of 1/3
    assert torch.allclose(q, torch.tensor([-1.0, -2 / 3, 0.0, 1 / 3, 2 / 3, 1.0]))
    y = adc(torch.tensor([0.1, 0.9, 5.0]), 2.0, 4)  # 14 steps over [-2, 2]: grid of 2/7
    assert torch.allclose(y, torch.tensor([0.0, 1.0 * 6 / 7, 2.0]))
    with pytest.raises(ValueError, match="dac_bits must be 0"):
        TileConfig(dac_bits=1)
    with pytest.raises(ValueError, match="ir_drop must be"):
        TileConfig(ir_drop="second_order")


def test_ideal_tiles_equal_the_digital_layer_and_conv():
    torch.manual_seed(0)
    lin = nn.Linear(37, 11)
    analog = AnalogLinear.from_linear(lin, TileConfig(**{**IDEAL.__dict__, "max_inputs": 8,
                                                          "max_outputs": 4}))
    x = torch.randn(5, 37)
    assert torch.allclose(analog(x), lin(x), atol=1e-5)
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1)
    a_conv = to_analog(nn.Sequential(conv), IDEAL)
    xi = torch.randn(2, 3, 9, 9)
    assert torch.allclose(a_conv(xi), conv(xi), atol=1e-5)


class NoiselessDrift:
    """A test device: perfect writes, every device drifts by the same factor (t+1)^-0.1."""

    name, g_max = "uniform-drift", 25e-6

    def program(self, g_target, generator):
        return Programmed(g_target, g_target.clone())

    def read(self, state, t, generator):
        return state.g_prog * (t + 1.0) ** -0.1


def test_global_compensation_undoes_uniform_drift_exactly():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(20, 6))
    analog = to_analog(model, IDEAL)
    program_model(analog, NoiselessDrift(), seed=0)
    x = torch.randn(4, 20)
    read_model_at(analog, 1e6, seed=0, compensation="none")
    drifted = analog(x) - model[0].bias
    expected = (model(x) - model[0].bias) * (1e6 + 1.0) ** -0.1
    assert torch.allclose(drifted, expected, atol=1e-5)
    for comp in ("programmed", "ideal"):
        read_model_at(analog, 1e6, seed=0, compensation=comp)
        assert torch.allclose(analog(x), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="unknown compensation"):
        read_model_at(analog, 1.0, seed=0, compensation="global")


def test_hardware_reads_are_seeded_by_seed_and_time():
    model = to_analog(nn.Sequential(nn.Linear(16, 4)), TileConfig())
    program_model(model, PCM(), seed=3)
    x = torch.rand(8, 16)
    outs = []
    for t, seed in [(3600.0, 0), (3600.0, 0), (7200.0, 0), (3600.0, 1)]:
        read_model_at(model, t, seed=seed, compensation="programmed")
        outs.append(model(x))
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2]) and not torch.equal(outs[0], outs[3])


def test_hwa_noise_injection_only_while_training():
    layer = AnalogLinear(32, 8, tile=TileConfig(weight_noise=0.1), seed=0)
    x = torch.rand(64, 32)
    layer.train()
    a, b = layer(x), layer(x)
    assert not torch.equal(a, b)
    a.sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    layer.eval()
    assert torch.equal(layer(x), layer(x))


def test_to_analog_errors_and_program_before_read():
    with pytest.raises(ValueError, match="no nn.Linear or nn.Conv2d"):
        to_analog(nn.ReLU())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        to_analog(lambda x: x)
    layer = AnalogLinear(4, 2)
    with pytest.raises(RuntimeError, match="program the layer first"):
        layer.read_at(1.0, torch.Generator())
    with pytest.raises(ValueError, match="groups=1"):
        to_analog(nn.Conv2d(4, 4, 3, groups=2))


def test_crossbar_system_contract():
    system = make_system("crossbar-pcm", 16, 8, seed=2)
    assert isinstance(system, CrossbarSystem)
    x = torch.rand(5, 16, requires_grad=True)
    y = system(x)
    assert system.queries == 5 and system.calls == 1
    with pytest.raises(AccessError, match="forward-only"):
        y.sum().backward()
    twin = system.twin()
    assert torch.allclose(twin(x.detach()), x.detach() @ system.weight.t())
    y1 = system.at(86400.0)(x.detach())
    y2 = make_system("crossbar-pcm", 16, 8, seed=2).at(86400.0)(x.detach())
    assert torch.equal(y1, y2)  # the same seed and time, the same hardware
    with pytest.raises(ValueError, match="unknown compensation"):
        system.at(1.0, compensation="bogus")
    with pytest.raises(ValueError, match=r"\[B, 16\]"):
        system(torch.rand(3, 5))


def test_system_drift_is_visible_and_compensated():
    big = TileConfig(dac_bits=0, adc_bits=0, adc_bound=1e6)
    kw = dict(tile=big, prog_noise_scale=0.0, read_noise_scale=0.0)
    x = torch.rand(64, 32)

    def errors(**params) -> tuple[float, float]:
        raw = CrossbarSystem(32, 8, seed=0, compensation="none", **kw, **params).at(3.15e7)
        comp = CrossbarSystem(32, 8, seed=0, compensation="programmed", **kw, **params)
        ideal = x @ raw.weight.t()
        return (float((raw(x) - ideal).norm() / ideal.norm()),
                float((comp.at(3.15e7)(x) - ideal).norm() / ideal.norm()))

    # one drift exponent for every device (nu = 0.06): compensation is exact
    err_raw, err_comp = errors(drift_mu=(0.0, 0.06, 0.06, 0.06), drift_sigma=(0.0, 0.0, 0.0, 0.0))
    assert err_raw == pytest.approx(1 - (1 + 3.15e7 / 20) ** -0.06, rel=1e-4)
    assert err_comp < 1e-5
    # the published spread of nu: compensation removes the mean drift, not the spread
    err_raw, err_comp = errors()
    assert err_raw > 0.3 and err_comp < err_raw
    assert math.isfinite(err_comp)


def test_to_analog_spiking_layer_uses_the_analog_synapse():
    from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential

    torch.manual_seed(3)
    net = SpikingSequential(SpikingLinear(12, 6, tau=20e-3, r=20.0, dt=1e-3),
                            SpikingLinear(6, 3, neuron="li", tau=20e-3, r=20.0, dt=1e-3))
    x = (torch.rand(30, 4, 12, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    ideal = to_analog(net, IDEAL)
    assert torch.allclose(ideal(x), net(x), atol=1e-5)  # ideal tiles: the same network
    noisy = to_analog(net, TileConfig(adc_bits=4, adc_bound=2.0))
    assert not torch.allclose(noisy(x), net(x), atol=1e-3)
    # the fused LIF layer alone: its spikes must come from the (coarse) analog synapse
    spikes_digital, spikes_analog = net.layers[0](x), noisy.layers[0](x)
    assert noisy.layers[0].neuron.backend == "reference"
    assert not torch.equal(spikes_digital, spikes_analog)
