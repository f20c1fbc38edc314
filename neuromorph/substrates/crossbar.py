"""A PCM crossbar as a substrate: a programmed analog array read through a rectifying periphery.

``F(z) = [relu(C(z)); z]`` where ``C`` is a :class:`~neuromorph.hardware_models.crossbar.
CrossbarSystem`: a fixed random matrix programmed once onto PCM devices (programming noise,
read noise, conductance drift, DAC/ADC per tile), read at ``t = 1 s`` after programming with
global drift compensation, its column outputs rectified by the periphery (the array alone is
linear). Forward-only, like every physical system; its twin is the ideal ``relu(z W^T)``.

Drift here is the device's own: :meth:`CrossbarTransform.perturb` ages the array to
``t = 1 day x (strength / 0.2)`` after programming, *without* compensation (so the matrix's
default ``drift = 0.7`` is three and a half uncompensated days of PCM drift).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.access import Access
from neuromorph.hardware_models.crossbar import CrossbarSystem
from neuromorph.networks.stack import Physics, Transform

DAY = 86_400.0


class CrossbarTransform(Transform):
    """``F(z) = [relu(C(z)); z]`` for a PCM crossbar system ``C`` (see module doc)."""

    access = Access.FORWARD_ONLY

    def __init__(self, system: CrossbarSystem) -> None:
        super().__init__(system.n_in, system.n_out + system.n_in)
        self.system = system

    def measure(self, z: Tensor) -> Tensor:
        return torch.cat([torch.relu(self.system(z)), z], dim=1)

    def twin(self) -> Physics:
        model = self.system.twin()
        return lambda z: torch.cat([torch.relu(model(z)), z], dim=1)

    def perturb(self, strength: float, generator: torch.Generator) -> None:
        """Age the array to ``1 day x strength / 0.2`` after programming, uncompensated."""
        if strength > 0:
            self.system.at(DAY * strength / 0.2, compensation="none")
