"""Layer views of a spec :class:`~neuromorph.specs.Graph` (with weights) or an engine network.

A **population** is a neuron node (``LIF``, ``CubaLIF``, ``IF``, ``LI`` readout, ...). Its
**synapses** are the ``Affine`` / ``Conv`` nodes that reach it, directly or through a **current
channel**: an ``LI`` node that feeds a spiking neuron is an exponential synaptic current of that
neuron (how :func:`neuromorph.sim.spec_io.network_spec` writes an engine group's channels), so a
LIF with channels is read as a current-based LIF. Each synapse's **source** is found by walking
back through shape-only nodes (``Delay``, ``Flatten``, ``Scale``, pooling, subgraph ports) to a
population or to a graph input. Synapses from the population itself are its recurrent weights;
several synapses from one source sum (NIR's convention), so their non-zero weights count once per
(target, source neuron) pair. Fan-out is counted per receiving population.

Subgraphs are inlined (node ``"sub/node"``; the keys ``nir_to_graph`` gives their weights). An
``Input`` wired straight into a neuron (the engine's injected current ``g.I``) is a neuron
input without synapses, not a chip input channel. Views come in order of depth (the longest
chain of populations from the inputs), ties in node order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.hardware_models.chips.view import LayerView, make_view
from neuromorph.sim.network import Network
from neuromorph.sim.spec_io import ENGINE_KEY, network_spec
from neuromorph.specs.shapes import output_shape

Shape = tuple[int, ...]
Weights = dict[str, dict[str, Any]]
_SYNAPSES = (specs.Affine, specs.Conv)


def _inline(graph: specs.Graph, weights: Weights) -> specs.Graph:
    """``graph`` with every subgraph's nodes lifted to the top (``"sub/node"``)."""
    nodes: dict[str, specs.Spec] = {}
    edges: list[tuple[str, str]] = []
    entry: dict[str, list[str]] = {}
    exit_: dict[str, list[str]] = {}
    for name, spec in graph.nodes.items():
        if not isinstance(spec, specs.Graph):
            nodes[name] = spec
            continue
        inner = _inline(spec, weights)
        nodes.update({f"{name}/{k}": v for k, v in inner.nodes.items()})
        edges.extend((f"{name}/{a}", f"{name}/{b}") for a, b in inner.edges)
        entry[name] = [f"{name}/{k}" for k, v in inner.nodes.items()
                       if isinstance(v, specs.Input) and not inner.predecessors(k)]
        exit_[name] = [f"{name}/{k}" for k, v in inner.nodes.items()
                       if isinstance(v, specs.Output)]
    for a, b in graph.edges:
        edges.extend((x, y) for x in exit_.get(a, [a]) for y in entry.get(b, [b]))
    return specs.Graph(nodes, tuple(edges), graph.metadata)


class _Walk:
    """The graph with the questions the views ask of it (populations, synapses, shapes)."""

    def __init__(self, graph: specs.Graph, weights: Weights) -> None:
        self.g, self.weights = graph, weights
        self.preds = {n: graph.predecessors(n) for n in graph.nodes}
        self._shapes: dict[str, Shape | None] = {}

    def is_channel(self, name: str) -> bool:
        succ = self.g.successors(name)
        return isinstance(self.g.nodes[name], specs.LI) and bool(succ) and all(
            isinstance(self.g.nodes[s], specs.NeuronSpec) and self.g.nodes[s].spiking
            for s in succ)

    def is_population(self, name: str) -> bool:
        return isinstance(self.g.nodes[name], specs.NeuronSpec) and not self.is_channel(name)

    def synapses(self, pop: str) -> list[tuple[str, str | None]]:
        """``(synapse node, channel name or None)`` of everything that drives ``pop``."""
        out: list[tuple[str, str | None]] = []
        todo = [(p, None) for p in self.preds[pop]]
        seen: set[str] = set()
        while todo:
            name, channel = todo.pop(0)
            spec = self.g.nodes[name]
            if name in seen or self.is_population(name):
                continue
            seen.add(name)
            if isinstance(spec, _SYNAPSES):
                out.append((name, channel))
            elif self.is_channel(name):
                todo.extend((p, name) for p in self.preds[name])
            else:  # shape-only nodes and subgraph ports pass their input on
                todo.extend((p, channel) for p in self.preds[name])
        return out

    def source(self, synapse: str) -> tuple[str | None, float]:
        """``(source population or None for a graph input, delay in s)`` of a synapse node."""
        delay, name = 0.0, synapse
        while True:
            preds = self.preds[name]
            if not preds:
                return None, delay
            name = preds[0]
            spec = self.g.nodes[name]
            if self.is_population(name):
                return name, delay
            if isinstance(spec, specs.Delay):
                d = spec.delay
                delay += max(d) if isinstance(d, tuple) else d

    def shape(self, name: str) -> Shape | None:
        """Per-sample output shape of node ``name`` (``None``: unknown)."""
        if name in self._shapes:
            return self._shapes[name]
        self._shapes[name] = None  # cycles: unknown until resolved
        spec = self.g.nodes[name]
        preds = self.preds[name]
        before = next((s for s in (self.shape(p) for p in preds) if s is not None), None)
        self._shapes[name] = output_shape(spec, before)
        return self._shapes[name]


def _tensor(weights: Weights, name: str, key: str) -> Tensor | None:
    w = weights.get(name, {}) or {}
    return None if w.get(key) is None else torch.as_tensor(w[key], dtype=torch.float64)


def _summed(ws: Iterable[Tensor]) -> Tensor | None:
    """Several synapses from one source sum (NIR: incoming edges add)."""
    ws = list(ws)
    return None if not ws else torch.stack(ws).sum(0)


