"""Neuromorphic chip models: constraints as data, ``check``, ``quantize``, energy estimates.

- :data:`CHIPS` / :func:`get_chip`: Loihi 2, Xylo, Speck (DYNAP-CNN), SpiNNaker2 and Akida as
  :class:`ChipSpec` data, every figure with its published source.
- :func:`check` ``(network, chip) -> list[Violation]``: what does not fit, and what to change.
- :func:`quantize` ``(network, chip) -> IntegerNetwork``: the integer model (Loihi 2: Lava's
  bit-accurate CUBA LIF; Xylo: matched bit for bit to SynSense's xylosim) whose ``run`` gives
  the accuracy after quantisation by simulation, not by guess.
- :func:`count_ops`, :func:`count_integer_ops`, :func:`estimate`: energy and latency per
  inference from counted synaptic operations and neuron updates.
"""

from __future__ import annotations

from neuromorph.hardware_models.chips.catalog import CHIPS, get_chip
from neuromorph.hardware_models.chips.check import check
from neuromorph.hardware_models.chips.energy import (
    EnergyReport,
    OpCounts,
    count_integer_ops,
    count_ops,
    estimate,
)
from neuromorph.hardware_models.chips.integer import IntegerNetwork, IntegerRun
from neuromorph.hardware_models.chips.quantize import quantize
from neuromorph.hardware_models.chips.spec import ChipSpec, Violation
from neuromorph.hardware_models.chips.view import LayerView, layer_views

__all__ = [
    "CHIPS",
    "ChipSpec",
    "EnergyReport",
    "IntegerNetwork",
    "IntegerRun",
    "LayerView",
    "OpCounts",
    "Violation",
    "check",
    "count_integer_ops",
    "count_ops",
    "estimate",
    "get_chip",
    "layer_views",
    "quantize",
]
