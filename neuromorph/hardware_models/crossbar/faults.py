"""Stuck-at faults: a fraction of devices ignore writes and sit at ``g_max`` or at 0.

``StuckAt(device, p_on, p_off)`` wraps any device model. At programming, each device is stuck
on (``g = g_max``) with probability ``p_on``, stuck off (``g = g_min``, 0 for PCM) with
probability ``p_off``, else it behaves as the wrapped device. Stuck devices neither drift nor
show read noise (their mask is drawn once, at programming, from the given generator).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.hardware_models.crossbar.device import DeviceModel, Programmed, rand_like


class StuckAt:
    """A device model with stuck-at-on / stuck-at-off faults at the given rates."""

    def __init__(self, device: DeviceModel, p_on: float = 0.0, p_off: float = 0.0) -> None:
        if p_on < 0 or p_off < 0 or p_on + p_off > 1:
            raise ValueError(f"StuckAt: need p_on, p_off >= 0 and p_on + p_off <= 1, got "
                             f"p_on={p_on}, p_off={p_off}")
        self.device, self.p_on, self.p_off = device, float(p_on), float(p_off)
        self.name = f"{device.name}+stuck"
        self.g_max = device.g_max
        self.g_off = float(getattr(device, "g_min", 0.0))

    def program(self, g_target: Tensor, generator: torch.Generator) -> Programmed:
        state = self.device.program(g_target, generator)
        u = rand_like(g_target, generator)
        on, off = u < self.p_on, (u >= self.p_on) & (u < self.p_on + self.p_off)
        g_prog = torch.where(on, torch.full_like(g_target, self.g_max), state.g_prog)
        g_prog = torch.where(off, torch.full_like(g_target, self.g_off), g_prog)
        extras = dict(state.extras, stuck_on=on.to(g_target), stuck_off=off.to(g_target))
        return Programmed(g_target, g_prog, extras)

    def read(self, state: Programmed, t: float, generator: torch.Generator) -> Tensor:
        g = self.device.read(state, t, generator)
        g = torch.where(state.extras["stuck_on"] > 0, torch.full_like(g, self.g_max), g)
        return torch.where(state.extras["stuck_off"] > 0, torch.full_like(g, self.g_off), g)

    def __repr__(self) -> str:
        return f"StuckAt({self.device!r}, p_on={self.p_on}, p_off={self.p_off})"
