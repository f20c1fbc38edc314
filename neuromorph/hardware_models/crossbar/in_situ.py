"""A crossbar layer in the training loop: every forward writes the weights, then measures.

:class:`InSituLinear` is the trainable map of a :class:`~neuromorph.networks.stack.Stage` when
the map itself lives on the array (chip-in-the-loop training). Each call

1. programs the layer's *current* ``weight`` onto fresh devices (one write, with programming
   noise; the mapping and tiling of :mod:`.mapping`), seeded by ``(seed, writes)``;
2. reads the devices at ``t_read`` seconds after the write (drift, read noise; global drift
   compensation ``compensation``);
3. runs the tiled forward (DAC, the read conductances, ADC) and adds the digital bias::

       y = r sum_tiles gamma w_max ADC(DAC(x / r) . W~(t_read)^T) + b

A forward-only rule (:mod:`neuromorph.learning_rules.zeroth_order`, ``evolution``) perturbs
``weight`` by substituting it (``torch.func.functional_call``), so every member of its
population is a real write and read of the array; nothing is differentiated through it.
``writes`` counts the measurements. ``input_range`` (DAC full scale, input units) is a buffer,
set by the caller (e.g. from measured activations), never a trained parameter.

:class:`InSituLinearOverTime` is the same layer driven by a whole input sequence per write
(a spiking network's ``steps`` time steps, flattened per sample as ``[B, steps * n_in]``): the
array is written once and the ``steps`` reads all see that one programmed (and read) state.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.hardware_models.crossbar.hardware import COMPENSATIONS, Compensation, program_tiles
from neuromorph.hardware_models.crossbar.mapping import Tiling
from neuromorph.hardware_models.crossbar.tile import TileConfig, tiled_forward


class InSituLinear(nn.Module):
    """``y = x W^T + b`` measured on a freshly programmed crossbar at every call (module doc)."""

    access = Access.FORWARD_ONLY

    def __init__(self, in_features: int, out_features: int, device: DeviceModel,
                 tile: TileConfig | None = None, t_read: float = 1.0,
                 compensation: Compensation = "programmed", seed: int = 0) -> None:
        super().__init__()
        if compensation not in COMPENSATIONS:
            raise ValueError(f"unknown compensation {compensation!r}; choose one of "
                             f"{list(COMPENSATIONS)}")
        if not t_read >= 0:
            raise ValueError(f"t_read must be >= 0 s, got {t_read}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.device, self.tile = device, tile or TileConfig()
        self.t_read, self.compensation, self.seed = float(t_read), compensation, int(seed)
        self.tiling = Tiling.of(self.in_features, self.out_features,
                                self.tile.max_inputs, self.tile.max_outputs)
        lin = nn.Linear(self.in_features, self.out_features)
        self.weight = nn.Parameter(lin.weight.detach().clone())
        self.bias = nn.Parameter(lin.bias.detach().clone())
        self.register_buffer("input_range", torch.tensor(float(self.tile.input_range)))
        self.writes = 0

    @classmethod
    def from_linear(cls, lin: nn.Linear, device: DeviceModel, tile: TileConfig | None = None,
                    t_read: float = 1.0, compensation: Compensation = "programmed",
                    seed: int = 0, **options: int) -> InSituLinear:
        """An in-situ copy of ``lin`` (same weights; ``lin`` must have a bias); ``options``:
        the subclass's own keywords (``steps=`` of :class:`InSituLinearOverTime`)."""
        if lin.bias is None:
            raise ValueError("InSituLinear needs a layer with a bias (the digital offset)")
        layer = cls(lin.in_features, lin.out_features, device, tile, t_read, compensation, seed,
                    **options)
        with torch.no_grad():
            layer.weight.copy_(lin.weight)
            layer.bias.copy_(lin.bias)
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"InSituLinear expects [..., {self.in_features}] inputs, got "
                             f"{tuple(x.shape)}")
        count = self.writes
        self.writes += 1
        write = torch.Generator().manual_seed(self.seed * 1_000_003 + 2 * count)
        read = torch.Generator().manual_seed(self.seed * 1_000_003 + 2 * count + 1)
        with torch.no_grad():
            hardware = program_tiles(self.weight, self.tiling, self.tile, self.device, write)
            weights, scales = hardware.read(self.t_read, write, self.compensation)
            y = tiled_forward(x, self.tiling, weights, scales, self.input_range, self.tile, read)
        return y + self.bias

    def extra_repr(self) -> str:
        name = getattr(self.device, "name", type(self.device).__name__)
        return (f"{self.in_features}, {self.out_features}, device={name}, "
                f"t_read={self.t_read} s, writes={self.writes}")


class InSituLinearOverTime(InSituLinear):
    """:class:`InSituLinear` on a sequence: ``[B, steps * n_in] -> [B, steps * n_out]``.

    Sample ``b``'s input at step ``t`` is ``x[b, t n_in : (t + 1) n_in]``; every step is the
    same map ``y[t] = x[t] W~^T + b`` of one write (``writes`` += 1 per call, not per step),
    read ``t_read`` s after programming (the ``steps`` reads of a sequence lie within
    milliseconds of each other, so they share one device state).
    """

    def __init__(self, in_features: int, out_features: int, device: DeviceModel,
                 tile: TileConfig | None = None, t_read: float = 1.0,
                 compensation: Compensation = "programmed", seed: int = 0, *,
                 steps: int = 1) -> None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        super().__init__(in_features, out_features, device, tile, t_read, compensation, seed)
        self.steps = int(steps)

    def forward(self, x: Tensor) -> Tensor:
        width = self.steps * self.in_features
        if x.dim() != 2 or x.shape[1] != width:
            raise ValueError(f"InSituLinearOverTime expects [B, {self.steps} * "
                             f"{self.in_features}] (steps x inputs, flattened), got "
                             f"{tuple(x.shape)}")
        y = super().forward(x.reshape(x.shape[0], self.steps, self.in_features))
        return y.reshape(x.shape[0], self.steps * self.out_features)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, steps={self.steps}"
