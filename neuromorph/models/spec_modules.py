"""Modules <-> specs: the one table that says which torch module runs which spec.

:func:`module_spec` describes a built network as a spec (with the current values of trained
neuron parameters); :func:`build_module` builds the network a spec describes, for a step ``dt``
(seconds). Weights are not in the spec: load them with ``module.load_state_dict(state)``. With
both, a saved model is rebuilt without the code that trained it
(:mod:`neuromorph.models.model_file`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import torch
from torch import Tensor, nn

from neuromorph import specs
from neuromorph.hardware_models.crossbar import AnalogLinear, TileConfig
from neuromorph.hardware_models.system_spec import NoSpecError, system_from_spec, system_spec
from neuromorph.networks import neurons
from neuromorph.networks.competitive import CompetitiveLayer
from neuromorph.networks.physical import LabelEmbedding, PhysicalLayer, PhysicalNetwork
from neuromorph.networks.sequence_models import SequenceModel
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)
from neuromorph.networks.stack import StackNet
from neuromorph.substrates import build_network


def _neuron_classes() -> dict[type[specs.Spec], type[neurons.NeuronBase]]:
    """spec class -> the neuron module that runs it (every NeuronBase subclass with a SPEC)."""
    found: dict[type[specs.Spec], type[neurons.NeuronBase]] = {}
    todo = list(neurons.NeuronBase.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.SPEC is not None:
            found.setdefault(cls.SPEC, cls)
    return found


def _neuron(spec: specs.NeuronSpec, dt: float) -> neurons.NeuronBase:
    cls = _neuron_classes().get(type(spec))
    if cls is None:
        raise NoSpecError(f"no dense neuron module runs {spec.kind} specs")
    return cls.from_spec(spec, dt=dt)


def _affine(m: nn.Linear) -> specs.Affine:
    return specs.Affine(m.in_features, m.out_features, bias=m.bias is not None)


def _conv(m: nn.Conv2d) -> specs.Conv:
    if isinstance(m.padding, str):
        raise NoSpecError(f"Conv2d padding={m.padding!r} has no spec; give explicit ints")
    return specs.Conv(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                      m.dilation, m.groups, m.bias is not None)


# -- module -> spec ---------------------------------------------------------------------------
#: activation module class <-> the name of its function in specs.Activation
ACTIVATION_MODULES: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh,
                                                   "sigmoid": nn.Sigmoid}

def _analog_linear(m: AnalogLinear) -> specs.AnalogLinear:
    return specs.AnalogLinear(specs.Affine(m.in_features, m.out_features, m.bias is not None),
                              asdict(m.tile), m.seed)


def _analog_linear_build(s: specs.AnalogLinear, dt: float) -> AnalogLinear:
    try:
        tile = TileConfig(**s.tile)
    except TypeError as err:  # an unknown field name
        raise NoSpecError(f"AnalogLinear spec tile {sorted(s.tile)}: {err}; give the fields "
                          "of neuromorph.hardware_models.crossbar.TileConfig") from None
    a = s.synapse
    return AnalogLinear(a.in_features, a.out_features, a.bias, tile, s.seed)


def _physical_layer(m: PhysicalLayer) -> specs.PhysicalLayer:
    return specs.PhysicalLayer(system_spec(m.system), m.n_out, m.concat_input, m.physics_on,
                               m.linear.bias is not None)


def _substrate_net(m: StackNet) -> specs.SubstrateNetwork:
    made_as = getattr(m, "made_as", None)
    if made_as is None:
        raise NoSpecError("this StackNet was not built by neuromorph.substrates.build_network, so "
                          "it has no spec; build it by substrate name")
    emb = m.embedding
    if emb is not None and not isinstance(emb, LabelEmbedding):
        raise NoSpecError(f"StackNet embedding {type(emb).__name__} has no spec")
    return specs.SubstrateNetwork(**made_as,
                                  label_scale=None if emb is None else float(emb.scale))


def _substrate_build(s: specs.SubstrateNetwork, dt: float) -> StackNet:
    emb = None if s.label_scale is None else LabelEmbedding(s.n_classes, s.label_scale)
    return build_network(s.substrate, s.n_in, s.n_classes, seed=s.seed, hidden=s.hidden,
                         embedding=emb, **dict(s.options))


#: SequenceModel block name <-> its spec class (one spec kind per block family)
SEQUENCE_SPECS: dict[str, type[specs.Spec]] = {"rwkv": specs.RWKVSequenceModel,
                                               "lmu": specs.LMUSequenceModel}


def _sequence_spec(m: SequenceModel) -> specs.Spec:
    return SEQUENCE_SPECS[m.kind](**m.made_as)


def _sequence_build(s: specs.Spec, dt: float) -> SequenceModel:
    kind = next(k for k, cls in SEQUENCE_SPECS.items() if isinstance(s, cls))
    return SequenceModel(kind, **{f.name: getattr(s, f.name) for f in fields(s)})


TO_SPEC: dict[type[nn.Module], Callable[[Any], specs.Spec]] = {
    SequenceModel: _sequence_spec,
    AnalogLinear: _analog_linear,
    **{cls: (lambda m, name=name: specs.Activation(name))
       for name, cls in ACTIVATION_MODULES.items()},
    StackNet: _substrate_net,
    CompetitiveLayer: lambda m: m.spec,
    SpikingLinear: lambda m: specs.SpikingLinear(
        _analog_linear(m.synapse) if isinstance(m.synapse, AnalogLinear) else _affine(m.synapse),
        module_spec(m.neuron)),
    SpikingConv2d: lambda m: specs.SpikingConv(_conv(m.synapse), module_spec(m.neuron)),
    RecurrentSpiking: lambda m: specs.RecurrentSpiking(
        m.input.in_features, m.input.out_features, m.input.bias is not None,
        module_spec(m.neuron)),
    SpikingSequential: lambda m: specs.Sequential(tuple(module_spec(x) for x in m.layers)),
    nn.Sequential: lambda m: specs.Sequential(tuple(module_spec(x) for x in m), time_major=False),
    nn.Linear: _affine,
    nn.Conv2d: _conv,
    nn.Flatten: lambda m: specs.Flatten(m.start_dim - 1 if m.start_dim > 0 else m.start_dim,
                                        m.end_dim),
    PhysicalLayer: _physical_layer,
    PhysicalNetwork: lambda m: specs.PhysicalNetwork(
        tuple(_physical_layer(x) for x in m.layers), m.embedding.n_classes,
        float(m.embedding.scale)),
}


def module_spec(module: nn.Module) -> specs.Spec:
    """The spec of ``module`` (neurons with their current parameter values)."""
    if isinstance(module, neurons.NeuronBase):
        return module.spec
    convert = TO_SPEC.get(type(module))
    if convert is None:
        known = sorted(c.__name__ for c in (*TO_SPEC, neurons.NeuronBase))
        raise NoSpecError(f"{type(module).__name__} has no spec; models made of {known} can be "
                          "saved and rebuilt")
    return convert(module)


# -- spec -> module ---------------------------------------------------------------------------
def _spiking_linear(s: specs.SpikingLinear, dt: float) -> SpikingLinear:
    a = s.synapse.synapse if isinstance(s.synapse, specs.AnalogLinear) else s.synapse
    m = SpikingLinear(a.in_features, a.out_features, bias=a.bias, dt=dt)
    m.neuron = _neuron(s.neuron, dt)
    if isinstance(s.synapse, specs.AnalogLinear):  # as to_analog: the current comes from the
        m.synapse = _analog_linear_build(s.synapse, dt)  # tiles, so no fused digital kernel
        m.neuron.backend = "reference"
    return m


def _spiking_conv(s: specs.SpikingConv, dt: float) -> SpikingConv2d:
    c = s.synapse
    m = SpikingConv2d(c.in_channels, c.out_channels, c.kernel_size, stride=c.stride,
                      padding=c.padding, bias=c.bias, dt=dt)
    m.synapse = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                          c.dilation, c.groups, c.bias)
    m.neuron = _neuron(s.neuron, dt)
    return m


def _recurrent(s: specs.RecurrentSpiking, dt: float) -> RecurrentSpiking:
    m = RecurrentSpiking(s.in_features, s.hidden, bias=s.bias, dt=dt)
    m.neuron = _neuron(s.neuron, dt)
    return m


def _physical(s: specs.PhysicalLayer, dt: float) -> PhysicalLayer:
    return PhysicalLayer(system_from_spec(s.system), s.n_out, s.concat_input, s.physics, s.bias)


def _flatten(s: specs.Flatten, dt: float) -> nn.Flatten:
    return nn.Flatten(s.start_dim + 1 if s.start_dim >= 0 else s.start_dim, s.end_dim)


BUILD: dict[type[specs.Spec], Callable[[Any, float], nn.Module]] = {
    **{cls: _sequence_build for cls in SEQUENCE_SPECS.values()},
    specs.AnalogLinear: _analog_linear_build,
    specs.Activation: lambda s, dt: ACTIVATION_MODULES[s.function](),
    specs.SubstrateNetwork: _substrate_build,
    specs.CompetitiveLayer: lambda s, dt: CompetitiveLayer.from_spec(s, dt=dt),
    specs.SpikingLinear: _spiking_linear,
    specs.SpikingConv: _spiking_conv,
    specs.RecurrentSpiking: _recurrent,
    specs.Sequential: lambda s, dt: (SpikingSequential if s.time_major else nn.Sequential)(
        *(build_module(x, dt) for x in s.layers)),
    specs.Affine: lambda s, dt: nn.Linear(s.in_features, s.out_features, bias=s.bias),
    specs.Flatten: _flatten,
    specs.PhysicalLayer: _physical,
    specs.PhysicalNetwork: lambda s, dt: PhysicalNetwork(
        [_physical(x, dt) for x in s.layers], LabelEmbedding(s.n_classes, s.label_scale)),
}


def build_module(spec: specs.Spec, dt: float) -> nn.Module:
    """The (untrained) module that runs ``spec`` with step ``dt`` (s)."""
    if isinstance(spec, specs.NeuronSpec):
        return _neuron(spec, dt)
    make = BUILD.get(type(spec))
    if make is None:
        raise NoSpecError(f"no module runs {spec.kind} specs; buildable: "
                          f"{sorted(c.kind for c in BUILD)} and the neuron specs")
    return make(spec, dt)


def linear_map(weight: Tensor, bias: Tensor | None = None) -> nn.Linear:
    """A learned matrix ``W [out, in]`` (and bias ``b [out]``) as the ``nn.Linear``
    ``y = W x + b`` (an :class:`~neuromorph.specs.Affine` spec when saved), e.g. the weights a
    local rule (Oja, BCM, R-STDP) trained. Parameters keep ``weight``'s dtype here; a model
    rebuilt from its spec has torch's default dtype (float32 unless set)."""
    with torch.no_grad():
        lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                        dtype=weight.dtype)
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


__all__ = ["BUILD", "TO_SPEC", "build_module", "linear_map", "module_spec"]
