"""Specs of the composite layers: a synapse and a neuron population run as one layer, and the
physical-network layers (a physical system with a trained linear readout).

The physical system itself is named, not described: :class:`System` records the registry name
of :func:`neuromorph.hardware_models.make_system`, its sizes, seed and options, and its
non-idealities, which is all it takes to build the same device again (its fixed internal
constants are buffers of the ``state_dict`` beside the spec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuromorph.specs.base import Spec, register
from neuromorph.specs.layers import Affine, Conv
from neuromorph.specs.neurons import LIF, NeuronSpec


def _check_neuron(neuron: Any, owner: str) -> None:
    if not isinstance(neuron, NeuronSpec):
        raise ValueError(f"{owner} needs a neuron spec, got {type(neuron).__name__}")


@register
@dataclass(frozen=True)
class SpikingLinear(Spec):
    """``synapse`` (an :class:`Affine`) on all steps, then the ``neuron`` population."""

    kind = "SpikingLinear"
    synapse: Affine = field(default_factory=Affine)
    neuron: NeuronSpec = field(default_factory=LIF)

    def __post_init__(self) -> None:
        _check_neuron(self.neuron, self.kind)


@register
@dataclass(frozen=True)
class SpikingConv(Spec):
    """``synapse`` (a 2-d :class:`Conv`) on all frames, then the ``neuron`` population."""

    kind = "SpikingConv"
    synapse: Conv = field(default_factory=Conv)
    neuron: NeuronSpec = field(default_factory=LIF)

    def __post_init__(self) -> None:
        _check_neuron(self.neuron, self.kind)


@register
@dataclass(frozen=True)
class RecurrentSpiking(Spec):
    """``I[t] = W_in x[t] + W_rec s[t-1]``, then one ``neuron`` step (LIF or ALIF)."""

    kind = "RecurrentSpiking"
    in_features: int = 1
    hidden: int = 1
    bias: bool = True
    neuron: NeuronSpec = field(default_factory=LIF)

    def __post_init__(self) -> None:
        _check_neuron(self.neuron, self.kind)


@register
@dataclass(frozen=True)
class System(Spec):
    """A physical system by registry ``name`` (``hardware_models.SYSTEMS``), sizes, ``seed``,
    builder ``options`` and ``nonidealities`` (each ``{"type": class name, **arguments}``)."""

    kind = "System"
    name: str = ""
    n_in: int = 1
    n_out: int = 1
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    nonidealities: tuple[dict[str, Any], ...] = ()

    def __hash__(self) -> int:
        return hash((self.name, self.n_in, self.n_out, self.seed))


@register
@dataclass(frozen=True)
class PhysicalLayer(Spec):
    """``h_out = W [P(h); h] + b`` with the physical system ``P`` (PhyLL's layer)."""

    kind = "PhysicalLayer"
    system: System = field(default_factory=System)
    n_out: int = 1
    concat_input: bool = True
    physics: bool = True
    bias: bool = True


@register
@dataclass(frozen=True)
class PhysicalNetwork(Spec):
    """Physical layers in order, with the label embedding of ``n_classes`` at ``scale``."""

    kind = "PhysicalNetwork"
    layers: tuple[PhysicalLayer, ...] = ()
    n_classes: int = 2
    label_scale: float = 1.0


@register
@dataclass(frozen=True)
class SubstrateNetwork(Spec):
    """``logits = W_2 F(W_1 x)`` on the rules matrix's substrate ``substrate`` (registry name of
    ``neuromorph.substrates``), built by its ``build_network`` with these arguments; with a label
    embedding of ``n_classes`` at ``label_scale`` when that is given (forward-forward nets)."""

    kind = "SubstrateNetwork"
    substrate: str = "digital"
    n_in: int = 1
    n_classes: int = 2
    seed: int = 0
    hidden: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    label_scale: float | None = None

    def __hash__(self) -> int:
        return hash((self.substrate, self.n_in, self.n_classes, self.seed, self.hidden))


__all__ = ["PhysicalLayer", "PhysicalNetwork", "RecurrentSpiking", "SpikingConv",
           "SpikingLinear", "SubstrateNetwork", "System"]
