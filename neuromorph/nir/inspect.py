"""A readable summary of a NIR graph: nodes, shapes, parameters, and what is not plain NIR.

``summarize(graph_or_path) -> str`` is what ``neuromorph inspect FILE.nir`` prints. It never
builds the network, so it also describes graphs neuromorph cannot import, listing the
unsupported node types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nir
import numpy as np

from neuromorph.nir.convention import metadata_get
from neuromorph.nir.import_ import load_graph
from neuromorph.nir.registry import NODE_TYPES
from neuromorph.nir.spec_nodes import node_to_spec


def _fmt(value: Any) -> str:
    arr = np.asarray(value)
    if arr.dtype.kind in "SUO":
        return str(value)
    if arr.size == 0:
        return "[]"
    if arr.size <= 4 and arr.ndim <= 1 and arr.dtype.kind in "iu":
        return str(tuple(int(a) for a in arr.reshape(-1)))
    lo, hi = float(arr.min()), float(arr.max())
    if arr.size == 1 or lo == hi:
        return f"{lo:.4g}" + (f" x{arr.shape}" if arr.size > 1 else "")
    return f"[{lo:.4g} .. {hi:.4g}] {arr.shape}"


def _shape(types: Any, key: str) -> str:
    if not types or types.get(key) is None:
        return "?"
    return str(tuple(int(s) for s in np.asarray(types[key]).reshape(-1)))


def _notes(node: Any) -> list[str]:
    """Options recorded in metadata that a peer reading plain NIR would not reproduce."""
    try:
        spec, _ = node_to_spec(node)
    except ValueError:
        return []  # an unsupported or malformed node: listed elsewhere
    notes = []
    options = getattr(spec, "options", None)
    if options is not None and getattr(spec, "spiking", False):
        if options.reset != "zero":
            notes.append(f"reset={options.reset!r} (plain NIR: reset to v_reset)")
        if options.reset_delay:
            notes.append("reset_delay (snnTorch-style delayed reset)")
    if getattr(spec, "method", "euler") != "euler":
        notes.append(f"method={spec.method!r} (peers use Euler)")
    if getattr(spec, "refractory", 0.0) > 0.0:
        notes.append(f"refractory={spec.refractory:g} s (no NIR field)")
    return notes


def _order(graph: nir.NIRGraph) -> list[str]:
    """Node names breadth-first from the Input nodes (files store them alphabetically)."""
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    queue = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    seen: list[str] = []
    while queue:
        n = queue.pop(0)
        if n in seen or n not in graph.nodes:
            continue
        seen.append(n)
        queue += succ.get(n, [])
    return seen + [n for n in graph.nodes if n not in seen]


def _lines(graph: nir.NIRGraph, indent: str, unsupported: list[str], notes: list[str],
           prefix: str) -> list[str]:
    width = max((len(n) for n in graph.nodes), default=4)
    out = []
    for name in _order(graph):
        node = graph.nodes[name]
        kind = type(node).__name__
        full = f"{prefix}{name}"
        shapes = f"{_shape(node.input_type, 'input')} -> {_shape(node.output_type, 'output')}"
        if kind == "Input":
            shapes = _shape(node.input_type, "input")
        elif kind == "Output":
            shapes = _shape(node.output_type, "output")
        entry = NODE_TYPES.get(type(node))
        shown = entry.shown if entry is not None else ()
        params = ", ".join(f"{f}={_fmt(getattr(node, f))}" for f in shown
                           if getattr(node, f, None) is not None)
        flag = ""
        if entry is None:
            unsupported.append(f"{full} ({kind})")
            flag = "  [UNSUPPORTED]"
        for note in _notes(node):
            notes.append(f"{full}: {note}")
        out.append(f"{indent}{name:<{width}}  {kind:<9} {shapes:<22} {params}{flag}".rstrip())
        if isinstance(node, nir.NIRGraph):
            out.append(f"{indent}  subgraph {name!r}: {len(node.nodes)} nodes, edges "
                       + ", ".join(f"{a}->{b}" for a, b in node.edges))
            out += _lines(node, indent + "    ", unsupported, notes, f"{full}/")
    return out


def summarize(source: str | Path | Any) -> str:
    """The summary text of a NIR graph or ``.nir`` file (see the module docstring)."""
    graph = load_graph(source)
    md = graph.metadata or {}
    src = metadata_get(md, "source", "unknown")
    dt = metadata_get(md, "dt")
    head = (f"NIR graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges; written by {src}; "
            + (f"dt = {dt:g} s" if dt is not None else
               "no time step recorded (continuous time; pass dt when importing)"))
    unsupported: list[str] = []
    notes: list[str] = []
    body = _lines(graph, "  ", unsupported, notes, "")
    rank = {n: k for k, n in enumerate(_order(graph))}
    ordered = sorted(graph.edges, key=lambda e: (rank.get(e[0], 0), rank.get(e[1], 0)))
    edges = "edges: " + ", ".join(f"{a}->{b}" for a, b in ordered)
    tail = ["unsupported by neuromorph: " + (", ".join(unsupported) if unsupported else "none"),
            "not plain NIR (kept in metadata; peers will differ): "
            + ("; ".join(notes) if notes else "none")]
    return "\n".join([head, *body, edges, *tail])


__all__ = ["summarize"]
