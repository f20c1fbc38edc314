"""Device models by name: the one place a device name from a config is dispatched."""

from __future__ import annotations

from typing import Any

from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.hardware_models.crossbar.faults import StuckAt
from neuromorph.hardware_models.crossbar.pcm import PCM, PCMParams
from neuromorph.hardware_models.crossbar.reram import ReRAM, ReRAMParams

DEVICES: dict[str, tuple[type, type]] = {"pcm": (PCM, PCMParams), "reram": (ReRAM, ReRAMParams)}


def make_device(name: str, p_stuck_on: float = 0.0, p_stuck_off: float = 0.0,
                **params: Any) -> DeviceModel:
    """Device ``name`` with parameter overrides, wrapped in stuck-at faults if rates are > 0."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose one of {sorted(DEVICES)}")
    cls, params_cls = DEVICES[name]
    try:
        device = cls(params_cls(**params))
    except TypeError as exc:
        raise ValueError(f"bad parameters for device {name!r}: {exc}") from None
    if p_stuck_on > 0 or p_stuck_off > 0:
        return StuckAt(device, p_stuck_on, p_stuck_off)
    return device
