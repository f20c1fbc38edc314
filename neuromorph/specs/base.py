"""The spec base class: a network element as frozen, validated, serialisable data.

A spec holds what defines an element (continuous-time parameters in SI units, shapes, options),
never its trained state (weights live in a ``state_dict`` beside it). Specs are built once,
checked once in ``__post_init__``, compared by value, and round-trip through plain dicts
(``to_dict`` / :func:`spec_from_dict`), so a run directory can store ``model.json`` and rebuild
the model without the code that trained it. Every spec class is registered by its ``kind`` tag in
:data:`SPECS`, the one registry consumers (dense modules, engine, NIR) dispatch on.

Parameters (:data:`Param`) are a float shared by all neurons, or a flat tuple of floats, one per
neuron (row-major over the spec's ``shape``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from neuromorph.specs.options import SpikeOptions

Param = float | tuple[float, ...]
Shape = tuple[int, ...] | None

#: kind tag -> spec class. The one registry of spec types.
SPECS: dict[str, type[Spec]] = {}


def register(cls: type[Spec]) -> type[Spec]:
    """Class decorator: add ``cls`` to :data:`SPECS` under ``cls.kind`` (unique)."""
    if cls.kind in SPECS and SPECS[cls.kind] is not cls:
        raise ValueError(f"spec kind {cls.kind!r} is registered twice")
    SPECS[cls.kind] = cls
    return cls


def _floats(value: Any) -> list[float]:
    if hasattr(value, "detach"):  # torch tensor (no torch import needed here)
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray | np.generic) and value.dtype == np.float32:
        # float32 values as their shortest decimal (0.01, not 0.009999999776), so a spec read
        # back from float32 storage (a layer's buffers, a NIR file) equals the one written
        return [float(np.format_float_positional(v, unique=True, trim="-"))
                for v in np.ravel(value)]
    if hasattr(value, "tolist"):  # numpy array / scalar
        value = value.tolist()
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, Sequence) and not isinstance(value, str):
        out: list[float] = []
        for v in value:
            out.extend(_floats(v))
        return out
    raise TypeError(f"expected a number or an array of numbers, got {type(value).__name__}")


def as_param(value: Any, name: str, *, positive: bool = False, size: int | None = None) -> Param:
    """``value`` as a :data:`Param`: a float, or a tuple of ``size`` floats (one per neuron).

    A one-element array, or one whose values are all equal, becomes a float. Raises one
    ``ValueError`` naming ``name`` for a non-finite or (``positive=True``) non-positive value,
    or a tuple of the wrong length.
    """
    try:
        vals = _floats(value)
    except TypeError as err:
        raise ValueError(f"{name}: {err}") from None
    if not vals:
        raise ValueError(f"{name} is empty; give a number or one value per neuron")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not all(v > 0 for v in vals):
        raise ValueError(f"{name} must be positive (SI units), got {value!r}")
    if len(set(vals)) == 1:
        return vals[0]
    if size is not None and len(vals) != size:
        raise ValueError(f"{name} has {len(vals)} values but the population has {size} neurons")
    return tuple(vals)


def as_shape(shape: Any, name: str = "shape") -> Shape:
    """``None``, an int or a sequence of positive ints, as a tuple (or ``None``)."""
    if shape is None:
        return None
    out = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if not out or any(s <= 0 for s in out):
        raise ValueError(f"{name} must be positive sizes, got {shape!r}")
    return out


def _encode(value: Any) -> Any:
    if isinstance(value, (Spec, SpikeOptions)):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind == "SpikeOptions":
            return SpikeOptions.from_dict(value)
        if kind is not None:
            return spec_from_dict(value)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


@dataclass(frozen=True)
class Spec:
    """Base of all specs: value semantics, a ``kind`` tag and dict round-trip."""

    kind: ClassVar[str] = "Spec"
    #: what this spec has that NIR has no node for ("" when it has a NIR form); read by the NIR
    #: converters and by ``neuromorph export`` (the one place these reasons are written)
    no_nir_node: ClassVar[str] = ""

    def _set(self, name: str, value: Any) -> None:
        """Normalise a field in ``__post_init__`` (the dataclass is frozen)."""
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., field: value, ...}`` with nested specs as dicts (JSON-ready)."""
        return {"kind": self.kind, **{f.name: _encode(getattr(self, f.name))
                                      for f in fields(self)}}

    def replace(self, **changes: Any) -> Spec:
        """A copy with ``changes`` applied (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = sorted(set(changes) - set(values))
        if unknown:
            raise ValueError(f"{self.kind} has no fields {unknown}; fields: {sorted(values)}")
        return type(self)(**{**values, **changes})


def spec_from_dict(d: dict[str, Any]) -> Spec:
    """The spec that ``to_dict`` wrote (inverse of :meth:`Spec.to_dict`)."""
    if not isinstance(d, dict) or "kind" not in d:
        raise ValueError(f"a spec dict needs a 'kind' key, got {d!r:.80}")
    kind = d["kind"]
    if kind not in SPECS:
        raise ValueError(f"unknown spec kind {kind!r}; known kinds: {sorted(SPECS)}")
    cls = SPECS[kind]
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names - {"kind"})
    if unknown:
        raise ValueError(f"{kind} spec has unknown fields {unknown}; fields: {sorted(names)}")
    return cls(**{k: _decode(v) for k, v in d.items() if k != "kind"})


__all__ = ["SPECS", "Param", "Shape", "Spec", "as_param", "as_shape", "register",
           "spec_from_dict"]
