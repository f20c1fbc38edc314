"""Saved event-engine networks: the same ``NAME.json`` + ``NAME.pt`` pair as a dense model.

``NAME.json`` holds the network's spec :class:`~neuromorph.specs.Graph`
(:func:`neuromorph.sim.spec_io.network_spec`: LIF nodes, LI channel filters, ``Affine``
projections, ``Delay``, ``Input`` / ``Output``; the engine's object order, step and input data
in ``graph.metadata[ENGINE_KEY]``) and the step ``dt`` (s). ``NAME.pt`` holds the projection
weights, ``{node: {"weight": W [n_post, n_pre]}}`` as float64 tensors (loads with
``weights_only=True``). The same graph and weights export to NIR without building anything
(:func:`read_engine_graph` -> :func:`neuromorph.nir.spec_nodes.graph_to_nir`), and
:func:`load_engine_network` builds the engine network again
(:func:`~neuromorph.sim.spec_io.network_from_spec`).

A plastic projection is saved frozen (``static=True``): its weights at save time, no rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuromorph import specs
from neuromorph.models.model_file import (
    FORMAT,
    VERSION,
    ModelFileError,
    model_paths,
    read_spec,
    read_state,
    write_model_files,
)
from neuromorph.sim.network import Network
from neuromorph.sim.spec_io import ENGINE_KEY, network_from_spec, network_spec


def is_engine_graph(spec: specs.Spec) -> bool:
    """True for the spec graph of an event-engine network (it carries :data:`ENGINE_KEY`)."""
    return isinstance(spec, specs.Graph) and ENGINE_KEY in spec.metadata


def save_engine_network(folder: str | Path, net: Network, *, static: bool = False,
                        name: str = "model", info: dict[str, Any] | None = None) -> Path:
    """Write ``folder/NAME.json`` (spec graph, ``dt``) and ``folder/NAME.pt`` (weights) of the
    engine network ``net``; ``static=True`` freezes plastic projections at their current
    weights. Returns the json path."""
    graph, weights = network_spec(net, static=static)
    doc = {"format": FORMAT, "version": VERSION, "dt": float(net.dt),
           "spec": graph.to_dict(), "info": {**(info or {}), "engine": True}}
    state = {node: {k: torch.as_tensor(np.asarray(a, dtype=np.float64)) for k, a in w.items()}
             for node, w in weights.items()}
    return write_model_files(Path(folder), name, doc, state)


def read_engine_graph(path: str | Path) -> tuple[specs.Graph, dict[str, dict[str, np.ndarray]],
                                                 float, dict[str, Any]]:
    """``(graph, weights as numpy, dt, info)`` of a saved engine network (a run folder, its
    ``model.json`` or ``model.pt``); what :func:`~neuromorph.nir.spec_nodes.graph_to_nir`
    takes."""
    json_path, pt_path = model_paths(path)
    if not json_path.is_file():
        raise ModelFileError(f"{json_path} does not exist; a run folder holds model.json only "
                             "when its experiment trains a model")
    graph, dt, info = read_spec(json_path)
    if not is_engine_graph(graph):
        raise ModelFileError(f"{json_path} holds a {graph.kind} spec, not an event-engine "
                             "network; load it with neuromorph.models.load_model")
    state = read_state(json_path, pt_path)
    need = {k for k, v in graph.nodes.items() if isinstance(v, specs.Affine)}
    if not isinstance(state, dict) or set(state) != need:
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ModelFileError(f"{pt_path} does not fit the graph in {json_path.name} (weights "
                             f"for {got}, projections {sorted(need)}); rerun the experiment")
    weights = {k: {n: t.double().numpy() for n, t in w.items()} for k, w in state.items()}
    return graph, weights, float(dt), info


def load_engine_network(path: str | Path, **network_kwargs: Any) -> tuple[Network, dict[str, Any]]:
    """The saved engine network (built again, fresh state: ``v = v_rest``, empty buffers) and
    its ``info``; ``network_kwargs`` go to :class:`~neuromorph.sim.Network` (seed, dtype...)."""
    graph, weights, dt, info = read_engine_graph(path)
    return network_from_spec(graph, weights, dt=dt, **network_kwargs), info


__all__ = ["is_engine_graph", "load_engine_network", "read_engine_graph", "save_engine_network"]
