"""The one NIR node-type registry: NIR node class -> (import converter, export converter).

:data:`NODE_TYPES` is the single place a NIR node type is named. Each :class:`NodeType` maps a
node to a neuromorph layer (``to_module``) and lists the neuromorph layer classes that export
as that node (``modules`` / ``from_module``); the converters are in
:mod:`neuromorph.nir.converters`. Containers made of several nodes (``SpikingLinear`` = Affine +
neuron, ``RecurrentSpiking`` = Affine + recurrent subgraph, ...) are assembled in
:mod:`neuromorph.nir.export` and :mod:`neuromorph.nir.import_`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nir
from torch import nn

from neuromorph import specs
from neuromorph.networks.neurons import IF, LI, LIF, CubaLIF
from neuromorph.nir import spec_codec as C
from neuromorph.nir.convention import node_error
from neuromorph.nir.converters import (
    ImportContext,
    Shape,
    affine_in,
    affine_out,
    avgpool_in,
    avgpool_out,
    conv_in,
    conv_out,
    cuba_in,
    cuba_out,
    cubali_in,
    cubali_out,
    delay_in,
    delay_out,
    flatten_in,
    flatten_out,
    i_in,
    i_out,
    if_in,
    if_out,
    io_in,
    li_in,
    li_out,
    lif_in,
    lif_out,
    scale_in,
    scale_out,
    subgraph_in,
    sumpool_in,
    sumpool_out,
    threshold_in,
    threshold_out,
)
from neuromorph.nir.layers import CubaLI, Delay, Integrator, Scale, SumPool2d, Threshold


@dataclass(frozen=True)
class NodeType:
    """How one NIR node type converts in each direction."""

    nir_class: type
    to_module: Callable[[str, Any, ImportContext], nn.Module | None]
    modules: tuple[type[nn.Module], ...] = ()
    from_module: Callable[[nn.Module, Shape], Any] | None = None
    fields: tuple[str, ...] = ()  # per-neuron parameter fields (neurons)
    spec_class: type[specs.Spec] | None = None
    to_spec: Callable[[Any], tuple[specs.Spec, Any]] | None = None
    to_node: Callable[..., Any] | None = None


#: NIR node class -> its converters. The one place NIR node types are named.
NODE_TYPES: dict[type, NodeType] = {
    nir.Input: NodeType(nir.Input, io_in, spec_class=specs.Input, to_spec=C.input_spec,
                        to_node=C.input_node),
    nir.Output: NodeType(nir.Output, io_in, spec_class=specs.Output, to_spec=C.output_spec,
                         to_node=C.output_node),
    nir.Affine: NodeType(nir.Affine, affine_in, (nn.Linear,), affine_out,
                         spec_class=specs.Affine, to_spec=C.affine_spec, to_node=C.affine_node),
    nir.Linear: NodeType(nir.Linear, affine_in, spec_class=specs.Affine, to_spec=C.affine_spec,
                         to_node=C.affine_node),
    nir.Scale: NodeType(nir.Scale, scale_in, (Scale,), scale_out, spec_class=specs.Scale,
                        to_spec=C.scale_spec, to_node=C.scale_node),
    nir.Conv1d: NodeType(nir.Conv1d, conv_in, (nn.Conv1d,), conv_out, spec_class=specs.Conv,
                         to_spec=C.conv_spec, to_node=C.conv_node),
    nir.Conv2d: NodeType(nir.Conv2d, conv_in, (nn.Conv2d,), conv_out, spec_class=specs.Conv,
                         to_spec=C.conv_spec, to_node=C.conv_node),
    nir.Flatten: NodeType(nir.Flatten, flatten_in, (nn.Flatten,), flatten_out,
                          spec_class=specs.Flatten, to_spec=C.flatten_spec,
                          to_node=C.flatten_node),
    nir.SumPool2d: NodeType(nir.SumPool2d, sumpool_in, (SumPool2d,), sumpool_out,
                            spec_class=specs.Pool2d, to_spec=C.pool_spec, to_node=C.pool_node),
    nir.AvgPool2d: NodeType(nir.AvgPool2d, avgpool_in, (nn.AvgPool2d,), avgpool_out,
                            spec_class=specs.Pool2d, to_spec=C.pool_spec, to_node=C.pool_node),
    nir.Delay: NodeType(nir.Delay, delay_in, (Delay,), delay_out, spec_class=specs.Delay,
                        to_spec=C.delay_spec, to_node=C.delay_node),
    nir.Threshold: NodeType(nir.Threshold, threshold_in, (Threshold,), threshold_out,
                            spec_class=specs.Threshold, to_spec=C.threshold_spec,
                            to_node=C.threshold_node),
    nir.I: NodeType(nir.I, i_in, (Integrator,), i_out, ("r",), specs.Integrator,
                    C.neuron_spec, C.neuron_node),
    nir.IF: NodeType(nir.IF, if_in, (IF,), if_out, ("r", "v_threshold"), specs.IF,
                     C.neuron_spec, C.neuron_node),
    nir.LI: NodeType(nir.LI, li_in, (LI,), li_out, ("tau", "r", "v_leak"), specs.LI,
                     C.neuron_spec, C.neuron_node),
    nir.LIF: NodeType(nir.LIF, lif_in, (LIF,), lif_out, ("tau", "r", "v_leak", "v_threshold"),
                      specs.LIF, C.neuron_spec, C.neuron_node),
    nir.CubaLI: NodeType(nir.CubaLI, cubali_in, (CubaLI,), cubali_out,
                         ("tau_syn", "tau_mem", "r", "v_leak", "w_in"), specs.CubaLI,
                         C.neuron_spec, C.neuron_node),
    nir.CubaLIF: NodeType(nir.CubaLIF, cuba_in, (CubaLIF,), cuba_out,
                          ("tau_syn", "tau_mem", "r", "w_in", "v_leak", "v_threshold"),
                          specs.CubaLIF, C.neuron_spec, C.neuron_node),
    nir.NIRGraph: NodeType(nir.NIRGraph, subgraph_in, spec_class=specs.Graph),
}

#: neuron node classes (the ones a synapse fuses with into a spiking layer)
NEURON_NODES: tuple[type, ...] = (nir.LIF, nir.CubaLIF, nir.IF, nir.LI)


def node_type(name: str, node: Any) -> NodeType:
    """The registry entry of ``node``; an unknown type lists the supported ones."""
    entry = NODE_TYPES.get(type(node))
    if entry is None:
        known = ", ".join(sorted(c.__name__ for c in NODE_TYPES))
        raise node_error(name, node, f"unsupported NIR node type {type(node).__name__!r}; "
                         f"neuromorph supports: {known}")
    return entry


def exporter_for(module: nn.Module) -> NodeType | None:
    """The entry whose ``modules`` contain ``type(module)`` exactly (``None`` if none)."""
    for entry in NODE_TYPES.values():
        if type(module) in entry.modules:
            return entry
    return None


__all__ = ["NEURON_NODES", "NODE_TYPES", "ImportContext", "NodeType", "exporter_for",
           "node_type"]
