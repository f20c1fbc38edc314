"""Event-engine networks to and from NIR files, through the spec graph
(:mod:`neuromorph.sim.spec_io`: the mapping; :mod:`neuromorph.nir.spec_nodes`: spec <-> node).

``engine_to_nir(net, "net.nir")`` writes the network (NIR continuous-time nodes, dense weights,
the engine's order, step and input data in the graph metadata); ``engine_from_nir("net.nir")``
builds the same engine network again. It lives in the NIR package, above the engine: the engine
itself never imports NIR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuromorph.sim.network import Network
from neuromorph.sim.spec_io import network_from_spec, network_spec


def _nir() -> Any:
    try:
        import nir
    except ImportError as err:
        raise ImportError(f"NIR export needs the nir package ({err}); pip install nir") from None
    return nir


def engine_to_nir(net: Network, path: str | Path) -> Path:
    """Write ``net`` (without its monitors) to the NIR file ``path``; returns the path."""
    from neuromorph.nir.spec_nodes import graph_to_nir

    graph, weights = network_spec(net)
    path = Path(path)
    _nir().write(path, graph_to_nir(graph, weights))
    return path


def engine_from_nir(path: str | Path, *, dt: float | None = None,
                    **network_kwargs: Any) -> Network:
    """The engine network stored in the NIR file ``path`` (see :func:`network_from_spec`)."""
    from neuromorph.nir.spec_nodes import nir_to_graph

    graph, weights = nir_to_graph(_nir().read(Path(path)))
    return network_from_spec(graph, weights, dt=dt, **network_kwargs)


__all__ = ["engine_from_nir", "engine_to_nir"]
