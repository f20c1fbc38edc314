"""Simulated and measured physical systems, their non-idealities, and chip models.

Every system is a :class:`~neuromorph.hardware_models.base.PhysicalSystem`: a black box with
forward-only access. :data:`SYSTEMS` maps a config name to its builder (the one place a system
name is dispatched); :func:`make_system` builds one by name.
"""

from __future__ import annotations

import importlib
from typing import Any

from neuromorph.hardware_models.base import DigitalTwin, PhysicalSystem
from neuromorph.hardware_models.callable import CallableSystem, as_system

SYSTEMS: dict[str, str] = {
    "optical": "neuromorph.hardware_models.optical:OpticalScattering",
    "acoustic-cavity": "neuromorph.hardware_models.acoustic:AcousticCavity",
    "microwave": "neuromorph.hardware_models.microwave:MicrowaveMetasurfaceCavity",
    "measured-acoustic": "neuromorph.hardware_models.fitted:measured_acoustic",
    "crossbar-pcm": "neuromorph.hardware_models.crossbar.system:crossbar_pcm",
}


def make_system(name: str, n_in: int, n_out: int, seed: int = 0, **options: Any) -> PhysicalSystem:
    """Build the system registered as ``name`` with ``n_in`` drives and ``n_out`` readings."""
    if name not in SYSTEMS:
        raise ValueError(f"unknown physical system {name!r}; choose one of {sorted(SYSTEMS)}")
    module, attr = SYSTEMS[name].split(":")
    builder = getattr(importlib.import_module(module), attr)
    try:
        system = builder(n_in=n_in, n_out=n_out, seed=seed, **options)
    except TypeError as exc:
        raise ValueError(f"bad options for system {name!r}: {exc}") from None
    system.made_as = (name, dict(options))  # what system_spec records to build it again
    return system


__all__ = ["SYSTEMS", "CallableSystem", "DigitalTwin", "PhysicalSystem", "as_system", "make_system"]
