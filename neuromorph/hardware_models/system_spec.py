"""A physical system <-> its :class:`~neuromorph.specs.System` spec.

A system built by :func:`~neuromorph.hardware_models.make_system` remembers its registry name
and options; with its sizes, seed and non-idealities that is enough to build the same device
again. Non-idealities are stored as ``{"type": class name, **constructor arguments}`` (their
public attributes are their constructor arguments). Systems made any other way (a callable
wrapped by ``as_system``) have no spec: saving one names the problem.
"""

from __future__ import annotations

import math
from typing import Any

from neuromorph import specs
from neuromorph.hardware_models import nonidealities as nonideality_classes
from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.nonidealities import NonIdeality


class NoSpecError(ValueError):
    """The object cannot be described by a spec (the message says why and what to do)."""


def _plain(value: Any, where: str) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise NoSpecError(f"{where} holds {type(value).__name__} {value!r:.40}, which a spec cannot "
                      "store; build the system with make_system options of plain numbers")


def nonideality_dict(n: NonIdeality) -> dict[str, Any]:
    """``{"type": ..., **arguments}`` of a non-ideality."""
    args = {k: _plain(v, f"{type(n).__name__}.{k}") for k, v in vars(n).items()
            if not k.startswith("_")}
    return {"type": type(n).__name__, **args}


def nonideality_from_dict(d: dict[str, Any]) -> NonIdeality:
    """Inverse of :func:`nonideality_dict`."""
    cls = getattr(nonideality_classes, str(d.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, NonIdeality)):
        raise NoSpecError(f"unknown non-ideality type {d.get('type')!r}")
    return cls(**{k: v for k, v in d.items() if k != "type"})


def system_spec(system: PhysicalSystem) -> specs.System:
    """The spec that rebuilds ``system`` (see the module docstring)."""
    made_as = getattr(system, "made_as", None)
    if made_as is None:
        raise NoSpecError(f"{system.name} was not built by hardware_models.make_system, so it has "
                          "no spec; register it in hardware_models.SYSTEMS and build it by name")
    name, options = made_as
    opts = {k: _plain(v, f"option {k!r} of {name}") for k, v in options.items()}
    return specs.System(name=name, n_in=system.n_in, n_out=system.n_out, seed=system.seed,
                        options=opts,
                        nonidealities=tuple(nonideality_dict(n) for n in system.nonidealities))


def system_from_spec(spec: specs.System) -> PhysicalSystem:
    """The system ``spec`` describes (fresh query counters)."""
    from neuromorph.hardware_models import make_system

    system = make_system(spec.name, spec.n_in, spec.n_out, seed=spec.seed, **dict(spec.options))
    system.nonidealities.extend(nonideality_from_dict(d) for d in spec.nonidealities)
    return system


__all__ = ["NoSpecError", "nonideality_dict", "nonideality_from_dict", "system_from_spec",
           "system_spec"]
