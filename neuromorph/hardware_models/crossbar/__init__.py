"""Analog in-memory computing: crossbar arrays of PCM / ReRAM devices.

* devices as data: :class:`PCM` (aihwkit's published statistical model), :class:`ReRAM`
  (finite states, device-to-device and cycle-to-cycle spread), :class:`StuckAt` faults;
* mapping and tiling of weights onto differential conductance pairs, per-tile DAC / ADC;
* IR drop from an exact sparse circuit solve or a first-order approximation (:mod:`.ir_drop`);
* global drift compensation; energy, area and latency per inference (:mod:`.energy`);
* :func:`to_analog` (the one entry point for torch models), the hardware-aware twin layers,
  :class:`CrossbarSystem`, the array as a forward-only physical system, and
  :class:`InSituLinear`, a layer written and read at every call (training on the chip).
"""

from __future__ import annotations

from neuromorph.hardware_models.crossbar.convert import (
    analog_layers,
    program_model,
    read_model_at,
    to_analog,
)
from neuromorph.hardware_models.crossbar.device import DeviceModel, Programmed
from neuromorph.hardware_models.crossbar.energy import EnergyConstants, inference_cost
from neuromorph.hardware_models.crossbar.faults import StuckAt
from neuromorph.hardware_models.crossbar.in_situ import InSituLinear
from neuromorph.hardware_models.crossbar.layers import AnalogConv2d, AnalogLinear
from neuromorph.hardware_models.crossbar.pcm import PCM, PCMParams
from neuromorph.hardware_models.crossbar.registry import DEVICES, make_device
from neuromorph.hardware_models.crossbar.reram import ReRAM, ReRAMParams
from neuromorph.hardware_models.crossbar.system import CrossbarSystem
from neuromorph.hardware_models.crossbar.tile import TileConfig

__all__ = [
    "DEVICES", "PCM", "AnalogConv2d", "AnalogLinear", "CrossbarSystem", "DeviceModel",
    "EnergyConstants", "InSituLinear", "PCMParams", "Programmed", "ReRAM", "ReRAMParams", "StuckAt",
    "TileConfig", "analog_layers", "inference_cost", "make_device", "program_model",
    "read_model_at", "to_analog",
]
