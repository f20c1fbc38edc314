"""Energy, area and latency per inference of analog layers, from per-operation constants.

Architecture (ISAAC's periphery; Shafiee et al., ISCA 2016, Table 6, 32 nm, 1.28 GHz ADCs):
inputs are driven bit-serially, one bit-plane per array read (``b_in = dac_bits`` reads, 1-bit
DACs per word line); each read is converted by one time-shared ADC per tile (one conversion
per output column, differential currents subtracted before the ADC), then sample-and-hold and
shift-and-add units accumulate the bit-planes digitally. Per tile and inference::

    E_dac   = b_in * n_rows * E_dac1
    E_array = t_read * V_read^2 * sum_k sum_i bit_ki * sum_j (G+_ij + G-_ij)   (Joule heat)
    E_adc   = b_in * n_cols * E_adc8 * 2^(b_adc - 8)       (constant Walden figure of merit)
    E_dig   = b_in * n_cols * (E_sh + E_sa)
    latency = b_in * max(t_read, n_cols / f_adc)            (tiles in parallel, layers in series)

``bit_ki`` are the bits of the DAC code ``round(|x_hat_i| (2^(b_in-1) - 1))`` of each input,
from the actual data. Per-operation energies come from power / rate: ADC 2 mW at 1.28 GS/s
= 1.5625 pJ per conversion; 1-bit DAC 4 mW / 1024 units over a 100 ns read = 0.39 pJ; S+H
10 uW / 1024 units over 100 ns ~ 1 fJ; shift-and-add 0.05 mW at 1.28 GHz ~ 39 fJ. Areas: ADC
0.0012 mm^2, 1-bit DAC 0.00017 / 1024 mm^2, a 128 x 128 array 0.000025 mm^2 (1.53e-3 um^2 per
cell), S+H 0.00004 / 1024 mm^2, shift-and-add 0.00006 mm^2. Energies in J,
areas in m^2, times in s.

**Spiking inputs** (``spiking=True``; every input 0 or 1, e.g. ``[T, B, n]`` spikes of a spiking
network): a time step is one array read driven by 1-bit pulses on the word lines that spike,
and a tile whose inputs are all silent at a step is not read (event-driven). Per tile and step
with ``s_i`` the spikes on its rows::

    reads   = 1 if sum_i s_i > 0 else 0
    E_dac   = sum_i s_i * E_dac1
    E_array = t_read * V_read^2 * sum_i s_i * sum_j (G+_ij + G-_ij)
    E_adc   = reads * n_cols * E_adc8 * 2^(b_adc - 8),   E_dig = reads * n_cols * (E_sh + E_sa)
    latency = max(t_read, n_cols / f_adc) per step (steps in series)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from neuromorph.hardware_models.crossbar.convert import analog_layers
from neuromorph.hardware_models.crossbar.converters import dac
from neuromorph.hardware_models.crossbar.layers import AnalogLinear


@dataclass(frozen=True)
class EnergyConstants:
    """Per-operation constants (J, m^2, s); defaults from ISAAC (Shafiee et al. 2016, Table 6)."""

    e_adc8: float = 2e-3 / 1.28e9  # J per 8-bit conversion
    e_dac1: float = 4e-3 / 1024 * 100e-9  # J per 1-bit DAC drive of one read
    e_sample_hold: float = 10e-6 / 1024 * 100e-9  # J per sample-and-hold
    e_shift_add: float = 0.05e-3 / 1.28e9  # J per shift-and-add
    f_adc: float = 1.28e9  # conversions per second per ADC
    area_adc8: float = 0.0012e-6  # m^2 (0.0012 mm^2)
    area_dac1: float = 0.00017e-6 / 1024  # m^2
    area_cell: float = 0.000025e-6 / (128 * 128)  # m^2 per device
    area_sample_hold: float = 0.00004e-6 / 1024  # m^2
    area_shift_add: float = 0.00006e-6  # m^2 per tile
    source: str = field(default="Shafiee et al., ISAAC, ISCA 2016, Table 6 (32 nm)")


@dataclass
class InferenceCost:
    """Energy (J) by component, area (m^2) and latency (s) of one inference (one input)."""

    dac: float = 0.0
    array: float = 0.0
    adc: float = 0.0
    digital: float = 0.0
    area: float = 0.0
    latency: float = 0.0

    @property
    def energy(self) -> float:
        return self.dac + self.array + self.adc + self.digital


def _popcount(codes: Tensor, bits: int) -> Tensor:
    return sum(((codes >> k) & 1) for k in range(bits))


def layer_cost(layer: AnalogLinear, x: Tensor, k: EnergyConstants,
               spiking: bool = False) -> InferenceCost:
    """Mean cost per input row of ``x [..., n_in]`` on one programmed (or twin) layer.

    ``spiking``: inputs are spikes (0 or 1), one event-driven read per row (module doc);
    otherwise amplitude inputs driven bit-serially through ``dac_bits`` bit-planes.
    """
    cfg = layer.tile
    x2 = x.detach().reshape(-1, x.shape[-1])
    per_row = x2.shape[0]
    if spiking:
        if not bool(((x2 == 0) | (x2 == 1)).all()):
            raise ValueError("spiking=True needs inputs of 0 or 1 (spikes); this layer got "
                             "other values: use spiking=False for amplitude inputs")
        b_in = 1
        ones = x2.double()  # [rows, n_in]: the word lines pulsed at each step
    else:
        b_in = cfg.dac_bits or 8
        x_hat = dac(x2, layer.input_range.detach(), cfg.dac_bits)
        codes = torch.round(x_hat.abs() * (2 ** (b_in - 1) - 1)).long()
        ones = _popcount(codes, b_in).double()  # [rows, n_in]: on-bits over the bit-planes
    cost = InferenceCost()
    adc_scale = 2.0 ** ((cfg.adc_bits or 8) - 8)
    for r, rows in enumerate(layer.tiling.rows):
        for c, cols in enumerate(layer.tiling.cols):
            n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
            if layer.hardware is not None:
                g = layer.hardware.states[r][c].g_prog.double().sum(dim=0)  # G+ + G-, [out, in]
            else:
                g = torch.full((n_cols, n_rows), 0.5 * 25e-6, dtype=torch.float64)
            g_row = g.sum(dim=0)  # [n_in_r]
            cost.array += float(cfg.t_read * cfg.v_read**2 * (ones[:, rows] @ g_row).sum()) \
                / per_row
            if spiking:
                reads = float((ones[:, rows].sum(dim=1) > 0).sum()) / per_row
                cost.dac += float(ones[:, rows].sum()) / per_row * k.e_dac1
            else:
                reads = b_in
                cost.dac += b_in * n_rows * k.e_dac1
            cost.adc += reads * n_cols * k.e_adc8 * adc_scale
            cost.digital += reads * n_cols * (k.e_sample_hold + k.e_shift_add)
            cost.area += (2 * n_rows * n_cols * k.area_cell + n_rows * k.area_dac1
                          + k.area_adc8 * adc_scale + n_cols * k.area_sample_hold
                          + k.area_shift_add)
    n_cols_max = max(c.stop - c.start for c in layer.tiling.cols)
    cost.latency = b_in * max(cfg.t_read, n_cols_max / k.f_adc)
    return cost


def inference_cost(model: nn.Module, x: Tensor, k: EnergyConstants | None = None,
                   samples: int | None = None, spiking: bool = False) -> InferenceCost:
    """Cost per inference of ``model(x)``: every analog layer, driven by its actual inputs.

    ``samples``: the number of inferences in ``x`` (default ``x.shape[0]``; a time-major
    spiking input ``[T, B, n]`` holds ``B``). ``spiking``: the layers' inputs are spikes
    (see :func:`layer_cost`).
    """
    k = k or EnergyConstants()
    inputs: dict[int, Tensor] = {}
    hooks = [layer.register_forward_pre_hook(
        lambda mod, args: inputs.__setitem__(id(mod), args[0])) for layer in analog_layers(model)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    total = InferenceCost()
    n_samples = x.shape[0] if samples is None else int(samples)
    if n_samples < 1:
        raise ValueError(f"samples must be >= 1 (inferences in x), got {n_samples}")
    for layer in analog_layers(model):
        if id(layer) not in inputs:
            continue
        xi = inputs[id(layer)]
        part = layer_cost(layer, xi, k, spiking)
        rows_per_sample = xi.reshape(-1, xi.shape[-1]).shape[0] / n_samples  # conv: patches
        for name in ("dac", "array", "adc", "digital"):
            setattr(total, name, getattr(total, name) + getattr(part, name) * rows_per_sample)
        total.area += part.area
        total.latency += part.latency * rows_per_sample
    return total