def _population(walk: _Walk, pop: str, dt: float | None) -> LayerView:
    spec = walk.g.nodes[pop]
    syns = walk.synapses(pop)
    channels = {(c[len(pop) + 1:] if c.startswith(pop + ".") else c): walk.g.nodes[c]
                for c in dict.fromkeys(ch for _, ch in syns if ch is not None)}
    conv = next((s for s, _ in syns if isinstance(walk.g.nodes[s], specs.Conv)), None)
    sources = {s: walk.source(s) for s, _ in syns}
    from_input = all(src is None for src, _ in sources.values())
    delay = max((d for _, d in sources.values()), default=0.0)
    delay_steps = round(delay / dt) if dt and delay else 0
    out_shape = walk.shape(pop) or ()
    missing = [s for s, _ in syns if _tensor(walk.weights, s, "weight") is None]
    if missing:
        raise ValueError(f"no weights for synapse nodes {missing}; pass weights={{node: "
                         "{'weight': W, 'bias': b}}} as nir_to_graph / network_spec give them")
    bias = _summed(b for s, _ in syns if (b := _tensor(walk.weights, s, "bias")) is not None)
    if conv is not None:
        in_shape = walk.shape(walk.preds[conv][0]) or ()
        return make_view(pop, spec, walk.g.nodes[conv], in_shape=in_shape, out_shape=out_shape,
                         dt=dt, weight=_tensor(walk.weights, conv, "weight"), bias=bias,
                         channels=channels, from_input=from_input, delay_steps=delay_steps)
    by_source: dict[str | None, list[Tensor]] = {}
    for s, _ in syns:
        by_source.setdefault(sources[s][0], []).append(_tensor(walk.weights, s, "weight"))
    rec = _summed(by_source.pop(pop, []))
    ins = [_summed(ws) for ws in by_source.values()]
    if not syns:
        return make_view(pop, spec, None, in_shape=out_shape, out_shape=out_shape, dt=dt,
                         from_input=from_input)
    n = math.prod(out_shape) if out_shape else (rec if rec is not None else ins[0]).shape[0]
    weight = torch.cat(ins, 1) if ins else torch.zeros(n, 0, dtype=torch.float64)
    return make_view(pop, spec, walk.g.nodes[syns[0][0]], in_shape=(weight.shape[1],),
                     out_shape=out_shape or (n,), dt=dt, weight=weight, bias=bias,
                     rec_weight=rec, channels=channels, from_input=from_input,
                     delay_steps=delay_steps)


def _depths(walk: _Walk, pops: list[str]) -> dict[str, int]:
    """Longest chain of populations from the inputs to each population (cycles cut)."""
    depth: dict[str, int] = {}

    def visit(p: str, stack: frozenset[str]) -> int:
        if p in depth:
            return depth[p]
        srcs = {walk.source(s)[0] for s, _ in walk.synapses(p)} - {None, p}
        d = max((visit(s, stack | {p}) + 1 for s in srcs if s not in stack), default=0)
        depth[p] = d
        return d

    for p in pops:
        visit(p, frozenset())
    return depth


def _recorded_dt(graph: specs.Graph) -> float | None:
    dt = graph.metadata.get("dt", (graph.metadata.get(ENGINE_KEY) or {}).get("dt"))
    return None if dt is None else float(dt)


def graph_views(graph: specs.Graph, weights: Weights | None = None,
                dt: float | None = None) -> list[LayerView]:
    """One view per population of ``graph`` (and per synapse or delay outside one), ordered
    by depth. ``weights``: ``{node: {"weight": W [out, in], "bias": b}}``; ``dt`` (s): the
    step the chip runs, by default the one the graph's metadata records."""
    weights = weights or {}
    walk = _Walk(_inline(graph, weights), weights)
    dt = dt if dt is not None else _recorded_dt(graph)
    pops = [n for n in walk.g.nodes if walk.is_population(n)]
    depth = _depths(walk, pops)
    order = {n: i for i, n in enumerate(walk.g.nodes)}
    keyed = [((depth[p], order[p]), _population(walk, p, dt)) for p in pops]
    if dt is None and any(v.time_constants() for _, v in keyed):
        raise ValueError("the graph records no time step and its neurons leak; pass dt= "
                         "(seconds): chips discretise every time constant with it")
    attached = {s for p in pops for s, _ in walk.synapses(p)}
    for name, spec in walk.g.nodes.items():
        src = walk.source(name)[0] if walk.preds[name] else None
        at = (depth.get(src, -1), order[name])
        if isinstance(spec, specs.Delay):
            steps = round(max(spec.delay if isinstance(spec.delay, tuple) else (spec.delay,))
                          / dt) if dt else 0
            shape = walk.shape(name) or ()
            keyed.append((at, make_view(name, None, None, in_shape=shape, out_shape=shape,
                                        kind="delay", delay_steps=steps, from_input=src is None)))
        elif isinstance(spec, _SYNAPSES) and name not in attached:
            before = walk.shape(walk.preds[name][0]) if walk.preds[name] else None
            keyed.append((at, make_view(name, None, spec, in_shape=before or (),
                                        out_shape=walk.shape(name) or (),
                                        weight=_tensor(weights, name, "weight"),
                                        from_input=src is None)))
    return [v for _, v in sorted(keyed, key=lambda kv: kv[0])]


def engine_views(net: Network) -> list[LayerView]:
    """Views of an event-engine network, read through its spec graph
    (:func:`~neuromorph.sim.spec_io.network_spec`; plastic projections with their current
    weights: on-chip learning is not checked)."""
    graph, weights = network_spec(net, static=True)
    return graph_views(graph, weights, net.dt)


__all__ = ["engine_views", "graph_views"]
