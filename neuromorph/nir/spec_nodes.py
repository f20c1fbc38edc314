"""Specs <-> NIR nodes, one to one; spec graphs <-> NIR graphs.

==================================  ==========================================================
spec (:mod:`neuromorph.specs`)      NIR node
==================================  ==========================================================
``Input`` / ``Output``              ``Input`` / ``Output`` (``shape`` = the io type)
``Affine(bias=True / False)``       ``Affine`` / ``Linear`` (``weights``: weight, bias)
``Conv`` (1 or 2 spatial dims)      ``Conv1d`` / ``Conv2d`` (``weights``: weight, bias)
``Flatten``, ``Scale``, ``Delay``   ``Flatten``, ``Scale``, ``Delay``
``Threshold``                       ``Threshold`` (surrogate in metadata)
``Pool2d(mode="sum" / "avg")``      ``SumPool2d`` / ``AvgPool2d``
``Integrator``, ``IF``, ``LI``,     ``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI``, ``CubaLIF``
``LIF``, ``CubaLI``, ``CubaLIF``    (per-neuron arrays; options in metadata)
``Graph``                           ``NIRGraph`` (recursively)
``ALIF``, ``Channel``, others       refused: NIR has no such node
==================================  ==========================================================

Trained values are not part of a spec: they travel beside it as ``weights``, a dict of numpy
arrays per node (``{"weight": W, "bias": b}`` for Affine and Conv; ``None`` for the rest). For a
graph, ``weights`` maps node names to those dicts; a node inside a subgraph is named
``"subgraph/node"``. What NIR has no field for (spike options, ``method``, ``refractory``, the
neuron shape, shared parameters) is JSON text in the node's ``metadata["neuromorph"]``
(:data:`~neuromorph.nir.spec_codec.META_KEY`; details in :mod:`neuromorph.nir.spec_codec`).
Parameters keep their SI units; ``dt`` is not involved (NIR and specs are continuous time).

No torch here: the event engine and the run directories use these functions directly.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np

from neuromorph import specs
from neuromorph.nir.convention import NIRConversionError, metadata_get, node_error
from neuromorph.nir.registry import NODE_TYPES
from neuromorph.nir.spec_codec import META_KEY, Shape, Weights
from neuromorph.specs.shapes import output_shape

#: spec class -> its node writer (Affine covers Affine and Linear, Conv both Conv1d and 2d, ...)
_WRITERS = {e.spec_class: e.to_node for e in NODE_TYPES.values() if e.to_node is not None}
#: spec kinds that have a NIR form, but not as one node (what to give instead)
_AS_GRAPH = {"Sequential": "give the layers as a Graph (nodes and edges) instead"}
#: separator of subgraph paths in graph weight keys
PATH_SEP = "/"


def spec_to_node(spec: specs.Spec, weights: Weights | None = None, *,
                 shape: Shape | None = None, dtype: Any = np.float64) -> Any:
    """The NIR node of ``spec`` (one node per spec; a ``Graph`` becomes a ``NIRGraph``).

    ``weights``: the node's trained arrays (Affine, Conv). ``shape``: the per-sample feature
    shape the node sees, used for Flatten's and Conv's input type and to broadcast parameters
    shared by all neurons (default: the spec's own ``shape``). ``dtype``: of the parameter
    arrays (float64 keeps every spec value exact). Raises :class:`NIRConversionError` for a
    spec without a NIR node, naming it.
    """
    if isinstance(spec, specs.Graph):
        return graph_to_nir(spec, {} if weights is None else weights)
    writer = _WRITERS.get(type(spec))
    if writer is None:
        reason = (f"NIR has no node for {spec.no_nir_node}" if spec.no_nir_node
                  else _AS_GRAPH.get(spec.kind, "NIR has no node for it"))
        known = ", ".join(sorted({c.kind for c in _WRITERS}))
        raise NIRConversionError(f"{spec.kind} has no NIR equivalent: {reason} "
                                 f"(exportable specs: {known})")
    return writer(spec, weights, None if shape is None else tuple(int(s) for s in shape), dtype)


def node_to_spec(node: Any) -> tuple[specs.Spec, Weights | None]:
    """``(spec, weights)`` of a NIR node (a ``NIRGraph`` gives a ``Graph`` and its weights).

    A node written by neuromorph comes back as the spec that wrote it; a peer's node is read with
    NIR's meaning (reset to ``v_reset`` in the spike's step, Euler, one value per array element).
    Errors are ``ValueError`` (a :class:`NIRConversionError` for unsupported node types).
    """
    if isinstance(node, nir.NIRGraph):
        return nir_to_graph(node)
    entry = NODE_TYPES.get(type(node))
    if entry is None or entry.to_spec is None:
        known = ", ".join(sorted(c.__name__ for c in NODE_TYPES))
        raise NIRConversionError(f"unsupported NIR node type {type(node).__name__!r}; "
                                 f"neuromorph supports: {known}")
    return entry.to_spec(node)


# --------------------------------------------------------------------------- graphs
def infer_shapes(graph: specs.Graph) -> dict[str, Shape | None]:
    """The input feature shape of every node, propagated from the graph's Input specs."""
    outs: dict[str, Shape | None] = {}
    ins: dict[str, Shape | None] = {name: None for name in graph.nodes}
    changed = True
    while changed:  # a fixed point also covers cycles (the first known predecessor wins)
        changed = False
        for name, spec in graph.nodes.items():
            known = [outs[a] for a in graph.predecessors(name) if outs.get(a) is not None]
            ins[name] = known[0] if known else ins[name]
            out = output_shape(spec, ins[name])
            if out is not None and outs.get(name) != out:
                outs[name], changed = out, True
    return ins


