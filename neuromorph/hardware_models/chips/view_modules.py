"""Layer views of a dense network: each layer's neuron ``.spec``, synapse spec and weights.

Walks a :class:`~neuromorph.networks.spiking_layers.SpikingSequential` (or one layer) and hands
each layer to :func:`~neuromorph.hardware_models.chips.view.make_view`: ``SpikingLinear`` and
``RecurrentSpiking`` as an ``Affine`` synapse (recurrent weights beside the input weights),
``SpikingConv2d`` as a ``Conv`` synapse, a bare neuron after an ``nn.Linear`` merged into that
dense layer, shape-only layers (flatten, pooling, delays) as views without neurons.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuromorph import specs
from neuromorph.hardware_models.chips.view import LayerView, make_view
from neuromorph.networks.neurons import NeuronBase
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)

Shape = tuple[int, ...]


def _probe(module: nn.Module, shape: Shape, stateful: bool) -> Shape:
    with torch.no_grad():
        if stateful:
            y = module(torch.zeros(1, 1, *shape))
            return tuple((y if isinstance(y, Tensor) else y[0]).shape[2:])
        return tuple(module(torch.zeros(1, *shape)).shape[1:])


def _bias(m: nn.Module) -> Tensor | None:
    return None if getattr(m, "bias", None) is None else m.bias.detach()


def _affine(m: nn.Linear) -> specs.Affine:
    return specs.Affine(m.in_features, m.out_features, bias=m.bias is not None)


def _neuron_spec(m: NeuronBase, name: str) -> specs.NeuronSpec:
    try:
        return m.spec
    except TypeError as err:
        raise ValueError(f"layer {name}: {err}; chips read neurons through their spec "
                         "(LIF, CubaLIF, IF, LI, ALIF, ...)") from None


def _dense(name: str, m: SpikingLinear, shape: Shape, first: bool) -> LayerView:
    return make_view(name, _neuron_spec(m.neuron, name), _affine(m.synapse), in_shape=shape,
                     out_shape=(m.synapse.out_features,), dt=m.neuron.dt,
                     weight=m.synapse.weight, bias=_bias(m.synapse), from_input=first)


def _conv(name: str, m: SpikingConv2d, shape: Shape, first: bool) -> LayerView:
    c = m.synapse
    if isinstance(c.padding, str):
        raise ValueError(f"layer {name}: Conv2d padding={c.padding!r} has no spec; give ints")
    conv = specs.Conv(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                      c.dilation, c.groups, c.bias is not None)
    return make_view(name, _neuron_spec(m.neuron, name), conv, in_shape=shape,
                     out_shape=_probe(m, shape, True), dt=m.neuron.dt, weight=c.weight,
                     bias=_bias(c), from_input=first)


def _recurrent(name: str, m: RecurrentSpiking, shape: Shape, first: bool) -> LayerView:
    return make_view(name, _neuron_spec(m.neuron, name), _affine(m.input), in_shape=shape,
                     out_shape=(m.input.out_features,), dt=m.neuron.dt, weight=m.input.weight,
                     bias=_bias(m.input), rec_weight=m.recurrent.weight, from_input=first)


_KINDS: dict[type, str] = {nn.Flatten: "flatten", nn.AvgPool2d: "pool", nn.MaxPool2d: "pool",
                           nn.Dropout: "identity", nn.Identity: "identity"}


def _other(name: str, m: nn.Module, shape: Shape, first: bool) -> LayerView:
    if type(m).__name__ == "Delay" and hasattr(m, "steps"):
        steps = int(m.steps.max()) if m.steps.numel() else 0
        return make_view(name, None, None, in_shape=shape, out_shape=_probe(m, shape, True),
                         kind="delay", delay_steps=steps, from_input=first)
    if isinstance(m, NeuronBase):
        return make_view(name, _neuron_spec(m, name), None, in_shape=shape,
                         out_shape=_probe(m, shape, True), dt=m.dt, from_input=first)
    if isinstance(m, nn.Linear):
        return make_view(name, None, _affine(m), in_shape=shape, out_shape=(m.out_features,),
                         weight=m.weight, bias=_bias(m), from_input=first)
    kind = _KINDS.get(type(m), "pool" if "Pool" in type(m).__name__ else type(m).__name__)
    return make_view(name, None, None, in_shape=shape, out_shape=_probe(m, shape, False),
                     kind=kind, from_input=first)


_VIEWS = {SpikingLinear: _dense, SpikingConv2d: _conv, RecurrentSpiking: _recurrent}


def module_views(model: nn.Module, input_shape: Shape | None = None) -> list[LayerView]:
    """One view per layer of a dense ``model`` (a ``SpikingSequential`` or one layer).

    A bare neuron after an ``nn.Linear`` is merged into that dense layer's view.
    """
    layers = list(model.layers) if isinstance(model, SpikingSequential) else [model]
    shape = tuple(input_shape) if input_shape is not None else _first_shape(layers[0])
    if shape is None:
        raise ValueError(f"cannot infer the input shape of {type(layers[0]).__name__}; pass "
                         "input_shape=(C, H, W) (per-sample features)")
    views: list[LayerView] = []
    for i, layer in enumerate(layers):
        first = not any(v.neuron is not None for v in views)  # fed by the network input
        view = _VIEWS.get(type(layer), _other)(str(i), layer, shape, first)
        prev = views[-1] if views else None
        if view.kind == "neuron" and prev is not None and prev.kind == "dense" \
                and prev.neuron is None:
            prev.neuron, prev.out_shape, prev.dt = view.neuron, view.out_shape, view.dt
        else:
            views.append(view)
        shape = view.out_shape
    return views


def _first_shape(layer: nn.Module) -> Shape | None:
    if isinstance(layer, SpikingLinear):
        return (layer.synapse.in_features,)
    if isinstance(layer, RecurrentSpiking):
        return (layer.input.in_features,)
    if isinstance(layer, nn.Linear):
        return (layer.in_features,)
    if isinstance(layer, NeuronBase) and layer.shape is not None:
        return layer.shape
    return None


__all__ = ["module_views"]
