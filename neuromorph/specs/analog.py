"""Specs of rate (non-spiking) layers on analog crossbars: an elementwise activation and a
dense layer computed on analog tiles.

:class:`AnalogLinear` records the tile hardware as the plain fields of
:class:`neuromorph.hardware_models.crossbar.TileConfig` (sizes, converter bits and bounds, noise
levels, wire resistance, read voltage and time), which the crossbar code validates when it
builds the layer; the device (PCM, ReRAM) is not part of the layer: it is chosen when the layer
is programmed. Weights, bias and the learned DAC range are the state beside the spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from neuromorph.specs.base import Spec, register
from neuromorph.specs.layers import Affine

#: activation name -> its equation (elementwise, dimensionless).
ACTIVATIONS = {"relu": "max(x, 0)", "tanh": "tanh(x)", "sigmoid": "1 / (1 + exp(-x))"}


@register
@dataclass(frozen=True)
class Activation(Spec):
    """``y = f(x)`` elementwise, ``f`` one of :data:`ACTIVATIONS` by name."""

    kind = "Activation"
    no_nir_node = 'a rate nonlinearity: ReLU, tanh or sigmoid'
    function: str = "relu"

    def __post_init__(self) -> None:
        if self.function not in ACTIVATIONS:
            raise ValueError(f"Activation function {self.function!r} has no spec; use one of "
                             f"{sorted(ACTIVATIONS)}")


def _plain(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (bool, int, str))


@register
@dataclass(frozen=True)
class AnalogLinear(Spec):
    """``y = x W^T + b`` on analog tiles: ``synapse`` gives the sizes and bias, ``tile`` the
    tile hardware (the fields of ``TileConfig``, plain numbers and names; missing ones take
    its defaults), ``seed`` the layer's training-noise seed. Per tile ``(r, c)``::

        y_c = input_range * sum_r w_max,rc * ADC(DAC(x_r / input_range) . (W_rc / w_max,rc)^T)
    """

    kind = "AnalogLinear"
    no_nir_node = 'analog crossbar tiles: DAC/ADC converters, device noise and drift'
    synapse: Affine = field(default_factory=Affine)
    tile: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.synapse, Affine):
            raise ValueError(f"{self.kind} needs an Affine synapse spec, got "
                             f"{type(self.synapse).__name__}")
        if not isinstance(self.tile, dict):
            raise ValueError(f"{self.kind}.tile must be a dict of TileConfig fields, got "
                             f"{type(self.tile).__name__}")
        bad = sorted(str(k) for k, v in self.tile.items() if not isinstance(k, str)
                     or not _plain(v))
        if bad:
            raise ValueError(f"{self.kind}.tile fields {bad} are not plain finite numbers, "
                             "booleans or names; give TileConfig's values")
        if isinstance(self.seed, bool) or int(self.seed) != self.seed:
            raise ValueError(f"{self.kind}.seed must be an integer, got {self.seed!r}")
        self._set("seed", int(self.seed))

    def __hash__(self) -> int:
        return hash((self.synapse, tuple(sorted(self.tile.items())), self.seed))


__all__ = ["ACTIVATIONS", "Activation", "AnalogLinear"]
