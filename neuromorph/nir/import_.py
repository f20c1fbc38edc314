"""NIR graph (or ``.nir`` file) -> neuromorph module (``from_nir``).

Every node converts node -> spec (:func:`neuromorph.nir.spec_nodes.node_to_spec`) -> layer
(:func:`neuromorph.nir.converters.spec_module`); the result is checked by running one zero step
through it (a shape mismatch is an error naming the node). A chain
``Input -> ... -> Output`` becomes a :class:`~neuromorph.networks.spiking_layers.SpikingSequential`
with the spiking layers fused back: ``Affine/Linear + neuron -> SpikingLinear``,
``Conv2d + neuron -> SpikingConv2d``, ``Affine + recurrent subgraph (LIF <-> Linear) ->
RecurrentSpiking`` (for a neuromorph file exactly where the original had them, recorded in the
node metadata; for a peer's file wherever the pattern occurs). Any other graph (branches,
merges, other cycles, delays) becomes a :class:`~neuromorph.nir.graph_module.GraphNetwork`.

The time step: ``from_nir(graph, dt=...)``; without it the ``dt`` in the graph metadata (files
written by neuromorph). Keyword overrides (``reset``, ``reset_delay``, ``detach_reset``,
``method``, ``surrogate``, ``scale``, ``backend``) apply to every neuron; without them the
metadata or NIR's meaning (reset to ``v_reset`` in the same step, Euler) is used. See
:mod:`neuromorph.nir.convention`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from neuromorph import specs
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)
from neuromorph.nir.convention import (
    NIRConversionError,
    metadata_get,
    node_error,
)
from neuromorph.nir.converters import OPTION_OVERRIDES, ImportContext, spec_module
from neuromorph.nir.graph_module import GraphNetwork, is_stateful
from neuromorph.nir.registry import NEURON_NODES, NODE_TYPES, supported
from neuromorph.nir.spec_nodes import node_to_spec

OVERRIDES = (*OPTION_OVERRIDES, "method", "backend")


def load_graph(source: str | Path | Any) -> nir.NIRGraph:
    """A ``nir.NIRGraph`` from a path, a graph, or a single node (wrapped Input -> node -> Output).

    A missing, unreadable or malformed file raises :class:`NIRConversionError` saying so.
    """
    if isinstance(source, nir.NIRGraph):
        return source
    if isinstance(source, nir.NIRNode):
        return nir.NIRGraph.from_list(source)
    path = Path(source)
    if not path.is_file():
        raise NIRConversionError(f"NIR file {str(path)!r} does not exist")
    try:
        graph = nir.read(str(path))
    except OSError as err:
        raise NIRConversionError(f"{str(path)!r} is not a readable NIR (HDF5) file: {err}") from err
    except (KeyError, AssertionError, TypeError, ValueError) as err:
        raise NIRConversionError(
            f"{str(path)!r} is a malformed NIR file ({type(err).__name__}: {err}); "
            "check that it was written by nir.write"
        ) from err
    if not isinstance(graph, nir.NIRGraph):
        graph = nir.NIRGraph.from_list(graph)
    return graph


def _validate(graph: nir.NIRGraph, prefix: str) -> None:
    where = f" in subgraph {prefix!r}" if prefix else ""
    if not graph.nodes:
        raise NIRConversionError(f"the NIR graph{where} has no nodes")
    for edge in graph.edges:
        if len(edge) != 2:
            raise NIRConversionError(f"malformed edge {edge!r}{where}; edges are (source, target)")
        for end in edge:
            if end not in graph.nodes:
                raise NIRConversionError(
                    f"edge {tuple(edge)!r}{where} refers to node {end!r}, which is not in the "
                    f"graph (nodes: {sorted(graph.nodes)})"
                )
    for name, node in graph.nodes.items():
        if type(node) not in NODE_TYPES:
            raise node_error(name, node, f"unsupported NIR node type {type(node).__name__!r}; "
                             f"neuromorph supports: {supported()}")


def _layer(name: str, node: Any, ctx: ImportContext) -> tuple[nn.Module | None, Any]:
    """``(layer, spec)`` of one node: node -> spec (+ weights) -> layer."""
    try:
        if isinstance(node, nir.NIRGraph):
            return subgraph_module(node, ctx, name), None
        spec, weights = node_to_spec(node)
        return spec_module(spec, weights, node, ctx), spec
    except NIRConversionError:
        raise
    except (ValueError, TypeError, AssertionError, RuntimeError) as err:
        raise node_error(name, node, str(err)) from err


def build_module(graph: nir.NIRGraph, ctx: ImportContext, prefix: str = "") -> GraphNetwork:
    """The graph as a :class:`GraphNetwork` (one layer per node), checked by a zero step."""
    _validate(graph, prefix)
    modules: dict[str, nn.Module | None] = {}
    io: dict[str, tuple[int, ...]] = {}
    for name, node in graph.nodes.items():
        modules[name], spec = _layer(name, node, ctx)
        if isinstance(spec, specs.Input):
            if spec.shape is None:
                raise node_error(name, node, "input shape is undefined; set the input_type of "
                                 "this node")
            io[name] = spec.shape
    types = {n: type(node).__name__ for n, node in graph.nodes.items()}
    net = GraphNetwork(modules, [tuple(e) for e in graph.edges], types, io)
    _dry_run(net, graph)
    return net


def _dry_run(net: GraphNetwork, graph: nir.NIRGraph) -> None:
    feed = {n: torch.zeros(1, 1, *s) for n, s in net.io_shapes.items()}
    with torch.no_grad():
        out = net(feed if len(feed) > 1 else next(iter(feed.values())))
    outs = out if isinstance(out, dict) else {net.outputs[0]: out}
    for name, y in outs.items():
        node = graph.nodes[name]
        declared = None if node.output_type is None else node.output_type.get("output")
        if declared is not None and tuple(np.asarray(declared).reshape(-1)) != tuple(y.shape[2:]):
            raise node_error(name, node, f"declared shape {tuple(np.asarray(declared))} but the "
                             f"graph produces {tuple(y.shape[2:])}; check the preceding nodes")


# --------------------------------------------------------------------------- fusion
def _chain(net: GraphNetwork) -> list[str] | None:
    """The node names between Input and Output if ``net`` is a simple chain, else ``None``."""
    if net.cyclic or len(net.inputs) != 1 or len(net.outputs) != 1:
        return None
    succ: dict[str, list[str]] = {n: [] for n in net.node_names}
    for a, b in net.edges:
        succ[a].append(b)
    order, n = [], net.inputs[0]
    while n != net.outputs[0]:
        if len(succ[n]) != 1 or len(net.preds[succ[n][0]]) != 1:
            return None
        n = succ[n][0]
        order.append(n)
    return order[:-1] if len(order) == len(net.node_names) - 1 else None


def _module_tag(graph: nir.NIRGraph, name: str) -> str | None:
    return metadata_get(graph.nodes[name].metadata, "module")


def _recurrent_parts(sub: nn.Module) -> tuple[nn.Module, nn.Linear] | None:
    """``(neuron, W_rec)`` if ``sub`` is the subgraph ``Input -> N <-> W, N -> Output``."""
    if not isinstance(sub, GraphNetwork) or len(sub.node_names) != 4:
        return None
    inner = [n for n in sub.node_names if n not in sub.inputs + sub.outputs]
    if len(inner) != 2 or len(sub.inputs) != 1 or len(sub.outputs) != 1:
        return None
    a, b = inner
    neuron, w = (a, b) if isinstance(sub.block(b), nn.Linear) else (b, a)
    expected = {(sub.inputs[0], neuron), (neuron, w), (w, neuron), (neuron, sub.outputs[0])}
    nmod, wmod = sub.block(neuron), sub.block(w)
    if set(sub.edges) != expected or not isinstance(wmod, nn.Linear) or not hasattr(nmod, "step"):
        return None
    return nmod, wmod


def _fuse_linear(lin: nn.Linear, neuron: nn.Module) -> SpikingLinear:
    """``lin`` + ``neuron`` as one layer (the container is built with a placeholder LIF)."""
    layer = SpikingLinear(lin.in_features, lin.out_features, bias=lin.bias is not None,
                          neuron="lif", dt=1e-3)
    layer.synapse, layer.neuron = lin, neuron
    return layer


def _fuse_conv(conv: nn.Conv2d, neuron: nn.Module) -> SpikingConv2d:
    layer = SpikingConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, neuron="lif",
                          dt=1e-3)
    layer.synapse, layer.neuron = conv, neuron
    return layer


def _fuse_recurrent(lin: nn.Linear, neuron: nn.Module, w_rec: nn.Linear) -> RecurrentSpiking:
    layer = RecurrentSpiking(lin.in_features, lin.out_features, bias=lin.bias is not None,
                             neuron="lif", dt=1e-3)
    if w_rec.bias is not None:  # a peer's Affine recurrence: its bias adds to the input bias
        if lin.bias is None:
            lin = _with_bias(lin)
        with torch.no_grad():
            lin.bias.add_(w_rec.bias)
        rec = nn.Linear(w_rec.in_features, w_rec.out_features, bias=False)
        with torch.no_grad():
            rec.weight.copy_(w_rec.weight)
        w_rec = rec
    layer.input, layer.recurrent, layer.neuron = lin, w_rec, neuron
    return layer


def _with_bias(lin: nn.Linear) -> nn.Linear:
    new = nn.Linear(lin.in_features, lin.out_features, bias=True)
    with torch.no_grad():
        new.weight.copy_(lin.weight)
        new.bias.zero_()
    return new


def _sequential(net: GraphNetwork, graph: nir.NIRGraph) -> SpikingSequential | None:
    names = _chain(net)
    if names is None:
        return None
    ours = metadata_get(graph.metadata, "source") == "neuromorph"
    layers: list[nn.Module] = []
    k = 0
    while k < len(names):
        name, mod = names[k], net.block(names[k])
        nxt = names[k + 1] if k + 1 < len(names) else None
        node, nxt_node = graph.nodes[name], graph.nodes[nxt] if nxt else None
        tag = _module_tag(graph, name)
        fuse_ok = (tag is None and not ours) or tag in ("SpikingLinear", "SpikingConv2d",
                                                        "RecurrentSpiking")
        if fuse_ok and isinstance(node, nir.Affine | nir.Linear) and nxt is not None:
            if isinstance(nxt_node, NEURON_NODES) and tag in (None, "SpikingLinear"):
                layers.append(_fuse_linear(mod, net.block(nxt)))
                k += 2
                continue
            parts = _recurrent_parts(net.block(nxt))
            if parts is not None and tag in (None, "RecurrentSpiking"):
                layers.append(_fuse_recurrent(mod, *parts))
                k += 2
                continue
        if fuse_ok and isinstance(node, nir.Conv2d) and isinstance(nxt_node, NEURON_NODES):
            layers.append(_fuse_conv(mod, net.block(nxt)))
            k += 2
            continue
        layers.append(mod)
        k += 1
    for layer in layers:
        if is_stateful(layer) and not SpikingSequential.is_stateful(layer):
            return None  # e.g. a Delay or a general subgraph: keep the graph executor
    return SpikingSequential(*layers)


def subgraph_module(graph: nir.NIRGraph, ctx: ImportContext, prefix: str) -> nn.Module:
    """A subgraph node's module: a ``SpikingSequential`` if it was one, else a GraphNetwork."""
    net = build_module(graph, ctx, prefix)
    if metadata_get(graph.metadata, "module") == "SpikingSequential":
        seq = _sequential(net, graph)
        if seq is not None:
            return seq
    return net


