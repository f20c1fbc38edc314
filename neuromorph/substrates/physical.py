"""A physical system as the fixed transform of a :class:`~neuromorph.networks.stack.Stage`.

``F(z) = [P(z); z]`` (``concat=True``, the PhyLL authors' skip) or ``F(z) = P(z)``, where ``P``
is any :class:`~neuromorph.hardware_models.base.PhysicalSystem`: forward-only, queries counted,
noise and drift its own. ``P`` is dense (not neuron by neuron), so no elementwise derivative
exists; its digital twin (if any) is the stand-in physics-aware training may differentiate.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.access import Access
from neuromorph.hardware_models.base import PhysicalSystem, perturb_constants
from neuromorph.networks.stack import Physics, Transform


class SystemTransform(Transform):
    """``F(z) = [P(z); z]`` for a physical system ``P`` (``[B, n_in] -> [B, n_out (+ n_in)]``)."""

    access = Access.FORWARD_ONLY

    def __init__(self, system: PhysicalSystem, concat: bool = True) -> None:
        super().__init__(system.n_in, system.n_out + (system.n_in if concat else 0))
        self.system = system
        self.concat = bool(concat)

    def measure(self, z: Tensor) -> Tensor:
        p = self.system(z)
        return torch.cat([p, z], dim=1) if self.concat else p

    def twin(self) -> Physics:
        """The system's digital twin (an AccessError names the fix when it has none)."""
        model = self.system.twin()
        return _Concat(model) if self.concat else model

    def perturb(self, strength: float, generator: torch.Generator) -> None:
        """Drift: every physical constant ``c <- c + strength std(c) N(0, 1)``."""
        perturb_constants(self.system, strength, generator)


class _Concat(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: Tensor) -> Tensor:
        return torch.cat([self.model(z), z], dim=1)
