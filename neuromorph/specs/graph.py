"""Specs of whole networks: a chain of layers, or a graph of named nodes (NIR's shape).

- :class:`Sequential`: ``layers`` applied in order (the dense spiking stacks).
- :class:`Graph`: ``nodes`` by name and directed ``edges``; a node with several incoming edges
  receives their sum (NIR's convention). Maps 1:1 onto a ``nir.NIRGraph``.

Nodes may be any registered spec, including containers and physical systems, so one
``model.json`` describes every model a run trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuromorph.specs.base import Spec, register


@register
@dataclass(frozen=True)
class Sequential(Spec):
    """Layers applied in order: ``y = layers[-1](... layers[0](x))``.

    ``time_major``: the layers see ``[T, B, ...]`` sequences with per-layer state (a spiking
    stack); ``False``: a plain per-sample chain ``[B, ...]`` (``torch.nn.Sequential``)."""

    kind = "Sequential"
    layers: tuple[Spec, ...] = ()
    time_major: bool = True

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        bad = [type(x).__name__ for x in layers if not isinstance(x, Spec)]
        if bad:
            raise ValueError(f"Sequential layers must be specs, got {bad}")
        self._set("layers", layers)


@register
@dataclass(frozen=True)
class Graph(Spec):
    """Named nodes and directed edges ``(source, target)``; ``metadata`` is free-form JSON."""

    kind = "Graph"
    nodes: dict[str, Spec] = field(default_factory=dict)
    edges: tuple[tuple[str, str], ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        edges = tuple((str(a), str(b)) for a, b in self.edges)
        missing = sorted({n for e in edges for n in e} - set(self.nodes))
        if missing:
            raise ValueError(f"graph edges name unknown nodes {missing}; nodes: "
                             f"{sorted(self.nodes)}")
        bad = [k for k, v in self.nodes.items() if not isinstance(v, Spec)]
        if bad:
            raise ValueError(f"graph nodes {bad} are not specs")
        self._set("edges", edges)

    def __hash__(self) -> int:
        return hash((tuple(self.nodes.items()), self.edges))

    def predecessors(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]


__all__ = ["Graph", "Sequential"]
