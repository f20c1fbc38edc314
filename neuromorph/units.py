"""SI numbers from plain floats or Brian2 ``Quantity`` values, with a warning on implausible times.

The engine works in SI units (seconds, volts, ohms, amperes, farads, siemens). A Brian2 user may
pass ``5*ms`` (a ``Quantity``, stored by Brian2 in SI base units, so ``5*ms`` reads as ``0.005``)
or, by habit, a bare ``5`` meaning milliseconds. The first is converted after its dimension is
checked; the second is read as seconds, and :class:`ImplausibleUnitWarning` (one line) says so
when the value is implausible as SI seconds:

- a simulation step ``dt >= 0.01 s``;
- a time constant or refractory period ``1 s <= tau < 1e4 s`` (values of ``1e4 s`` and more,
  or ``inf``, are read as a deliberate "no decay", e.g. ``tau_m=1e9`` for a perfect integrator);
- a run ``duration >= 100 s``.

A ``Quantity`` never warns: its unit is explicit. Brian2 is optional and never imported here;
a ``Quantity`` is recognised by its ``dim`` attribute (Brian2's ``Dimension``).
Silence the warning for an intended long value with
``warnings.simplefilter("ignore", ImplausibleUnitWarning)``.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np

from neuromorph.errors import NeuromorphError

#: SI base units in the order of the exponent tuples below (Brian2's ``Dimension`` names)
BASE_UNITS = ("m", "kg", "s", "A", "K", "mol", "cd")
#: unit name -> exponents of the SI base units; the only table of dimensions
DIMENSIONS: dict[str, tuple[int, ...]] = {
    "1": (0, 0, 0, 0, 0, 0, 0),
    "s": (0, 0, 1, 0, 0, 0, 0),
    "Hz": (0, 0, -1, 0, 0, 0, 0),
    "V": (2, 1, -3, -1, 0, 0, 0),
    "V/s": (2, 1, -4, -1, 0, 0, 0),
    "A": (0, 0, 0, 1, 0, 0, 0),
    "ohm": (2, 1, -3, -2, 0, 0, 0),
    "S": (-2, -1, 3, 2, 0, 0, 0),
    "F": (-2, -1, 4, 2, 0, 0, 0),
}
#: Brian2 spelling of each unit, for the messages
BRIAN2_NAMES = {"1": "1", "s": "ms", "Hz": "Hz", "V": "mV", "V/s": "mV/ms", "A": "nA",
                "ohm": "Mohm", "S": "nS", "F": "pF"}

#: plausibility bands in seconds: a value in [low, high) is probably not meant as seconds
STEP_BAND = (0.01, math.inf)
TIME_CONSTANT_BAND = (1.0, 1e4)
DURATION_BAND = (100.0, math.inf)

#: modules whose frames a warning skips, so that it points at the user's line
_INTERNAL = ("neuromorph.units", "neuromorph.sim.", "neuromorph.specs.")


class UnitError(NeuromorphError, ValueError):
    """A Brian2 ``Quantity`` of the wrong dimension (e.g. volts where seconds are expected)."""


class ImplausibleUnitWarning(UserWarning):
    """A bare number read as SI seconds looks like milliseconds (Brian2's habit)."""


def _dimension_of(value: Any) -> tuple[int, ...] | None:
    """The base-unit exponents of a Brian2 ``Quantity``; ``None`` for anything else."""
    dim = getattr(value, "dim", None)
    get = getattr(dim, "get_dimension", None)
    if get is None:
        return None
    return tuple(int(get(base)) for base in BASE_UNITS)


def _unit_text(exponents: tuple[int, ...]) -> str:
    named = {v: k for k, v in DIMENSIONS.items()}
    if exponents in named:
        return named[exponents]
    return " ".join(f"{b}^{e}" for b, e in zip(BASE_UNITS, exponents, strict=True) if e) or "1"


def as_si(value: Any, name: str, unit: str) -> float:
    """``value`` as an SI float in ``unit`` (a key of :data:`DIMENSIONS`).

    A float (or int, or 0-d tensor/array) is taken as already in SI units; a Brian2 ``Quantity``
    must have the dimension of ``unit`` and is converted (``5*ms -> 0.005``, ``-65*mV ->
    -0.065``). Raises :class:`UnitError` on a ``Quantity`` of another dimension or of more than
    one element.
    """
    if unit not in DIMENSIONS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(DIMENSIONS)}")
    dims = _dimension_of(value)
    if dims is None:
        return float(value)
    if dims != DIMENSIONS[unit] and dims != DIMENSIONS["1"]:
        raise UnitError(f"{name}={value} has units of {_unit_text(dims)}, but {name} is in "
                        f"{unit}; pass e.g. {name}=5*{BRIAN2_NAMES[unit]}")
    raw = np.asarray(value)  # Brian2 stores a Quantity in SI base units
    if raw.size != 1:
        raise UnitError(f"{name} takes one value, got a Quantity of shape {list(raw.shape)}")
    return float(raw.reshape(()))


def _stacklevel() -> int:
    """``warnings.warn`` stack level of the first frame outside the engine and this module."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    return level


def _warn_if_in(value: float, band: tuple[float, float], name: str, what: str) -> None:
    low, high = band
    if low <= value < high:
        warnings.warn(f"{name}={value:g} s is implausibly long for {what}; did you mean "
                      f"{value:g}*ms = {value * 1e-3:g} s? Pass seconds or a Brian2 Quantity",
                      ImplausibleUnitWarning, stacklevel=_stacklevel())


def as_seconds(value: Any, name: str, *, kind: str = "time_constant") -> float:
    """``value`` in seconds; warns (:class:`ImplausibleUnitWarning`) on a bare implausible number.

    ``kind`` picks the plausibility band: ``"step"`` (a simulation ``dt``: warns at ``>= 0.01``),
    ``"time_constant"`` (a ``tau`` or refractory period: warns in ``[1, 1e4)``) or
    ``"duration"`` (a run length: warns at ``>= 100``). A ``Quantity`` with a unit is
    converted and never warns.
    """
    if kind not in _BANDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(_BANDS)}")
    seconds = as_si(value, name, "s")
    if _dimension_of(value) in (None, DIMENSIONS["1"]):
        band, what = _BANDS[kind]
        _warn_if_in(seconds, band, name, what)
    return seconds


_BANDS = {
    "step": (STEP_BAND, "a simulation step"),
    "time_constant": (TIME_CONSTANT_BAND, "a time constant or refractory period"),
    "duration": (DURATION_BAND, "a run (biological time)"),
}


__all__ = [
    "DIMENSIONS",
    "ImplausibleUnitWarning",
    "UnitError",
    "as_seconds",
    "as_si",
]
