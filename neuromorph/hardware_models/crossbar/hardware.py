"""A layer's weights written into devices, and read back at an inference time ``t``.

:func:`program_tiles` maps each tile's block to differential conductance pairs (see
:mod:`~neuromorph.hardware_models.crossbar.mapping`) and programs them with a device model.
:meth:`ProgrammedTiles.read` returns, for time ``t``, the normalised weights each tile applies
(with IR drop if the tile has wire resistance) and the digital scale per tile, including the
global drift compensation (Joshi et al. 2020; aihwkit's ``GlobalDriftCompensation``)::

    alpha(t) = sum_j | sum_i W~_ij(t) |       (read-out of all columns with all-ones inputs)
    gamma(t) = alpha_ref / alpha(t)

``compensation`` is ``"none"`` (gamma = 1), ``"programmed"`` (``alpha_ref`` read from the
devices just after programming, before drift and read noise: what a chip can do) or
``"ideal"`` (``alpha_ref`` from the target weights: an ideal reference). The read-out is the
analog sum, without the ADC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from neuromorph.hardware_models.crossbar import ir_drop
from neuromorph.hardware_models.crossbar.device import DeviceModel, Programmed
from neuromorph.hardware_models.crossbar.mapping import (
    Tiling,
    block_wmax,
    from_conductance_pair,
    to_conductance_pair,
)
from neuromorph.hardware_models.crossbar.tile import TileConfig

Compensation = Literal["none", "programmed", "ideal"]
COMPENSATIONS: tuple[str, ...] = ("none", "programmed", "ideal")


def conductance_window(device: DeviceModel) -> tuple[float, float]:
    """``(g_lo, g_hi)`` used by the mapping: the device's off state (0 if none) and ``g_max``."""
    return float(getattr(device, "g_min", 0.0)), float(device.g_max)


@dataclass
class ProgrammedTiles:
    """Programmed device pairs of every tile of one layer."""

    device: DeviceModel
    tiling: Tiling
    cfg: TileConfig
    states: list[list[Programmed]]  # g tensors [2, n_out_c, n_in_r] (g+, g-)
    wmax: list[list[Tensor]]

    def _effective(self, g_pair: Tensor) -> Tensor:
        """Normalised weights the tile applies, through the wires if they have resistance."""
        lo, hi = conductance_window(self.device)
        r = self.cfg.wire_resistance
        if r > 0:
            solve = (ir_drop.effective_conductance if self.cfg.ir_drop == "exact"
                     else ir_drop.first_order_conductance)
            g_np = g_pair.detach().cpu().double().numpy()
            eff = np.stack([solve(g_np[k].T, r).T for k in range(2)])
            g_pair = torch.as_tensor(eff, dtype=g_pair.dtype, device=g_pair.device)
        return from_conductance_pair(g_pair, lo, hi)

    def read(
        self, t: float, generator: torch.Generator, compensation: Compensation = "none"
    ) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
        """Normalised weights and digital scales ``gamma * w_max`` of every tile at time ``t``."""
        if compensation not in COMPENSATIONS:
            raise ValueError(f"unknown compensation {compensation!r}; choose one of "
                             f"{list(COMPENSATIONS)}")
        lo, hi = conductance_window(self.device)
        weights, scales = [], []
        for states_r, wmax_r in zip(self.states, self.wmax, strict=True):
            w_row, s_row = [], []
            for state, wmax in zip(states_r, wmax_r, strict=True):
                w_t = self._effective(self.device.read(state, t, generator))
                gamma = torch.ones((), dtype=w_t.dtype)
                if compensation != "none":
                    ref_g = state.g_prog if compensation == "programmed" else state.g_target
                    ref = from_conductance_pair(ref_g, lo, hi)
                    alpha_t = w_t.sum(dim=1).abs().sum()
                    alpha_ref = ref.sum(dim=1).abs().sum()
                    gamma = alpha_ref / alpha_t.clamp_min(torch.finfo(w_t.dtype).tiny)
                w_row.append(w_t)
                s_row.append(gamma * wmax)
            weights.append(w_row)
            scales.append(s_row)
        return weights, scales


def program_tiles(
    weight: Tensor, tiling: Tiling, cfg: TileConfig, device: DeviceModel,
    generator: torch.Generator,
) -> ProgrammedTiles:
    """Write ``weight [n_out, n_in]`` onto tiles of ``device`` (one programming pass)."""
    lo, hi = conductance_window(device)
    states, wmaxes = [], []
    w = weight.detach()
    for r in range(len(tiling.rows)):
        s_row, m_row = [], []
        for c in range(len(tiling.cols)):
            block = tiling.block(w, r, c)
            wmax = block_wmax(block)
            g_target = to_conductance_pair(block / wmax, lo, hi)
            s_row.append(device.program(g_target, generator))
            m_row.append(wmax)
        states.append(s_row)
        wmaxes.append(m_row)
    return ProgrammedTiles(device, tiling, cfg, states, wmaxes)
