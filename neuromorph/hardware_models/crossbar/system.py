"""The crossbar as a black box: a :class:`~neuromorph.hardware_models.base.PhysicalSystem`.

A fixed weight matrix (seeded Gaussian, or given) is programmed once onto a device model at
construction. A measurement ``system(x)`` is one analog MVM at the current inference time
``system.t`` (seconds after programming): DAC, device conductances read at ``t`` (drift, read
noise, IR drop), ADC, optional global drift compensation. Queries are counted by the base
class; the device read at each ``t`` is drawn from a generator seeded by ``(seed, t)``, so the
same seed and time give the same hardware. ``system.at(t)`` moves the clock.

The twin (``system.twin()``) is the ideal ``y = x W^T`` with the target weights, differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from neuromorph.hardware_models.base import DigitalTwin, PhysicalSystem
from neuromorph.hardware_models.crossbar.hardware import COMPENSATIONS, Compensation
from neuromorph.hardware_models.crossbar.layers import AnalogLinear
from neuromorph.hardware_models.crossbar.registry import make_device
from neuromorph.hardware_models.crossbar.tile import TileConfig
from neuromorph.hardware_models.nonidealities import NonIdeality


class CrossbarSystem(PhysicalSystem):
    """``y = crossbar(x)`` measured at inference time ``t`` (forward-only access)."""

    def __init__(
        self, n_in: int, n_out: int, seed: int = 0, device: str = "pcm",
        weight: Tensor | None = None, tile: TileConfig | None = None, t: float = 1.0,
        compensation: Compensation = "programmed",
        nonidealities: Sequence[NonIdeality] = (), **device_params: Any,
    ) -> None:
        super().__init__(n_in, n_out, nonidealities, seed)
        if compensation not in COMPENSATIONS:
            raise ValueError(f"unknown compensation {compensation!r}; choose one of "
                             f"{list(COMPENSATIONS)}")
        if weight is None:
            gen = torch.Generator().manual_seed(self.seed)
            weight = torch.randn(n_out, n_in, generator=gen) / math.sqrt(n_in)
        if tuple(weight.shape) != (n_out, n_in):
            raise ValueError(f"weight must be [n_out, n_in] = [{n_out}, {n_in}], got "
                             f"{tuple(weight.shape)}")
        self.register_buffer("weight", weight.detach().float().clone())
        self.layer = AnalogLinear(n_in, n_out, bias=False, tile=tile, seed=self.seed)
        self.layer.eval()
        with torch.no_grad():
            self.layer.weight.copy_(self.weight)
        self.layer.weight.requires_grad_(False)
        self.device_name, self.compensation = device, compensation
        self.layer.program(make_device(device, **device_params),
                           torch.Generator().manual_seed(self.seed + 31))
        self._ideal = False
        self.at(t)

    @property
    def name(self) -> str:
        return f"CrossbarSystem({self.device_name})"

    def at(self, t: float, compensation: Compensation | None = None) -> CrossbarSystem:
        """Set the inference time to ``t`` s after programming (a seeded device read)."""
        if compensation is not None:
            if compensation not in COMPENSATIONS:
                raise ValueError(f"unknown compensation {compensation!r}; choose one of "
                                 f"{list(COMPENSATIONS)}")
            self.compensation = compensation
        self.t = float(t)
        gen = torch.Generator().manual_seed(self.seed * 7_919 + int(round(self.t * 1e3)) % 2**31)
        self.layer.read_at(self.t, gen, self.compensation)
        return self

    def _physics(self, x: Tensor) -> Tensor:
        if self._ideal:
            return x @ self.weight.t()
        return self.layer(x)

    def twin(self, mismatch: float = 0.0, seed: int = 0) -> DigitalTwin:
        """Differentiable ideal model ``x W^T`` of the programmed target weights."""
        twin = DigitalTwin(self, mismatch, seed)
        twin.model._ideal = True
        return twin

    def physical_constants(self) -> list[Tensor]:
        return [self.weight]


def crossbar_pcm(n_in: int, n_out: int, seed: int = 0, **options: Any) -> CrossbarSystem:
    """A PCM crossbar system (the ``crossbar-pcm`` entry of the system registry)."""
    return CrossbarSystem(n_in, n_out, seed=seed, device="pcm", **options)
