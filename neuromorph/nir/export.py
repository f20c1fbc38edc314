"""neuromorph network -> NIR graph (``to_nir``) and -> ``.nir`` file (``export_nir``).

Layer mapping (node names follow the module path, e.g. ``"0.synapse"``, ``"0.neuron"``):

- :class:`~neuromorph.networks.spiking_layers.SpikingLinear` -> ``Affine`` (``Linear`` without
  bias) + its neuron node; ``SpikingConv2d`` -> ``Conv2d`` + neuron;
- ``RecurrentSpiking`` -> ``Affine`` (input) + a subgraph ``{Input -> neuron <-> Linear (W_rec),
  neuron -> Output}`` (the snnTorch ``RLeaky`` layout);
- a top-level ``SpikingSequential`` -> a chain ``Input -> ... -> Output``; a nested one or an
  imported :class:`~neuromorph.nir.graph_module.GraphNetwork` -> a subgraph;
- single layers: layer -> spec (a neuron's ``.spec``; see
  :func:`neuromorph.nir.converters.module_spec`) -> node
  (:func:`neuromorph.nir.spec_nodes.spec_to_node`): LIF, CubaLIF, IF, LI, ``nn.Linear``,
  ``nn.Conv1d/2d``, ``nn.Flatten``, ``nn.AvgPool2d`` and the layers of
  :mod:`neuromorph.nir.layers`; ``nn.Identity`` / ``nn.Dropout`` (identity at inference) are
  skipped. Anything else (ALIF: no NIR node) is an error naming the layer.

The time step and the options NIR has no field for are written as metadata (see
:mod:`neuromorph.nir.convention`), so :func:`neuromorph.nir.from_nir` rebuilds the model exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from neuromorph.networks.neurons import NeuronBase
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)
from neuromorph.nir.convention import SOURCE_KEY, SOURCE_VALUE, NIRConversionError, retime
from neuromorph.nir.converters import exportable_layers, module_node
from neuromorph.nir.graph_module import GraphNetwork, is_stateful
from neuromorph.nir.layers import Delay

Shape = tuple[int, ...]
_SKIP = (nn.Identity, nn.Dropout)


@dataclass
class _Graph:
    nodes: dict[str, Any] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, node: Any) -> str:
        if name in self.nodes:
            raise NIRConversionError(f"duplicate NIR node name {name!r}")
        self.nodes[name] = node
        return name


def _probe(module: nn.Module, shape: Shape) -> Shape:
    """Feature shape of ``module``'s output for features ``shape`` (one zero step)."""
    with torch.no_grad():
        if is_stateful(module):
            y = module(torch.zeros(1, 1, *shape))
            return tuple((y if isinstance(y, torch.Tensor) else y[0]).shape[2:])
        return tuple(module(torch.zeros(1, *shape)).shape[1:])


def _single(g: _Graph, module: nn.Module, name: str, shape: Shape) -> tuple[str, str, Shape]:
    """One layer -> its spec (+ weights) -> one node (:func:`module_node`)."""
    try:
        node = module_node(module, shape)
    except (ValueError, AssertionError) as err:
        raise NIRConversionError(f"layer {name!r} ({type(module).__name__}): {err}") from err
    if node is None:
        supported = sorted(set(exportable_layers()) | {c.__name__ for c in _CONTAINERS})
        raise NIRConversionError(
            f"layer {name!r} ({type(module).__name__}) has no NIR equivalent; exportable "
            f"layers: {', '.join(supported)}")
    g.add(name, node)
    return name, name, _probe(module, shape)


def _spiking_linear(g: _Graph, m: SpikingLinear, name: str, shape: Shape):
    syn, _, mid = _single(g, m.synapse, f"{name}.synapse", shape)
    g.nodes[syn].metadata["module"] = "SpikingLinear"
    neu, _, out = _single(g, m.neuron, f"{name}.neuron", mid)
    g.edges.append((syn, neu))
    return syn, neu, out


def _spiking_conv(g: _Graph, m: SpikingConv2d, name: str, shape: Shape):
    syn, _, mid = _single(g, m.synapse, f"{name}.synapse", shape)
    g.nodes[syn].metadata["module"] = "SpikingConv2d"
    neu, _, out = _single(g, m.neuron, f"{name}.neuron", mid)
    g.edges.append((syn, neu))
    return syn, neu, out


def _recurrent(g: _Graph, m: RecurrentSpiking, name: str, shape: Shape):
    syn, _, (hidden,) = _single(g, m.input, f"{name}.input", shape)
    g.nodes[syn].metadata["module"] = "RecurrentSpiking"
    sub = _Graph()
    sub.add("input", nir.Input(input_type=np.array([hidden])))
    _single(sub, m.neuron, "neuron", (hidden,))
    _single(sub, m.recurrent, "recurrent", (hidden,))
    sub.add("output", nir.Output(output_type=np.array([hidden])))
    sub.edges += [("input", "neuron"), ("neuron", "recurrent"), ("recurrent", "neuron"),
                  ("neuron", "output")]
    g.add(name, nir.NIRGraph(nodes=sub.nodes, edges=sub.edges,
                             metadata={"module": "RecurrentSpiking"}))
    g.edges.append((syn, name))
    return syn, name, (hidden,)


def _nested(g: _Graph, m: nn.Module, name: str, shape: Shape):
    sub, out = _graph_of(m, shape)
    g.add(name, nir.NIRGraph(nodes=sub.nodes, edges=sub.edges,
                             metadata={"module": type(m).__name__}))
    return name, name, out


