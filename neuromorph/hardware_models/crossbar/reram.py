"""Resistive RAM (ReRAM): finite conductance states, device-to-device and cycle-to-cycle spread.

Model (a phenomenological multi-level-cell model in the spirit of MemTorch's finite-state
devices and NeuRRAM's measured relaxation; Wan et al., Nature 608, 504, 2022):

* each device ``k`` has its own window ``[g_min, g_max] * d_k`` with a device-to-device factor
  ``d_k = exp(sigma_d2d N(0,1))`` drawn once per array (fixed at manufacture);
* a write snaps the target to the nearest of ``n_states`` equally spaced levels of the nominal
  window, then lands at ``level * d_k + sigma_c2c g_max N(0,1)`` (fresh every write: cycle to
  cycle), clipped to ``[0, g_max d_k]``;
* after the write, conductance relaxes: at time ``t`` the read value is
  ``g_P + sigma_relax g_max sqrt(ln(1 + t / tau_relax)) N(0,1)``, clipped at 0 (a Gaussian
  broadening growing with log time, drawn per read time; no systematic drift).

The default numbers are illustrative of published multi-level ReRAM (4-bit cells, a few percent
spreads), not a fit to one chip; feed measured data through
:func:`neuromorph.hardware_models.crossbar.fit.fit_pcm_like` to replace them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.hardware_models.crossbar.device import (
    Programmed,
    check_target,
    check_time,
    randn_like,
)


@dataclass(frozen=True)
class ReRAMParams:
    """Parameters of :class:`ReRAM` (SI units)."""

    g_min: float = 1e-6  # S, high-resistance state
    g_max: float = 25e-6  # S, low-resistance state
    n_states: int = 16  # programmable levels (4 bits)
    sigma_d2d: float = 0.05  # relative, log-normal window factor per device
    sigma_c2c: float = 0.01  # relative to g_max, per write
    sigma_relax: float = 0.005  # relative to g_max, relaxation broadening scale
    tau_relax: float = 1.0  # s

    def __post_init__(self) -> None:
        if not 0 <= self.g_min < self.g_max:
            raise ValueError(f"ReRAMParams: need 0 <= g_min < g_max, got g_min={self.g_min}, "
                             f"g_max={self.g_max}")
        if self.n_states < 2:
            raise ValueError(f"ReRAMParams: n_states must be >= 2, got {self.n_states}")
        for name in ("sigma_d2d", "sigma_c2c", "sigma_relax"):
            if getattr(self, name) < 0:
                raise ValueError(f"ReRAMParams: {name} must be >= 0, got {getattr(self, name)}")
        if self.tau_relax <= 0:
            raise ValueError(f"ReRAMParams: tau_relax must be > 0 s, got {self.tau_relax}")


def nearest_level(g_target: Tensor, p: ReRAMParams) -> Tensor:
    """Snap targets (S) to the nearest of ``n_states`` levels spaced evenly in [g_min, g_max].

    Targets below ``g_min`` (e.g. a zero weight) go to ``g_min``: a ReRAM cell cannot be off.
    """
    step = (p.g_max - p.g_min) / (p.n_states - 1)
    k = torch.round((g_target - p.g_min) / step).clamp(0, p.n_states - 1)
    return p.g_min + k * step


class ReRAM:
    """Multi-level ReRAM devices following :class:`ReRAMParams` (see the module docstring)."""

    name = "reram"

    def __init__(self, params: ReRAMParams | None = None) -> None:
        self.params = params or ReRAMParams()
        self.g_max = self.params.g_max
        self.g_min = self.params.g_min

    def program(self, g_target: Tensor, generator: torch.Generator) -> Programmed:
        p = self.params
        check_target(g_target, p.g_max, self.name)
        d2d = torch.exp(p.sigma_d2d * randn_like(g_target, generator))
        level = nearest_level(g_target, p) * d2d
        g_prog = level + p.sigma_c2c * p.g_max * randn_like(g_target, generator)
        g_prog = torch.minimum(g_prog.clamp_min(0.0), p.g_max * d2d)
        return Programmed(g_target, g_prog, {"d2d": d2d})

    def read(self, state: Programmed, t: float, generator: torch.Generator) -> Tensor:
        p = self.params
        check_time(t, self.name)
        spread = p.sigma_relax * p.g_max * math.sqrt(math.log1p(t / p.tau_relax))
        return (state.g_prog + spread * randn_like(state.g_prog, generator)).clamp_min(0.0)

    def __repr__(self) -> str:
        return f"ReRAM({self.params})"
