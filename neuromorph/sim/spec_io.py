"""Event-engine networks <-> spec graphs (:class:`neuromorph.specs.Graph`), and so NIR.

The mapping keeps NIR's continuous-time meaning (spikes are Dirac impulses; a node with several
incoming edges sums them), so the graph is the same model for any NIR consumer:

=============================  ==============================================================
engine object                  graph (``tau`` s, ``r`` ohm, ``v`` V)
=============================  ==============================================================
``LIFGroup`` ``g``             node ``g`` = ``LIF(tau=tau_m, r=r_m, v_leak=v_rest, v_threshold,
                               zero reset to v_reset, method="exact", refractory)``
channel ``k`` of ``g``         node ``g.k`` = ``LI(tau=tau_k, r=tau_k scale_k / r_m,
                               v_leak=0)`` with edge ``g.k -> g``: a spike of weight ``w``
                               makes it jump by ``scale_k w / r_m``, so ``r_m * (g.k)``
                               is ``scale_k x_k`` in ``tau_m dv/dt``
``Projection`` ``p`` -> ``g.k``  node ``p`` = ``Affine(n_src, n_tgt, bias=False)``, weight
                               ``W[post, pre] = w`` (zero = no synapse), edges ``src -> p -> g.k``
``Projection`` ``p`` -> ``g.v``  the same, straight into ``g``, weight ``w tau_m / r_m``
homogeneous delay ``d > 0``    node ``p.delay`` = ``Delay(d)`` between ``src`` and ``p``
``PoissonGroup`` / spike gen.  node = ``Input((n,))``; rates / spike times in the metadata
injected current ``I`` of g    node ``g.I`` = ``Input((n,))`` with edge ``g.I -> g``, and
                               ``g.spikes`` = ``Output((n,))``: NIR's entry and exit points, also
                               for a network driven only by itself
=============================  ==============================================================

Object order, ``dt``, input data and ``integrate_refractory`` go in ``Graph.metadata`` under
:data:`ENGINE_KEY`, so :func:`network_from_spec` rebuilds the network with the same objects in
the same order: with the same initial state it gives the same spikes (tested in float64 through a
NIR file). What the engine has and NIR lacks (plasticity, conductance channels, HH, Izhikevich,
per-synapse delays, duplicate synapses) is refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neuromorph import specs
from neuromorph.sim.groups import LIFGroup, NeuronGroup
from neuromorph.sim.inputs import PoissonGroup, SpikeGeneratorGroup
from neuromorph.sim.monitors import PopulationRateMonitor, SpikeMonitor, StateMonitor
from neuromorph.sim.network import Network
from neuromorph.sim.projections import Projection

ENGINE_KEY = "neuromorph.engine"
Weights = dict[str, dict[str, np.ndarray]]
_MONITORS = (SpikeMonitor, StateMonitor, PopulationRateMonitor)


class NotRepresentableError(ValueError):
    """An engine object with no spec-graph form; the message names it and what to do."""


def _group_nodes(g: LIFGroup, nodes: dict, edges: list) -> None:
    nodes[g.name] = g.spec
    nodes[f"{g.name}.I"] = specs.Input((g.n,))  # the injected current I (A), times r_m
    nodes[f"{g.name}.spikes"] = specs.Output((g.n,))  # what a monitor of the group records
    edges.extend([(f"{g.name}.I", g.name), (g.name, f"{g.name}.spikes")])
    for k, ch in g.channels.items():
        if ch.e_rev is not None:
            raise NotRepresentableError(f"channel {k!r} of {g.name!r} is a conductance "
                                        "(e_rev); NIR has no conductance synapse")
        nodes[f"{g.name}.{k}"] = specs.LI(shape=(g.n,), tau=ch.tau, r=ch.tau * ch.scale / g.r_m,
                                          v_leak=0.0, method="exact")
        edges.append((f"{g.name}.{k}", g.name))


def _projection_nodes(p: Projection, nodes: dict, edges: list, weights: Weights,
                      static: bool) -> None:
    if p.plasticity is not None and not static:
        raise NotRepresentableError(f"projection {p.name!r} is plastic "
                                    f"({type(p.plasticity).__name__}); NIR graphs are static: "
                                    "pass static=True to export its current weights")
    src, tgt = p.source_group, p.target_group
    pre = p.pre.long() + p.s0
    post = p.post.long() + p.t0
    if torch.unique(pre * tgt.n + post).numel() != p.nnz:
        raise NotRepresentableError(f"projection {p.name!r} has several synapses between one pair; "
                               "a dense NIR weight matrix holds one")
    delays = torch.unique(p.delay)
    if delays.numel() > 1:
        raise NotRepresentableError(f"projection {p.name!r} has per-synapse delays; NIR delays are "
                               "per source neuron")
    w = p.weights.detach().cpu().double()
    target = f"{tgt.name}.{p.target_var}"
    if p.target_var == "v":
        w, target = w * (tgt.tau_m / tgt.r_m), tgt.name
    W = torch.zeros(tgt.n, src.n, dtype=torch.float64)
    W[post, pre] = w
    nodes[p.name] = specs.Affine(src.n, tgt.n, bias=False)
    weights[p.name] = {"weight": W.numpy()}
    first = p.name
    d = float(delays[0]) if delays.numel() else 0.0
    if d > 0:
        first = f"{p.name}.delay"
        nodes[first] = specs.Delay(d)
        edges.append((first, p.name))
    edges.extend([(src.name, first), (p.name, target)])


def _input_meta(obj: PoissonGroup | SpikeGeneratorGroup) -> dict[str, Any]:
    if isinstance(obj, PoissonGroup):
        rates = obj.rates.tolist()
        return {"type": "poisson", "rates": rates[0] if len(set(rates)) == 1 else rates,
                "stream": obj.stream}
    return {"type": "spike_times", "indices": obj.indices.tolist(), "times": obj.times.tolist()}


def network_spec(net: Network, *, static: bool = False) -> tuple[specs.Graph, Weights]:
    """``(graph, weights)`` of ``net`` (module table); monitors are left out.

    A plastic projection is refused unless ``static=True``: then it is frozen, i.e. written as
    a static ``Affine`` with its *current* weights (the rule, its traces and bounds are dropped;
    the names of the frozen projections are listed in the metadata under ``"frozen"``), which is
    how a trained plastic network is exported (NIR has no plasticity).
    """
    nodes: dict[str, specs.Spec] = {}
    edges: list[tuple[str, str]] = []
    weights: Weights = {}
    meta: dict[str, Any] = {"dt": net.dt, "order": [], "inputs": {}, "integrate_refractory": {},
                            "frozen": []}
    for obj in net.objects:
        if isinstance(obj, _MONITORS):
            continue
        meta["order"].append(obj.name)
        if type(obj) is LIFGroup:
            _group_nodes(obj, nodes, edges)
            meta["integrate_refractory"][obj.name] = not obj.clamp_v
        elif isinstance(obj, PoissonGroup | SpikeGeneratorGroup):
            nodes[obj.name] = specs.Input((obj.n,))
            meta["inputs"][obj.name] = _input_meta(obj)
        elif isinstance(obj, Projection):
            _projection_nodes(obj, nodes, edges, weights, static)
            if obj.plasticity is not None:
                meta["frozen"].append(obj.name)
        else:
            kind = "neuron group" if isinstance(obj, NeuronGroup) else "object"
            raise NotRepresentableError(f"{kind} {obj.name!r} ({type(obj).__name__}) has no spec "
                                   "graph form; LIF groups with current channels, projections "
                                   "and Poisson / spike-time inputs do")
    return specs.Graph(nodes, tuple(edges), {ENGINE_KEY: meta}), weights


# -- graph -> network ---------------------------------------------------------------------------
def _channels(graph: specs.Graph, group: str, lif: specs.LIF) -> dict[str, specs.Channel]:
    out: dict[str, specs.Channel] = {}
    for name in graph.predecessors(group):
        li = graph.nodes[name]
        if isinstance(li, specs.LI):
            k = name[len(group) + 1:] if name.startswith(group + ".") else name
            out[k] = specs.Channel(li.tau, scale=li.r * lif.r / li.tau)
    return out


def _source(graph: specs.Graph, proj: str) -> tuple[str, float]:
    (src,) = graph.predecessors(proj)
    node = graph.nodes[src]
    if isinstance(node, specs.Delay):
        (origin,) = graph.predecessors(src)
        return origin, float(node.delay)
    return src, 0.0


def _projection(graph: specs.Graph, name: str, w: np.ndarray, objs: dict[str, Any]) -> Projection:
    src, delay = _source(graph, name)
    (dst,) = graph.successors(name)
    if isinstance(graph.nodes[dst], specs.LI):
        (group,) = graph.successors(dst)
        var = dst[len(group) + 1:] if dst.startswith(group + ".") else dst
        W = torch.as_tensor(w, dtype=torch.float64)
    else:
        group, var = dst, "v"
        lif = graph.nodes[dst]
        W = torch.as_tensor(w, dtype=torch.float64) * (lif.r / lif.tau)
    pre, post = torch.nonzero(W.T, as_tuple=True)  # pre-major: the engine's CSR order
    return Projection(objs[src], objs[group], var, (pre, post), weight=W[post, pre],
                      delay=delay, name=name)


def _input(name: str, n: int, meta: dict[str, Any]) -> PoissonGroup | SpikeGeneratorGroup:
    if meta is None:
        raise NotRepresentableError(f"input {name!r} has no spike source in the metadata; add a "
                               "PoissonGroup or SpikeGeneratorGroup of that name yourself")
    if meta["type"] == "poisson":
        return PoissonGroup(n, torch.as_tensor(meta["rates"], dtype=torch.float64), name=name,
                            stream=meta.get("stream", "poisson"))
    return SpikeGeneratorGroup(n, meta["indices"], meta["times"], name=name)


def _is_current_input(graph: specs.Graph, name: str, meta: dict[str, Any]) -> bool:
    succ = graph.successors(name)
    return (name not in meta.get("inputs", {}) and len(succ) == 1
            and isinstance(graph.nodes[succ[0]], specs.LIF))


def _plain(value: Any) -> Any:
    """Metadata as plain Python (a NIR file gives numpy arrays, scalars and bytes back)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def network_from_spec(graph: specs.Graph, weights: Weights, *, dt: float | None = None,
                      **network_kwargs: Any) -> Network:
    """The engine network ``graph`` describes (inverse of :func:`network_spec`); ``dt``
    defaults to the one recorded; ``network_kwargs`` go to :class:`Network` (seed, device...)."""
    meta = _plain(graph.metadata.get(ENGINE_KEY, {}))
    dt = dt if dt is not None else meta.get("dt")
    if dt is None:
        raise NotRepresentableError("the graph records no engine step; pass dt (seconds)")
    channel_nodes = {a for a, b in graph.edges if isinstance(graph.nodes[a], specs.LI)
                     and isinstance(graph.nodes[b], specs.LIF)}
    order = meta.get("order") or [k for k in graph.nodes if k not in channel_nodes]
    net = Network(dt=dt, **network_kwargs)
    objs: dict[str, Any] = {}
    for name in order:
        node = graph.nodes.get(name)
        if isinstance(node, specs.LIF):
            objs[name] = net.add(LIFGroup.from_spec(
                node, channels=_channels(graph, name, node), name=name,
                integrate_refractory=meta.get("integrate_refractory", {}).get(name, False)))
        elif isinstance(node, specs.Input) and _is_current_input(graph, name, meta):
            continue  # the group's own current row, driven by CurrentInput / group.I
        elif isinstance(node, specs.Input):
            objs[name] = net.add(_input(name, node.shape[0], meta.get("inputs", {}).get(name)))
        elif isinstance(node, specs.Affine):
            net.add(_projection(graph, name, weights[name]["weight"], objs))
        elif not isinstance(node, specs.Delay | specs.Output):
            raise NotRepresentableError(f"node {name!r} ({type(node).__name__}) has no engine form")
    return net


__all__ = ["ENGINE_KEY", "NotRepresentableError", "network_from_spec", "network_spec"]
