"""The NIR <-> neuromorph time convention, stated once and applied on both sides.

NIR is continuous time: a node stores ``tau``, ``r``, ``v_leak``, ``v_threshold``, ``v_reset``
(SI units: s, ohm, V) and no time step. neuromorph simulates on a grid of step ``dt`` (s), so
every conversion is explicit about three things:

1. **dt.** Export writes the model's ``dt`` into the graph metadata (``metadata["dt"]``).
   Import takes ``dt`` from the caller, else from that metadata, else fails: a NIR file from a
   peer carries no step. snnTorch's exporter assumes ``dt = 1e-4`` s and Norse's ``1e-3`` s
   (:data:`PEER_DT`). ``to_nir(..., dt_target=d)`` rewrites the time constants (and the
   integrator gains) so that a simulator stepping with ``d`` reproduces this model's steps
   exactly (:func:`retime`): ``tau -> tau d / dt``, ``delay -> delay d / dt``,
   ``r -> r dt / d`` for ``IF`` and ``I``.
2. **Discretisation.** :mod:`neuromorph.primitives.discretize` (one place): Euler by default,
   ``alpha = 1 - dt / tau``, input gain ``r dt / tau``, leak bias ``(dt / tau) v_leak``; this is
   also what snnTorch and Norse compute. A model using ``method="exact"`` exports the same
   continuous parameters and records ``method`` in each neuron node's metadata.
3. **Reset and input scaling.** NIR's spiking nodes reset *to* ``v_reset`` in the step of the
   spike (neuromorph ``reset="zero"``, ``reset_delay=False``): that is what a peer graph means
   on import. neuromorph's other options (``"subtract"``, snnTorch's delayed reset) have no NIR
   field; export keeps them, with the rest of the spec NIR cannot hold, as JSON in the node's
   ``metadata["neuromorph"]`` (:mod:`neuromorph.nir.spec_codec`) so that ours -> NIR -> ours is
   exact, and lists them under "not plain NIR" (see :func:`neuromorph.nir.inspect.summarize`):
   a peer that ignores metadata will reset to ``v_reset``. Input scaling is NIR's own ``r``
   (and ``w_in`` for CubaLIF / CubaLI), kept as is; snnTorch's unit-gain convention is
   ``r = tau / dt``.

A feedback edge (a cycle, e.g. ``LIF -> Linear -> LIF``) is delayed by one step in discrete
time: the recurrent input at step ``t`` is computed from the spikes of step ``t - 1``
(snnTorch ``RLeaky``, neuromorph :class:`~neuromorph.networks.spiking_layers.RecurrentSpiking`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Time step (s) that each peer's NIR code assumes (snnTorch: ``export_nir``/``import_nir`` use
#: ``dt = 1e-4``; Norse: ``from_nir(dt=0.001)`` / ``to_nir(dt=0.001)`` defaults).
PEER_DT: dict[str, float] = {"snntorch": 1e-4, "norse": 1e-3}

#: Graph-metadata key that marks a file written by neuromorph.
SOURCE_KEY = "source"
SOURCE_VALUE = "neuromorph"


class NIRConversionError(ValueError):
    """A NIR graph (or a model) cannot be converted; the message names the node and the fix."""


def node_error(name: str, node: Any, message: str) -> NIRConversionError:
    """An error that names the node (``name``, its NIR type) first."""
    kind = type(node).__name__ if node is not None else "?"
    return NIRConversionError(f"NIR node {name!r} ({kind}): {message}")


def decode_shape(text: Any) -> tuple[int, ...] | None:
    """A shape from the metadata text of older files: ``"none" -> None``, ``"scalar" -> ()``,
    ``"3,1" -> (3, 1)`` (``bytes`` from HDF5 are accepted)."""
    if isinstance(text, bytes):
        text = text.decode("utf8")
    text = str(text)
    if text == "none":
        return None
    if text == "scalar":
        return ()
    return tuple(int(s) for s in text.split(","))


def shrink(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo ``np.broadcast_to(x, array.shape)`` for an ``x`` of ``shape`` (checks uniformity)."""
    lead = array.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot shrink an array of shape {array.shape} to {shape}")
    padded = (1,) * lead + tuple(shape)
    index = tuple(slice(0, 1) if p == 1 else slice(None) for p in padded)
    small = array[index]
    if not np.array_equal(np.broadcast_to(small, array.shape), array):
        raise ValueError(f"values are not uniform along the broadcast axes of shape {shape}")
    return small.reshape(shape)


def metadata_get(metadata: dict | None, key: str, default: Any = None) -> Any:
    """A metadata value as a plain Python value (HDF5 returns numpy scalars and bytes)."""
    if not metadata or key not in metadata:
        return default
    value = metadata[key]
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def retime(graph: Any, factor: float) -> None:
    """Stretch the time axis of ``graph`` (a ``nir.NIRGraph``) by ``factor``, in place.

    Afterwards a simulator with step ``factor * dt`` computes the same discrete dynamics as the
    original graph with step ``dt`` (Euler: ``alpha = 1 - dt / tau`` and ``gain = r dt / tau``
    are invariant; for IF / I the gain ``r dt`` is kept by dividing ``r``). Which fields scale
    is each node type's ``time_fields`` in :data:`neuromorph.nir.registry.NODE_TYPES`. Recurses
    into subgraphs and updates ``metadata["dt"]`` when present.
    """
    factor = float(factor)
    if not (factor > 0 and math.isfinite(factor)):
        raise ValueError(f"time factor must be a positive number, got {factor}")
    from neuromorph.nir.registry import NODE_TYPES  # the registry reads this module

    for node in graph.nodes.values():
        if isinstance(node, type(graph)):
            retime(node, factor)
            continue
        entry = NODE_TYPES.get(type(node))
        for field, how in (entry.time_fields if entry is not None else {}).items():
            value = np.asarray(getattr(node, field))
            scaled = value * factor if how == "time" else value / factor
            setattr(node, field, scaled.astype(value.dtype, copy=False))
    if graph.metadata and "dt" in graph.metadata:
        graph.metadata["dt"] = float(metadata_get(graph.metadata, "dt")) * factor


__all__ = [
    "PEER_DT",
    "NIRConversionError",
    "decode_shape",
    "metadata_get",
    "node_error",
    "retime",
    "shrink",
]
