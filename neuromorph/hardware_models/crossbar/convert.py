"""``to_analog(model)``: the one entry point that puts any torch model on crossbars.

Every ``nn.Linear`` becomes an :class:`AnalogLinear` and every ``nn.Conv2d`` an
:class:`AnalogConv2d` (same weights); other modules are kept. A layer that fuses its synapse
with a neuron kernel (a spiking layer with ``_fusable`` and a neuron ``backend``) would read the
synapse's digital weights directly; its neuron is switched to the unfused ``reference`` backend
(the same dynamics) so the current really comes from the analog layer. Helpers program all analog
layers onto a device and read them at an inference time ``t``, seeded.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch import nn

from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.hardware_models.crossbar.hardware import Compensation
from neuromorph.hardware_models.crossbar.layers import AnalogConv2d, AnalogLinear
from neuromorph.hardware_models.crossbar.tile import TileConfig


def to_analog(model: nn.Module, tile: TileConfig | None = None, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with its ``Linear`` and ``Conv2d`` layers on analog tiles.

    The ``k``-th converted layer (in module order) gets noise seed ``seed + k``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"to_analog needs a torch.nn.Module, got {type(model).__name__}")
    model = copy.deepcopy(model)
    counter = [0]

    def convert(module: nn.Module) -> nn.Module:
        if isinstance(module, nn.Linear):
            counter[0] += 1
            return AnalogLinear.from_linear(module, tile, seed + counter[0] - 1)
        if isinstance(module, nn.Conv2d):
            counter[0] += 1
            return AnalogConv2d(module, tile, seed + counter[0] - 1)
        converted = False
        for name, child in module.named_children():
            new = convert(child)
            converted |= new is not child
            setattr(module, name, new)
        neuron = getattr(module, "neuron", None)
        if converted and hasattr(module, "_fusable") and hasattr(neuron, "backend"):
            neuron.backend = "reference"
        return module

    model = convert(model)
    if counter[0] == 0:
        raise ValueError("to_analog found no nn.Linear or nn.Conv2d layer to convert")
    return model


def analog_layers(model: nn.Module) -> Iterator[AnalogLinear]:
    """Every :class:`AnalogLinear` in ``model`` (convolutions contribute their core)."""
    for module in model.modules():
        if isinstance(module, AnalogLinear):
            yield module


def program_model(model: nn.Module, device: DeviceModel, seed: int) -> None:
    """Program every analog layer of ``model`` onto ``device`` (one seeded pass)."""
    gen = torch.Generator().manual_seed(int(seed))
    layers = list(analog_layers(model))
    if not layers:
        raise ValueError("program_model: the model has no analog layers; call to_analog first")
    for layer in layers:
        layer.program(device, gen)


def read_model_at(model: nn.Module, t: float, seed: int,
                  compensation: Compensation = "none") -> None:
    """Read every programmed layer at ``t`` s with a generator seeded by ``(seed, t)``."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(round(t * 1e3)) % 2**31)
    for layer in analog_layers(model):
        layer.read_at(t, gen, compensation)
        layer.read_noise.manual_seed(int(seed) + 17)


__all__ = ["AnalogConv2d", "AnalogLinear", "TileConfig", "analog_layers", "program_model",
           "read_model_at", "to_analog"]
