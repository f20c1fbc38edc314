"""NIR (Neuromorphic Intermediate Representation) import and export.

- :func:`to_nir` / :func:`export_nir` turn a neuromorph network into a ``nir.NIRGraph`` / a ``.nir``
  file; :func:`from_nir` turns a graph or file (ours or a peer's) into neuromorph modules;
  :func:`summarize` describes a file (``neuromorph inspect``).
- :func:`spec_to_node` / :func:`node_to_spec` (one spec per NIR node) and :func:`graph_to_nir` /
  :func:`nir_to_graph` (a :class:`neuromorph.specs.Graph` and its weights) convert specs without
  torch; import and export of modules go node -> spec -> layer and layer -> spec -> node.
- :data:`NODE_TYPES` is the one registry NIR node class -> spec class and codec.
- The time convention (explicit ``dt``, Euler, reset semantics, :data:`PEER_DT`) is documented in
  :mod:`neuromorph.nir.convention`; ``docs/nir.md`` has the peer interoperability notes.

Needs the optional ``nir`` package (``pip install 'neuromorph[nir]'``). Names load lazily, so
``import neuromorph.nir`` (and the CLI) work without it until a converter is used.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "NODE_TYPES": "neuromorph.nir.registry",
    "PEER_DT": "neuromorph.nir.convention",
    "NIRConversionError": "neuromorph.nir.convention",
    "retime": "neuromorph.nir.convention",
    "GraphNetwork": "neuromorph.nir.graph_module",
    "export_nir": "neuromorph.nir.export",
    "to_nir": "neuromorph.nir.export",
    "from_nir": "neuromorph.nir.import_",
    "load_graph": "neuromorph.nir.import_",
    "summarize": "neuromorph.nir.inspect",
    "graph_to_nir": "neuromorph.nir.spec_nodes",
    "nir_to_graph": "neuromorph.nir.spec_nodes",
    "node_to_spec": "neuromorph.nir.spec_nodes",
    "spec_to_node": "neuromorph.nir.spec_nodes",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'neuromorph.nir' has no attribute {name!r}")
    try:
        module = importlib.import_module(_EXPORTS[name])
    except ModuleNotFoundError as err:
        if err.name in ("nir", "h5py"):
            raise ImportError(
                "neuromorph.nir needs the 'nir' package; install it with "
                "pip install 'neuromorph[nir]' (or pip install nir)"
            ) from err
        raise
    return getattr(module, name)


__all__ = sorted(_EXPORTS)