def graph_to_nir(graph: specs.Graph, weights: dict[str, Weights] | None = None, *,
                 dtype: Any = np.float64) -> nir.NIRGraph:
    """The ``nir.NIRGraph`` of a spec graph; ``weights[name]`` are each node's arrays.

    Feature shapes are propagated from the Input specs (Flatten and Conv need them, shared
    neuron parameters are broadcast to them). ``graph.metadata`` becomes the graph metadata.
    """
    weights = weights or {}
    shapes = infer_shapes(graph)
    nodes: dict[str, Any] = {}
    for name, spec in graph.nodes.items():
        try:
            if isinstance(spec, specs.Graph):
                inner = {k[len(name) + 1:]: v for k, v in weights.items()
                         if k.startswith(name + PATH_SEP)}
                nodes[name] = graph_to_nir(spec, inner, dtype=dtype)
            else:
                nodes[name] = spec_to_node(spec, weights.get(name), shape=shapes[name],
                                           dtype=dtype)
        except ValueError as err:
            raise NIRConversionError(f"graph node {name!r} ({spec.kind}): {err}") from err
    try:
        return nir.NIRGraph(nodes=nodes, edges=[tuple(e) for e in graph.edges],
                            metadata=dict(graph.metadata))
    except (ValueError, AssertionError) as err:
        raise NIRConversionError(f"the NIR graph is inconsistent: {err}") from err


def nir_to_graph(graph: nir.NIRGraph) -> tuple[specs.Graph, dict[str, Weights]]:
    """``(spec graph, weights)`` of a ``nir.NIRGraph``, subgraphs included (recursively).

    Weights of nodes inside a subgraph ``s`` are keyed ``"s/node"``. Node metadata other than
    ours (:data:`META_KEY`) is not kept; the graph metadata is (as plain values).
    """
    nodes: dict[str, specs.Spec] = {}
    weights: dict[str, Weights] = {}
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):  # its errors already name the inner node
            nodes[name], inner = nir_to_graph(node)
            weights.update({f"{name}{PATH_SEP}{k}": v for k, v in inner.items()})
            continue
        try:
            nodes[name], w = node_to_spec(node)
        except (ValueError, TypeError) as err:
            raise node_error(name, node, str(err)) from err
        if w is not None:
            weights[name] = w
    md = {k: metadata_get(graph.metadata, k) for k in (graph.metadata or {})}
    edges = [(str(a), str(b)) for a, b in graph.edges]
    return specs.Graph(nodes=nodes, edges=edges, metadata=md), weights


__all__ = ["META_KEY", "PATH_SEP", "graph_to_nir", "infer_shapes", "nir_to_graph",
           "node_to_spec", "output_shape", "spec_to_node"]
