"""A chip-agnostic view of a network: one :class:`LayerView` per synapse + neuron population.

``layer_views(model, input_shape=None)`` walks a
:class:`~neuromorph.networks.spiking_layers.SpikingSequential` (or a single spiking layer) and
reports, per layer, what a chip cares about: neurons, fan-in / fan-out, synapse count, weights,
neuron kind and options. :func:`neuromorph.hardware_models.chips.check` and ``quantize`` read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuromorph.networks.neurons import NEURONS, NeuronBase
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)

#: neuron class -> its neuromorph name (inverse of the one neuron registry)
NEURON_NAMES: dict[type, str] = {cls: name for name, cls in NEURONS.items()}


@dataclass
class LayerView:
    """What one layer asks of a chip (``n_out`` neurons fed by ``n_in`` inputs)."""

    name: str
    kind: str  # "dense" | "conv" | "recurrent" | "neuron" | "pool" | "flatten" | "delay" | ...
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    neuron: nn.Module | None = None
    weight: Tensor | None = None  # dense [out, in] (recurrent: the input weights)
    bias: Tensor | None = None
    rec_weight: Tensor | None = None
    module: nn.Module | None = None  # the synapse module (conv geometry)
    fan_in: int = 0
    fan_out: int = 0
    synapses: int = 0
    delay_steps: int = 0

    @property
    def n_in(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return math.prod(self.out_shape) if self.neuron is not None else 0

    @property
    def neuron_kind(self) -> str | None:
        if self.neuron is None:
            return None
        return NEURON_NAMES.get(type(self.neuron), type(self.neuron).__name__)


def _nnz_stats(w: Tensor) -> tuple[int, int, int]:
    nz = w.detach() != 0
    return int(nz.sum(1).max()), int(nz.sum(0).max()), int(nz.sum())


def _probe(module: nn.Module, shape: tuple[int, ...], stateful: bool) -> tuple[int, ...]:
    with torch.no_grad():
        if stateful:
            y = module(torch.zeros(1, 1, *shape))
            return tuple((y if isinstance(y, Tensor) else y[0]).shape[2:])
        return tuple(module(torch.zeros(1, *shape)).shape[1:])


def _dense(name: str, m: SpikingLinear, shape: tuple[int, ...]) -> LayerView:
    w = m.synapse.weight.detach()
    fi, fo, n = _nnz_stats(w)
    return LayerView(name, "dense", shape, (w.shape[0],), m.neuron, w,
                     None if m.synapse.bias is None else m.synapse.bias.detach(),
                     module=m.synapse, fan_in=fi, fan_out=fo, synapses=n)


def _conv(name: str, m: SpikingConv2d, shape: tuple[int, ...]) -> LayerView:
    out = _probe(m, shape, True)
    c = m.synapse
    kh, kw = c.kernel_size
    fan_in = (c.in_channels // c.groups) * kh * kw
    fan_out = c.out_channels // c.groups * math.ceil(kh / c.stride[0]) * math.ceil(kw / c.stride[1])
    return LayerView(name, "conv", shape, out, m.neuron, module=c, fan_in=fan_in,
                     fan_out=fan_out, synapses=c.weight.numel(),
                     bias=None if c.bias is None else c.bias.detach())


def _recurrent(name: str, m: RecurrentSpiking, shape: tuple[int, ...]) -> LayerView:
    w, r = m.input.weight.detach(), m.recurrent.weight.detach()
    fi, fo, n = _nnz_stats(torch.cat([w, r], dim=1))
    return LayerView(name, "recurrent", shape, (w.shape[0],), m.neuron, w,
                     None if m.input.bias is None else m.input.bias.detach(), r, m.input,
                     fi, fo, n)


_KINDS: dict[type, str] = {nn.Flatten: "flatten", nn.AvgPool2d: "pool", nn.MaxPool2d: "pool",
                           nn.Dropout: "identity", nn.Identity: "identity"}


def _other(name: str, m: nn.Module, shape: tuple[int, ...]) -> LayerView:
    if isinstance(m, NeuronBase):
        kind = "delay" if type(m).__name__ == "Delay" else "neuron"
        view = LayerView(name, kind, shape, _probe(m, shape, True),
                         None if kind == "delay" else m)
        if kind == "delay":
            view.delay_steps = int(m.steps.max()) if m.steps.numel() else 0
        return view
    if isinstance(m, nn.Linear):
        fi, fo, n = _nnz_stats(m.weight)
        return LayerView(name, "dense", shape, (m.out_features,), None, m.weight.detach(),
                         None if m.bias is None else m.bias.detach(), module=m, fan_in=fi,
                         fan_out=fo, synapses=n)
    kind = _KINDS.get(type(m), "pool" if "Pool" in type(m).__name__ else type(m).__name__)
    return LayerView(name, kind, shape, _probe(m, shape, False))


_VIEWS = {SpikingLinear: _dense, SpikingConv2d: _conv, RecurrentSpiking: _recurrent}


def layer_views(model: nn.Module, input_shape: tuple[int, ...] | None = None) -> list[LayerView]:
    """One :class:`LayerView` per layer of ``model`` (a ``SpikingSequential`` or one layer).

    A bare neuron after an ``nn.Linear`` is merged into that dense layer's view.
    """
    layers = list(model.layers) if isinstance(model, SpikingSequential) else [model]
    shape = tuple(input_shape) if input_shape is not None else _first_shape(layers[0])
    if shape is None:
        raise ValueError(f"cannot infer the input shape of {type(layers[0]).__name__}; pass "
                         "input_shape=(C, H, W) (per-sample features)")
    views: list[LayerView] = []
    for i, layer in enumerate(layers):
        fn = _VIEWS.get(type(layer), _other)
        view = fn(str(i), layer, shape)
        prev = views[-1] if views else None
        if view.kind == "neuron" and prev is not None and prev.kind == "dense" \
                and prev.neuron is None:
            prev.neuron, prev.out_shape = view.neuron, view.out_shape
        else:
            views.append(view)
        shape = view.out_shape
    return views


def _first_shape(layer: nn.Module) -> tuple[int, ...] | None:
    if isinstance(layer, SpikingLinear):
        return (layer.synapse.in_features,)
    if isinstance(layer, RecurrentSpiking):
        return (layer.input.in_features,)
    if isinstance(layer, nn.Linear):
        return (layer.in_features,)
    if isinstance(layer, NeuronBase) and layer.shape is not None:
        return layer.shape
    return None


__all__ = ["NEURON_NAMES", "LayerView", "layer_views"]
