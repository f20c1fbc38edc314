"""Saved models rebuild from model.json + model.pt alone, with the same outputs."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from neuromorph.hardware_models import make_system
from neuromorph.hardware_models.nonidealities import MultiplicativeNoise
from neuromorph.models import ModelFileError, load_model, module_spec, save_model
from neuromorph.networks.physical import LabelEmbedding, PhysicalLayer, PhysicalNetwork
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)


def _trained(module: nn.Module) -> nn.Module:
    """Scale every parameter by a random factor in [1, 1.5) (signs kept, so time constants stay
    positive) so that a rebuilt model without the saved state would differ."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(1.0 + 0.5 * torch.rand(p.shape, generator=g))
    return module


def test_spiking_mlp_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    net = _trained(SpikingSequential(
        SpikingLinear(6, 8, dt=1e-3, tau=5e-3, r=5.0, learn_tau=True, surrogate="atan"),
        RecurrentSpiking(8, 5, neuron="alif", dt=1e-3, r=3.0),
        SpikingLinear(5, 3, neuron="li", dt=1e-3, tau=1e-2, r=10.0)))
    save_model(tmp_path, net, dt=1e-3, info={"classes": ["a", "b", "c"]})
    back, info = load_model(tmp_path)
    x = (torch.rand(20, 4, 6) < 0.4).float()
    assert torch.equal(back(x), net.eval()(x))
    assert info == {"classes": ["a", "b", "c"]}
    assert module_spec(back) == module_spec(net)
    assert json.loads((tmp_path / "model.json").read_text())["dt"] == 1e-3


def test_spiking_conv_round_trip(tmp_path) -> None:
    torch.manual_seed(1)
    net = _trained(SpikingSequential(
        SpikingConv2d(1, 4, 3, padding=1, dt=1e-3, r=20.0), nn.Flatten(),
        SpikingLinear(4 * 6 * 6, 2, dt=1e-3, r=20.0)))
    save_model(tmp_path, net, dt=1e-3)
    back, _ = load_model(tmp_path / "model.pt")
    x = torch.rand(5, 2, 1, 6, 6)
    assert torch.equal(back(x), net(x))


def test_physical_network_round_trip_names_its_system(tmp_path) -> None:
    torch.manual_seed(2)
    system = make_system("optical", 12, 12, seed=4)
    system.nonidealities.append(MultiplicativeNoise(0.0))
    net = _trained(PhysicalNetwork([PhysicalLayer(system, 12), PhysicalLayer(system, 12)],
                                   LabelEmbedding(3, 2.0)))
    save_model(tmp_path, net, dt=None)
    back, _ = load_model(tmp_path / "model.json")
    spec = json.loads((tmp_path / "model.json").read_text())["spec"]
    assert spec["layers"][0]["system"]["name"] == "optical"
    assert spec["layers"][0]["system"]["nonidealities"] == [
        {"type": "MultiplicativeNoise", "std": 0.0}]
    h = torch.rand(7, 12)
    assert torch.allclose(back.layers[1](back.layers[0](h)), net.layers[1](net.layers[0](h)))


def test_bad_files_give_one_line(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not a readable model spec"):
        load_model(tmp_path)
    net = SpikingSequential(SpikingLinear(2, 2, dt=1e-3))
    save_model(tmp_path, net, dt=1e-3)
    (tmp_path / "model.pt").write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="corrupt or not a state dict"):
        load_model(tmp_path)
    save_model(tmp_path, SpikingSequential(SpikingLinear(3, 2, dt=1e-3)), dt=1e-3)
    save_model(tmp_path / ".." / tmp_path.name, net, dt=1e-3, name="other")
    (tmp_path / "model.pt").write_bytes((tmp_path / "other.pt").read_bytes())
    with pytest.raises(ModelFileError, match="does not fit the spec"):
        load_model(tmp_path)


def test_unsupported_module_is_named(tmp_path) -> None:
    with pytest.raises(ValueError, match="GRU has no spec"):
        save_model(tmp_path, nn.GRU(2, 2), dt=None)


def test_a_plain_sequential_stays_plain(tmp_path) -> None:
    """nn.Sequential (per-sample [B, ...]) is not rebuilt as a time-major spiking stack."""
    torch.manual_seed(4)
    mlp = _trained(nn.Sequential(nn.Linear(5, 3), nn.Flatten(), nn.Linear(3, 2)))
    save_model(tmp_path, mlp)
    back, _ = load_model(tmp_path)
    assert type(back) is nn.Sequential
    x = torch.rand(7, 5)
    assert torch.equal(back(x), mlp(x))
