"""A tiled analog matrix-vector multiply: DAC -> crossbar blocks -> ADC -> digital sum.

For tile ``(r, c)`` holding the block ``W_rc`` with largest magnitude ``w_max,rc``::

    x_hat_r = DAC(x_r / input_range)                        (per input tile, in [-1, 1])
    y_hat_rc = ADC(x_hat_r . W~_rc^T + sigma_out N(0, 1))     (normalised tile output)
    y_c = input_range * sum_r gamma_rc * w_max,rc * y_hat_rc  (digital: scale and accumulate)

``W~_rc`` is the normalised weight the tile actually applies: ``W_rc / w_max,rc`` in the twin
(plus training noise), or ``(T+ - T-) / (g_hi - g_lo)`` read from programmed devices on the
hardware (``T`` = conductances, or effective conductances under IR drop). ``gamma_rc`` is the
global drift compensation factor (1 when off). Everything is differentiable (straight-through
rounding), so the same code is the hardware's forward pass and the hardware-aware twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from neuromorph.hardware_models.crossbar.converters import adc, dac, steps_of
from neuromorph.hardware_models.crossbar.mapping import Tiling

IRDropMethod = Literal["exact", "first_order"]


@dataclass(frozen=True)
class TileConfig:
    """Hardware of one analog layer (SI units where physical).

    ``max_inputs`` x ``max_outputs``: tile size (word lines x bit-line pairs).
    ``dac_bits`` / ``adc_bits``: converter resolution (0 = ideal). ``adc_bound``: ADC full
    scale in normalised output units (``|x_hat| <= 1``, ``|w / w_max| <= 1``).
    ``input_range``: initial DAC range (input units); ``learn_input_range`` trains it.
    ``weight_noise``: std of additive Gaussian weight noise injected while training, relative
    to each tile's ``w_max``. ``output_noise``: std of the noise added before each ADC
    (normalised units), in training and on the hardware.
    ``wire_resistance``: ohm per wire segment between cells (0 = no IR drop), solved by
    ``ir_drop`` (``exact`` sparse solve or ``first_order``). ``v_read``: word-line voltage (V)
    at ``|x_hat| = 1``; ``t_read``: integration time per read (s), for the energy model.
    """

    max_inputs: int = 256
    max_outputs: int = 256
    dac_bits: int = 8
    adc_bits: int = 8
    adc_bound: float = 12.0
    input_range: float = 1.0
    learn_input_range: bool = False
    weight_noise: float = 0.0
    output_noise: float = 0.0
    wire_resistance: float = 0.0
    ir_drop: IRDropMethod = "exact"
    v_read: float = 0.2
    t_read: float = 100e-9

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"TileConfig: {msg}")

        need(self.max_inputs >= 1 and self.max_outputs >= 1,
             f"tile size must be >= 1, got {self.max_inputs} x {self.max_outputs}")
        for name in ("dac_bits", "adc_bits"):
            bits = getattr(self, name)
            need(bits == 0 or 2 <= bits <= 24, f"{name} must be 0 (ideal) or 2..24, got {bits}")
        need(self.adc_bound > 0, f"adc_bound must be > 0, got {self.adc_bound}")
        need(self.input_range > 0, f"input_range must be > 0, got {self.input_range}")
        need(self.weight_noise >= 0 and self.output_noise >= 0,
             f"noise levels must be >= 0, got weight_noise={self.weight_noise}, "
             f"output_noise={self.output_noise}")
        need(self.wire_resistance >= 0, f"wire_resistance must be >= 0 ohm, got "
             f"{self.wire_resistance}")
        need(self.ir_drop in ("exact", "first_order"),
             f"ir_drop must be 'exact' or 'first_order', got {self.ir_drop!r}")
        need(self.v_read > 0 and self.t_read > 0, "v_read and t_read must be > 0")

    @property
    def adc_step(self) -> float:
        """ADC resolution in normalised output units (0 for an ideal ADC)."""
        return 0.0 if self.adc_bits == 0 else 2 * self.adc_bound / steps_of(self.adc_bits)


def tiled_forward(
    x: Tensor,
    tiling: Tiling,
    weights: list[list[Tensor]],
    scales: list[list[Tensor]],
    input_range: Tensor,
    cfg: TileConfig,
    generator: torch.Generator | None,
) -> Tensor:
    """``y [..., n_out]`` from ``x [..., n_in]`` through tiles (see the module docstring).

    ``weights[r][c]``: normalised block ``[n_out_c, n_in_r]``; ``scales[r][c]``: the digital
    factor ``gamma_rc * w_max,rc``. ``generator`` draws the output noise (required if
    ``cfg.output_noise > 0``).
    """
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    cols = []
    x_hat = [dac(x2[:, rows], input_range, cfg.dac_bits) for rows in tiling.rows]
    for c in range(len(tiling.cols)):
        acc = None
        for r in range(len(tiling.rows)):
            y = x_hat[r] @ weights[r][c].t()
            if cfg.output_noise > 0:
                if generator is None:
                    raise ValueError("output_noise > 0 needs a torch.Generator for the noise")
                noise = torch.randn(y.shape, generator=generator, dtype=torch.float32)
                y = y + cfg.output_noise * noise.to(y)
            y = adc(y, cfg.adc_bound, cfg.adc_bits) * scales[r][c]
            acc = y if acc is None else acc + y
        cols.append(acc)
    return (torch.cat(cols, dim=-1) * input_range).reshape(*lead, -1)