def from_nir(source: str | Path | Any, *, dt: float | None = None, fuse: bool = True,
             **overrides: Any) -> nn.Module:
    """A neuromorph module for a NIR graph, a ``.nir`` file path, or a single NIR node.

    ``dt`` (s) is the simulation step (default: the graph's ``metadata["dt"]``; required for
    peers' files, e.g. ``neuromorph.nir.PEER_DT["snntorch"]``). ``fuse=False`` keeps one layer
    per node (a :class:`GraphNetwork`). ``overrides``: neuron options applied to every neuron
    (``reset``, ``reset_delay``, ``detach_reset``, ``method``, ``surrogate``, ``scale``,
    ``backend``).
    """
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; from_nir accepts {list(OVERRIDES)}")
    graph = load_graph(source)
    if dt is None:
        dt = metadata_get(graph.metadata, "dt")
        if dt is None:
            raise NIRConversionError(
                "NIR is continuous-time and this graph records no time step; pass dt= (seconds), "
                "e.g. neuromorph.nir.PEER_DT['snntorch'] = 1e-4 for a file exported by snnTorch"
            )
    ctx = ImportContext(float(dt), dict(overrides))
    with torch.random.fork_rng(devices=[]):  # building layers must not move the global RNG
        net = build_module(graph, ctx)
        if fuse and metadata_get(graph.metadata, "module") != "GraphNetwork":
            seq = _sequential(net, graph)
            if seq is not None:
                return seq
    return net


__all__ = ["OVERRIDES", "build_module", "from_nir", "load_graph", "subgraph_module"]
