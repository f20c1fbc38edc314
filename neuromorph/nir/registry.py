"""The one NIR node-type registry: NIR node class -> spec class and the codec between them.

:data:`NODE_TYPES` is the single place a NIR node type is named. Each :class:`NodeType` says
which spec (:mod:`neuromorph.specs`) the node is, how to read it (``to_spec``) and write it
(``to_node``; :mod:`neuromorph.nir.spec_codec`), which arrays ``neuromorph inspect`` shows and
how its fields scale when the time axis is stretched (:func:`neuromorph.nir.convention.retime`).
Modules are built from specs (and specs read from modules) in :mod:`neuromorph.nir.converters`,
by spec class, so node types are named nowhere else. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nir

from neuromorph import specs
from neuromorph.nir import spec_codec as C


@dataclass(frozen=True)
class NodeType:
    """One NIR node type: its spec class and the codec between node and spec."""

    nir_class: type
    spec_class: type[specs.Spec]
    to_spec: Callable[[Any], tuple[specs.Spec, Any]] | None
    to_node: Callable[..., Any] | None
    shown: tuple[str, ...] = ()  # arrays ``inspect`` prints
    #: field -> "time" (stretches with the time axis) or "rate" (shrinks): see ``retime``
    time_fields: dict[str, str] = field(default_factory=dict)


def _neuron(nir_class: type, spec_class: type[specs.NeuronSpec], **time: str) -> NodeType:
    shown = tuple(n for n, _ in spec_class.params) + (("v_reset",) if spec_class.spiking else ())
    return NodeType(nir_class, spec_class, C.neuron_spec, C.neuron_node, shown, dict(time))


_POOL = ("kernel_size", "stride", "padding")

#: NIR node class -> its entry. The one place NIR node types are named.
NODE_TYPES: dict[type, NodeType] = {
    nir.Input: NodeType(nir.Input, specs.Input, C.input_spec, C.input_node),
    nir.Output: NodeType(nir.Output, specs.Output, C.output_spec, C.output_node),
    nir.Affine: NodeType(nir.Affine, specs.Affine, C.affine_spec, C.affine_node,
                         ("weight", "bias")),
    nir.Linear: NodeType(nir.Linear, specs.Affine, C.affine_spec, C.affine_node, ("weight",)),
    nir.Scale: NodeType(nir.Scale, specs.Scale, C.scale_spec, C.scale_node, ("scale",)),
    nir.Conv1d: NodeType(nir.Conv1d, specs.Conv, C.conv_spec, C.conv_node, ("weight", "bias")),
    nir.Conv2d: NodeType(nir.Conv2d, specs.Conv, C.conv_spec, C.conv_node, ("weight", "bias")),
    nir.Flatten: NodeType(nir.Flatten, specs.Flatten, C.flatten_spec, C.flatten_node),
    nir.SumPool2d: NodeType(nir.SumPool2d, specs.Pool2d, C.pool_spec, C.pool_node, _POOL),
    nir.AvgPool2d: NodeType(nir.AvgPool2d, specs.Pool2d, C.pool_spec, C.pool_node, _POOL),
    nir.Delay: NodeType(nir.Delay, specs.Delay, C.delay_spec, C.delay_node, ("delay",),
                        {"delay": "time"}),
    nir.Threshold: NodeType(nir.Threshold, specs.Threshold, C.threshold_spec, C.threshold_node,
                            ("threshold",)),
    nir.I: _neuron(nir.I, specs.Integrator, r="rate"),
    nir.IF: _neuron(nir.IF, specs.IF, r="rate"),
    nir.LI: _neuron(nir.LI, specs.LI, tau="time"),
    nir.LIF: _neuron(nir.LIF, specs.LIF, tau="time"),
    nir.CubaLI: _neuron(nir.CubaLI, specs.CubaLI, tau_syn="time", tau_mem="time"),
    nir.CubaLIF: _neuron(nir.CubaLIF, specs.CubaLIF, tau_syn="time", tau_mem="time"),
    nir.NIRGraph: NodeType(nir.NIRGraph, specs.Graph, None, None),
}

#: neuron node classes a synapse fuses with into a spiking layer on import
NEURON_NODES: tuple[type, ...] = (nir.LIF, nir.CubaLIF, nir.IF, nir.LI)


def supported() -> str:
    """The supported node type names, for error messages."""
    return ", ".join(sorted(c.__name__ for c in NODE_TYPES))


__all__ = ["NEURON_NODES", "NODE_TYPES", "NodeType", "supported"]
