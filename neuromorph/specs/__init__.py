"""Specs: the model of a network as validated, frozen, serialisable data.

One vocabulary shared by every consumer: the dense modules (:mod:`neuromorph.networks`), the
event engine (:mod:`neuromorph.sim`), NIR import/export (:mod:`neuromorph.nir`, spec <-> node
1:1), the chip checks and the run directories (``model.json`` beside ``model.pt``). Neuron specs
use NIR's names and continuous-time SI parameters; :class:`SpikeOptions` is the one
representation of the spike and reset options. Depends only on :mod:`neuromorph.primitives`.
"""

from neuromorph.specs.analog import ACTIVATIONS, Activation, AnalogLinear
from neuromorph.specs.base import SPECS, Param, Spec, as_param, as_shape, register, spec_from_dict
from neuromorph.specs.containers import (
    CompetitiveLayer,
    PhysicalLayer,
    PhysicalNetwork,
    RecurrentSpiking,
    SpikingConv,
    SpikingLinear,
    SubstrateNetwork,
    System,
)
from neuromorph.specs.graph import Graph, Sequential
from neuromorph.specs.layers import (
    Affine,
    Channel,
    Conv,
    Delay,
    Flatten,
    Input,
    Output,
    Pool2d,
    Scale,
    Threshold,
)
from neuromorph.specs.neurons import (
    ALIF,
    IF,
    LI,
    LIF,
    NEURON_SPECS,
    CondLIF,
    CubaLI,
    CubaLIF,
    Integrator,
    NeuronSpec,
)
from neuromorph.specs.options import RESET_KINDS, SpikeOptions, check_reset_kind
from neuromorph.specs.sequence import LMUSequenceModel, RWKVSequenceModel

__all__ = [
    "ACTIVATIONS", "ALIF", "IF", "LI", "LIF", "NEURON_SPECS", "RESET_KINDS", "SPECS", "Activation",
    "Affine", "AnalogLinear", "Channel",
    "CompetitiveLayer", "CondLIF", "LMUSequenceModel", "RWKVSequenceModel",
    "Conv", "CubaLI", "CubaLIF", "Delay", "Flatten", "Graph", "Input", "Integrator",
    "NeuronSpec", "Output", "Param", "PhysicalLayer", "PhysicalNetwork", "Pool2d",
    "RecurrentSpiking", "Scale", "Sequential", "Spec", "SpikeOptions", "SpikingConv",
    "SpikingLinear", "SubstrateNetwork", "System",
    "Threshold", "as_param", "as_shape", "check_reset_kind", "register", "spec_from_dict",
]
