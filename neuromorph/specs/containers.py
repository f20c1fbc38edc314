"""Specs of the composite layers: a synapse and a neuron population run as one layer (and Diehl
& Cook's competitive layer of conductance-based neurons), and the physical-network layers (a
physical system with a trained linear readout).

The physical system itself is named, not described: :class:`System` records the registry name
of :func:`neuromorph.hardware_models.make_system`, its sizes, seed and options, and its
non-idealities, which is all it takes to build the same device again (its fixed internal
constants are buffers of the ``state_dict`` beside the spec).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from neuromorph.specs.analog import AnalogLinear
from neuromorph.specs.base import Spec, register
from neuromorph.specs.layers import Affine, Conv
from neuromorph.specs.neurons import LIF, CondLIF, NeuronSpec


def _check_neuron(neuron: Any, owner: str) -> None:
    if not isinstance(neuron, NeuronSpec):
        raise ValueError(f"{owner} needs a neuron spec, got {type(neuron).__name__}")


@register
@dataclass(frozen=True)
class SpikingLinear(Spec):
    """``synapse`` (an :class:`Affine`, or an :class:`~neuromorph.specs.analog.AnalogLinear`
    on crossbar tiles) on all steps, then the ``neuron`` population."""

    kind = "SpikingLinear"
    synapse: Affine | AnalogLinear = field(default_factory=Affine)
    neuron: NeuronSpec = field(default_factory=LIF)

    def __post_init__(self) -> None:
        _check_neuron(self.neuron, self.kind)
        if not isinstance(self.synapse, (Affine, AnalogLinear)):
            raise ValueError(f"{self.kind} needs an Affine or AnalogLinear synapse spec, got "
                             f"{type(self.synapse).__name__}")


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
    no_nir_node = 'a physical system'
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
    no_nir_node = 'a physical system'
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
    no_nir_node = 'physical systems'
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
    no_nir_node = "a substrate's fixed transform"
    substrate: str = "digital"
    n_in: int = 1
    n_classes: int = 2
    seed: int = 0
    hidden: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    label_scale: float | None = None

    def __hash__(self) -> int:
        return hash((self.substrate, self.n_in, self.n_classes, self.seed, self.hidden))


@register
@dataclass(frozen=True)
class CompetitiveLayer(Spec):
    """Diehl & Cook's (2015) competitive layer: ``n_out`` conductance-based neurons (``neuron``,
    a :class:`~neuromorph.specs.neurons.CondLIF`) on ``n_in`` Poisson inputs, with adaptive
    thresholds and lateral inhibition, whose labelled neurons vote for ``n_classes`` classes.

    Per step of ``dt`` (s), with input spikes ``s_in`` and the layer's spikes ``s``::

        x_e[t] = W s_in[t]                                  (W [n_out, n_in], leak units)
        x_i[t]_j = w_inh * sum_{k != j} s[t-1]_k             (every *other* neuron inhibits)
        s[t] = CondLIF step with threshold v_threshold + theta  (theta [n_out], V)

    An image of intensities in [0, 1] is shown for ``n_steps`` steps as Bernoulli trains of
    ``max_rate`` Hz per unit intensity (at most one spike per step); while it evokes fewer than
    ``min_spikes`` spikes it is shown again, up to ``max_retries`` times, ``rate_step`` Hz
    faster each time. A neuron labelled ``k`` votes for class ``k``; an image goes to the class
    whose neurons have the highest mean spike count. ``W``, ``theta`` and the labels are the
    trained state, not part of the spec.
    """

    kind = "CompetitiveLayer"
    no_nir_node = ('conductance-based neurons with adaptive thresholds, lateral '
                   'inhibition and labelled votes')
    n_in: int = 1
    n_out: int = 1
    neuron: CondLIF = field(default_factory=CondLIF)
    w_inh: float = 17.0
    n_classes: int = 10
    n_steps: int = 250
    max_rate: float = 120.0
    rate_step: float = 40.0
    min_spikes: int = 5
    max_retries: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.neuron, CondLIF):
            raise ValueError(f"{self.kind} needs a CondLIF neuron spec, got "
                             f"{type(self.neuron).__name__}")
        for name, least in (("n_in", 1), ("n_out", 1), ("n_classes", 1), ("n_steps", 1),
                            ("min_spikes", 0), ("max_retries", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < least:
                raise ValueError(f"{self.kind}.{name} must be an integer >= {least}, got {value}")
            self._set(name, int(value))
        if self.neuron.shape not in (None, (int(self.n_out),)):
            raise ValueError(f"{self.kind}: neuron shape {self.neuron.shape} is not (n_out,) = "
                             f"({self.n_out},); give shape=None or ({self.n_out},)")
        if not (self.max_rate > 0 and math.isfinite(self.max_rate)):
            raise ValueError(f"{self.kind}.max_rate must be > 0 Hz, got {self.max_rate}")
        for name in ("w_inh", "rate_step"):
            value = float(getattr(self, name))
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{self.kind}.{name} must be finite and >= 0, got {value}")
        for name in ("w_inh", "max_rate", "rate_step"):
            self._set(name, float(getattr(self, name)))


__all__ = ["CompetitiveLayer", "PhysicalLayer", "PhysicalNetwork", "RecurrentSpiking",
           "SpikingConv", "SpikingLinear", "SubstrateNetwork", "System"]
