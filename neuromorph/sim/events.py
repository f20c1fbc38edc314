"""The one place that picks the event kernels (propagation, STDP) of the torch backend.

``"auto"``: CUDA tensors -> the Triton kernels (:mod:`.kernels.triton_events`, imported lazily),
anything else -> the torch references (:mod:`.kernels.events_reference`). ``"triton"`` /
``"reference"`` force one. (The numpy backend uses :mod:`neuromorph.sim.events_cpu` instead.)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from neuromorph.sim.kernels.events_reference import propagate_reference, stdp_update_reference


@dataclass(frozen=True)
class EventKernels:
    name: str
    propagate: Callable[..., None]
    stdp_update: Callable[..., None]


def _triton() -> EventKernels:
    try:
        mod = importlib.import_module("neuromorph.sim.kernels.triton_events")
    except ImportError as err:
        raise ImportError(f"the Triton event kernels need triton ({err}); install it or use "
                          "kernels='reference'") from err
    return EventKernels("triton", mod.propagate_triton, mod.stdp_update_triton)


def _reference() -> EventKernels:
    return EventKernels("reference", propagate_reference, stdp_update_reference)


#: kernel set name -> factory(device). The one place the event kernel sets are named.
EVENT_KERNELS: dict[str, Callable[[torch.device], EventKernels]] = {
    "auto": lambda device: _triton() if device.type == "cuda" else _reference(),
    "triton": lambda device: _triton(),
    "reference": lambda device: _reference(),
}


def event_kernels(name: str, device: torch.device) -> EventKernels:
    """The event kernels ``name`` picks on ``device`` (unknown names list the valid ones)."""
    if name not in EVENT_KERNELS:
        raise ValueError(f"unknown event kernels {name!r}; choose one of {sorted(EVENT_KERNELS)}")
    return EVENT_KERNELS[name](device)


__all__ = ["EVENT_KERNELS", "EventKernels", "event_kernels"]