#: container layer -> how it expands into nodes (single layers: converters.module_node)
_CONTAINERS: dict[type, Callable[..., tuple[str, str, Shape]]] = {
    SpikingLinear: _spiking_linear,
    SpikingConv2d: _spiking_conv,
    RecurrentSpiking: _recurrent,
    SpikingSequential: _nested,
    GraphNetwork: _nested,
}


def _emit(g: _Graph, m: nn.Module, name: str, shape: Shape) -> tuple[str | None, str | None,
                                                                    Shape]:
    if isinstance(m, _SKIP):
        return None, None, shape
    fn = _CONTAINERS.get(type(m))
    if fn is not None:
        return fn(g, m, name, shape)
    return _single(g, m, name, shape)


def _chain(g: _Graph, layers: list[tuple[str, nn.Module]], shape: Shape) -> Shape:
    last = g.add("input", nir.Input(input_type=np.array(shape, dtype=np.int64)))
    for name, layer in layers:
        first, end, shape = _emit(g, layer, name, shape)
        if first is not None:
            g.edges.append((last, first))
            last = end
    g.add("output", nir.Output(output_type=np.array(shape, dtype=np.int64)))
    g.edges.append((last, "output"))
    return shape


def _graph_network(g: _Graph, m: GraphNetwork) -> Shape:
    ends: dict[str, tuple[str, str]] = {}
    out_shape: Shape = ()
    shapes: dict[str, Shape] = {}
    for n in m.inputs:
        g.add(n, nir.Input(input_type=np.array(m.io_shapes[n], dtype=np.int64)))
        ends[n], shapes[n] = (n, n), m.io_shapes[n]
    for n in m.order:
        if n in m.inputs:
            continue
        pred = next((p for p in m.preds[n] if p in shapes), None)
        shape = shapes[pred] if pred is not None else ()
        block = m.block(n)
        if block is None:  # Output
            g.add(n, nir.Output(output_type=np.array(shape, dtype=np.int64)))
            ends[n], shapes[n], out_shape = (n, n), shape, shape
            continue
        first, last, shapes[n] = _emit(g, block, n, shape)
        ends[n] = (first, last)
    for a, b in m.edges:
        g.edges.append((ends[a][1], ends[b][0]))
    return out_shape


def _graph_of(model: nn.Module, shape: Shape) -> tuple[_Graph, Shape]:
    g = _Graph()
    if isinstance(model, GraphNetwork):
        return g, _graph_network(g, model)
    if isinstance(model, SpikingSequential):
        layers = [(str(i), layer) for i, layer in enumerate(model.layers)]
    else:
        layers = [("0", model)]
    return g, _chain(g, layers, shape)


def infer_input_shape(model: nn.Module) -> Shape | None:
    """The per-sample input shape of ``model`` when its first layer determines it."""
    first = model
    while isinstance(first, SpikingSequential) and len(first) > 0:
        first = first[0]
    if isinstance(first, GraphNetwork) and len(first.inputs) == 1:
        return first.io_shapes[first.inputs[0]]
    lin = {SpikingLinear: lambda m: m.synapse, RecurrentSpiking: lambda m: m.input}
    first = lin[type(first)](first) if type(first) in lin else first
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    if isinstance(first, NeuronBase) and first.shape is not None:
        return first.shape
    return None


def model_dt(model: nn.Module) -> float | None:
    """The one time step of the model's neurons and delays (error if they disagree)."""
    dts = {float(m.dt) for m in model.modules() if isinstance(m, (NeuronBase, Delay))}
    if len(dts) > 1:
        raise NIRConversionError(f"the model mixes time steps {sorted(dts)} s; NIR export needs "
                                 "one dt for the whole network")
    return dts.pop() if dts else None


def to_nir(model: nn.Module, *, input_shape: Shape | None = None,
           dt_target: float | None = None) -> nir.NIRGraph:
    """The NIR graph of ``model`` (see the module docstring for the layer mapping).

    ``input_shape``: per-sample input features (needed when the first layer does not fix them,
    e.g. a convolution: ``(C, H, W)``). ``dt_target`` (s): express the graph for a simulator that
    steps with ``dt_target`` (time constants scaled by ``dt_target / dt``; see
    :func:`neuromorph.nir.convention.retime`), e.g. ``PEER_DT["snntorch"]``.
    """
    shape = tuple(input_shape) if input_shape is not None else infer_input_shape(model)
    if shape is None:
        raise NIRConversionError(
            f"cannot infer the input shape of {type(model).__name__}; pass input_shape=(C, H, W)"
            " (per-sample features, no time or batch axis)"
        )
    g, _ = _graph_of(model, tuple(int(s) for s in shape))
    dt = model_dt(model)
    metadata: dict[str, Any] = {SOURCE_KEY: SOURCE_VALUE, "module": type(model).__name__}
    if dt is not None:
        metadata["dt"] = dt
    try:
        graph = nir.NIRGraph(nodes=g.nodes, edges=g.edges, metadata=metadata)
    except (ValueError, AssertionError) as err:
        raise NIRConversionError(f"the exported graph is inconsistent: {err}") from err
    if dt_target is not None:
        if dt is None:
            raise NIRConversionError("dt_target needs a model with neurons (it has no dt)")
        retime(graph, float(dt_target) / dt)
    return graph


def export_nir(model: nn.Module, path: str | Path, **kwargs: Any) -> nir.NIRGraph:
    """Write ``to_nir(model, **kwargs)`` to ``path`` (HDF5 ``.nir`` file); returns the graph."""
    graph = to_nir(model, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nir.write(str(path), graph)
    return graph


__all__ = ["export_nir", "infer_input_shape", "model_dt", "to_nir"]
