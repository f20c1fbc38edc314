"""Analog layers: one module is both the hardware-aware twin and the programmed crossbar.

:class:`AnalogLinear` keeps digital weights (trainable). Until it is programmed it is the
*twin*: a differentiable tiled forward with DAC/ADC rounding (straight-through), and, while
training, weight-noise and output-noise injection (hardware-aware training). After
:meth:`AnalogLinear.program` and :meth:`AnalogLinear.read_at` it is the *hardware*: the same
forward with the normalised weights read from the devices at inference time ``t``.
:class:`AnalogConv2d` runs 2-D convolutions through an :class:`AnalogLinear` on im2col patches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.hardware_models.crossbar.hardware import (
    Compensation,
    ProgrammedTiles,
    program_tiles,
)
from neuromorph.hardware_models.crossbar.mapping import Tiling, block_wmax
from neuromorph.hardware_models.crossbar.tile import TileConfig, tiled_forward


class AnalogLinear(nn.Module):
    """``y = x W^T + b`` computed on analog tiles (``W``: ``[out_features, in_features]``).

    The bias is added digitally. ``seed`` seeds the noise injected while training.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True,
        tile: TileConfig | None = None, seed: int = 0,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.tile = tile or TileConfig()
        self.tiling = Tiling.of(self.in_features, self.out_features,
                                self.tile.max_inputs, self.tile.max_outputs)
        lin = nn.Linear(self.in_features, self.out_features, bias=bias)
        self.weight = nn.Parameter(lin.weight.detach().clone())
        self.bias = nn.Parameter(lin.bias.detach().clone()) if bias else None
        self.input_range = nn.Parameter(torch.tensor(float(self.tile.input_range)),
                                        requires_grad=self.tile.learn_input_range)
        self.seed = int(seed)  # the layer's noise seed, as given (its spec records it)
        self.noise = torch.Generator().manual_seed(int(seed) + 4_242)
        self.hardware: ProgrammedTiles | None = None
        self._read: tuple[list[list[Tensor]], list[list[Tensor]]] | None = None
        self.read_noise = torch.Generator().manual_seed(int(seed) + 9_191)

    @classmethod
    def from_linear(cls, lin: nn.Linear, tile: TileConfig | None = None,
                    seed: int = 0) -> AnalogLinear:
        """An analog copy of ``lin`` (same weights and bias)."""
        layer = cls(lin.in_features, lin.out_features, lin.bias is not None, tile, seed)
        with torch.no_grad():
            layer.weight.copy_(lin.weight)
            if lin.bias is not None:
                layer.bias.copy_(lin.bias)
        return layer.to(lin.weight.device)

    # -- the twin ------------------------------------------------------------------------
    def _twin_blocks(self) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
        weights, scales = [], []
        for r in range(len(self.tiling.rows)):
            w_row, s_row = [], []
            for c in range(len(self.tiling.cols)):
                block = self.tiling.block(self.weight, r, c)
                wmax = block_wmax(block)
                w_norm = block / wmax
                if self.training and self.tile.weight_noise > 0:
                    noise = torch.randn(w_norm.shape, generator=self.noise, dtype=torch.float32)
                    w_norm = w_norm + self.tile.weight_noise * noise.to(w_norm)
                w_row.append(w_norm)
                s_row.append(wmax)
            weights.append(w_row)
            scales.append(s_row)
        return weights, scales

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"AnalogLinear expects [..., {self.in_features}] inputs, got "
                             f"{tuple(x.shape)}")
        on_hw = self._read is not None
        weights, scales = self._read if on_hw else self._twin_blocks()
        noisy = self.training or on_hw
        gen = self.read_noise if on_hw else self.noise
        cfg = self.tile if noisy else _without_output_noise(self.tile)
        y = tiled_forward(x, self.tiling, weights, scales, self.input_range, cfg, gen)
        return y + self.bias if self.bias is not None else y

    # -- the hardware ----------------------------------------------------------------------
    def program(self, device: DeviceModel, generator: torch.Generator) -> None:
        """Write the current weights into ``device`` tiles (one programming pass)."""
        self.hardware = program_tiles(self.weight, self.tiling, self.tile, device, generator)
        self._read = None

    def read_at(self, t: float, generator: torch.Generator,
                compensation: Compensation = "none") -> None:
        """Read the devices at ``t`` s after programming; forward then runs on them."""
        if self.hardware is None:
            raise RuntimeError("AnalogLinear.read_at before program(); program the layer first")
        with torch.no_grad():
            self._read = self.hardware.read(t, generator, compensation)

    def unprogram(self) -> None:
        """Back to the digital twin (the weights are unchanged)."""
        self.hardware, self._read = None, None

    def extra_repr(self) -> str:
        return (f"{self.in_features}, {self.out_features}, tiles={self.tiling.shape}, "
                f"programmed={self.hardware is not None}")


def _without_output_noise(cfg: TileConfig) -> TileConfig:
    if cfg.output_noise == 0:
        return cfg
    from dataclasses import replace

    return replace(cfg, output_noise=0.0)


class AnalogConv2d(nn.Module):
    """A ``Conv2d`` (groups = 1) computed as an :class:`AnalogLinear` on unfolded patches."""

    def __init__(self, conv: nn.Conv2d, tile: TileConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        if conv.groups != 1:
            raise ValueError(f"AnalogConv2d supports groups=1 only, got groups={conv.groups}; "
                             "keep grouped convolutions digital")
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("AnalogConv2d supports numeric zero padding only; got padding="
                             f"{conv.padding!r}, padding_mode={conv.padding_mode!r}")
        self.out_channels, self.kernel_size = conv.out_channels, conv.kernel_size
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        lin = nn.Linear(conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1],
                        conv.out_channels, bias=conv.bias is not None)
        with torch.no_grad():
            lin.weight.copy_(conv.weight.reshape(conv.out_channels, -1))
            if conv.bias is not None:
                lin.bias.copy_(conv.bias)
        self.core = AnalogLinear.from_linear(lin, tile, seed)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"AnalogConv2d expects [B, C, H, W], got {tuple(x.shape)}")
        b, _, h, w = x.shape
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        y = self.core(cols.transpose(1, 2))  # [B, L, out]
        kh, kw = self.kernel_size
        h_out = (h + 2 * self.padding[0] - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        w_out = (w + 2 * self.padding[1] - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        return y.transpose(1, 2).reshape(b, self.out_channels, h_out, w_out)
