"""Analog crossbar MLPs (``to_analog`` of ``Linear, ReLU, Linear``) saved as spec + state and
rebuilt without the code that made them: same twin outputs, same programmed-and-drifted
outputs, the tile hardware and noise seeds recorded; refusals in one line."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from neuromorph import specs
from neuromorph.cli import main
from neuromorph.hardware_models.crossbar import (
    TileConfig,
    analog_layers,
    make_device,
    program_model,
    read_model_at,
    to_analog,
)
from neuromorph.hardware_models.system_spec import NoSpecError
from neuromorph.models import build_module, load_model, module_spec, save_model
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential

TILE = TileConfig(max_inputs=8, max_outputs=4, dac_bits=6, adc_bits=7, adc_bound=5.0,
                  output_noise=0.01, v_read=0.3)


def _analog_mlp(seed: int = 7, tile: TileConfig = TILE) -> nn.Module:
    torch.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 3), nn.Tanh())
    net = to_analog(mlp, tile, seed)
    with torch.no_grad():
        for k, layer in enumerate(analog_layers(net)):
            layer.input_range.fill_(1.5 + k)  # a learned DAC range is state, not spec
    return net.eval()


def test_spec_records_tiles_seeds_and_activations():
    spec = module_spec(_analog_mlp())
    assert isinstance(spec, specs.Sequential) and not spec.time_major
    first, act, second, last = spec.layers
    assert first.synapse == specs.Affine(12, 6) and second.synapse == specs.Affine(6, 3)
    assert (first.seed, second.seed) == (7, 8)  # to_analog: layer k gets seed + k
    assert TileConfig(**first.tile) == TILE and TileConfig(**second.tile) == TILE
    assert (act, last) == (specs.Activation("relu"), specs.Activation("tanh"))
    assert specs.spec_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert hash(spec) == hash(specs.spec_from_dict(spec.to_dict()))


def test_reloaded_model_computes_the_same_twin_and_hardware(tmp_path):
    net = _analog_mlp()
    save_model(tmp_path, net)
    again, _ = load_model(tmp_path)
    x = torch.rand(40, 12) * 3
    with torch.no_grad():
        assert torch.equal(again(x), net(x))
        for model in (net, again):  # programmed on PCM, read one day later, same seeds
            program_model(model, make_device("pcm"), seed=3)
            read_model_at(model, 86400.0, seed=3, compensation="programmed")
        drifted = net(x)
        assert torch.equal(again(x), drifted) and not torch.equal(drifted, _analog_mlp()(x))


def test_ideal_converters_compute_the_affine_map(tmp_path):
    """With ideal DAC/ADC (0 bits) and no noise the rebuilt twin is ``relu(x W1^T + b1)`` ..."""
    net = _analog_mlp(seed=2, tile=TileConfig(max_inputs=5, max_outputs=4, dac_bits=0,
                                              adc_bits=0, adc_bound=1e6))
    save_model(tmp_path, net)
    again, _ = load_model(tmp_path)
    first, second = analog_layers(net)
    x = torch.rand(10, 12) * 1.4  # inside the DAC range of the first layer (1.5)
    h = torch.relu(torch.nn.functional.linear(x, first.weight, first.bias))
    want = torch.tanh(torch.nn.functional.linear(h, second.weight, second.bias))
    with torch.no_grad():
        torch.testing.assert_close(again(x), want, rtol=1e-5, atol=1e-6)


def test_refusals_are_one_line_naming_the_fix():
    with pytest.raises(ValueError, match="Activation function 'gelu' has no spec; use one of"):
        specs.Activation("gelu")
    with pytest.raises(NoSpecError, match="GELU has no spec"):
        module_spec(nn.Sequential(nn.Linear(2, 2), nn.GELU()))
    bad = specs.AnalogLinear(specs.Affine(2, 2), {"dac_bitz": 4})
    with pytest.raises(NoSpecError, match=r"tile \['dac_bitz'\].*TileConfig"):
        build_module(bad, 1.0)
    with pytest.raises(ValueError, match=r"tile fields \['adc_bound'\] are not plain"):
        specs.AnalogLinear(specs.Affine(2, 2), {"adc_bound": float("nan")})
    with pytest.raises(ValueError, match="TileConfig: adc_bound must be > 0"):
        build_module(specs.AnalogLinear(specs.Affine(2, 2), {"adc_bound": -1.0}), 1.0)


def test_export_refuses_it_in_one_line_naming_load_model(tmp_path, capsys):
    save_model(tmp_path, _analog_mlp())
    assert main(["export", str(tmp_path), "--to", "nir", str(tmp_path / "net.nir")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "holds a AnalogLinear (analog crossbar tiles" in err
    assert "neuromorph.models.load_model" in err and not (tmp_path / "net.nir").exists()


def test_spiking_layers_on_tiles_reload_as_analog(tmp_path):
    """A spiking network on crossbars keeps its analog synapses (not a digital Affine) and runs
    them through the unfused neuron step, as ``to_analog`` does."""
    torch.manual_seed(0)
    net = to_analog(SpikingSequential(SpikingLinear(12, 9, dt=1e-3, tau=5e-3, r=5.0),
                                      SpikingLinear(9, 3, neuron="li", dt=1e-3)), TILE, 4).eval()
    save_model(tmp_path, net)
    again, _ = load_model(tmp_path)
    first = module_spec(again).layers[0]
    assert isinstance(first.synapse, specs.AnalogLinear) and first.synapse.seed == 4
    assert again.layers[0].neuron.backend == "reference"
    x = (torch.rand(15, 5, 12) < 0.4).float()
    with torch.no_grad():
        assert torch.equal(again(x), net(x))
    with pytest.raises(ValueError, match="needs an Affine or AnalogLinear synapse spec"):
        specs.SpikingLinear(specs.Conv())


def test_export_of_a_spiking_network_on_tiles_names_load_model(tmp_path, capsys):
    net = to_analog(SpikingSequential(SpikingLinear(4, 3, dt=1e-3)), TILE, 1)
    save_model(tmp_path, net)
    assert main(["export", str(tmp_path), "--to", "nir", str(tmp_path / "net.nir")]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds a AnalogLinear" in err and "neuromorph.models.load_model" in err
