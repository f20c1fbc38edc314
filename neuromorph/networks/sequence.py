"""Sequence models over ``[T, B, ...]`` (one token or sample value per step): shared parts.

A sequence block exists in two forms with the same architecture: **spiking** (each activation is
a LIF neuron running along the sequence, ``dt = 1`` step, unit input gain, subtract reset) and
its **non-spiking twin** (each activation is a ReLU of the same input current). The blocks are
:class:`~neuromorph.networks.spiking_rwkv.RWKVBlock` (SpikeGPT-style) and
:class:`~neuromorph.networks.spiking_lmu.LMUBlock` (LMUFormer-style).

**Operation counts** (:class:`OpCount`, per sample, summed over the sequence), the convention of
:mod:`neuromorph.hardware_models.chips.energy` extended to real-valued inputs:

- ``synops``: spike-driven accumulates, ``sum_t nnz(s_t) * fan_out`` for a weight matrix read by
  spikes ``s`` (a binary event adds one weight column);
- ``macs``: multiply-accumulates of a weight matrix read by real values, ``numel(x_t) * fan_out``
  (every entry, zeros included: dense hardware does not skip them);
- ``updates``: element-wise state and activation updates (neurons, gates, recurrences), one per
  element per step; reported beside the matrix operations, as the chips' neuron updates are.

``OpCount(differentiable=True)`` also sums the synops as a tensor (``synops_tensor``) through
which the surrogate gradient flows, so a penalty on it trains sparser spiking.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuromorph.networks.neurons import LIF


@dataclass
class OpCount:
    """Operations of one forward pass, accumulated in totals over the batch (``samples`` = B)."""

    synops: float = 0.0
    macs: float = 0.0
    updates: float = 0.0
    samples: int = 0
    differentiable: bool = False  # also sum the synops as a tensor (surrogate gradients)
    synops_tensor: Tensor | None = None
    dense_equivalent: float = 0.0  # numel(x) fan_out of every matrix read (a twin's MACs)

    def per_sample(self) -> dict[str, float]:
        """``{"synops", "macs", "updates"}`` divided by the number of samples seen."""
        n = max(self.samples, 1)
        return {"synops": self.synops / n, "macs": self.macs / n, "updates": self.updates / n}

    def matrix(self, x: Tensor, fan_out: int, spiking: bool, copies: int = 1) -> None:
        """Count ``x [..., fan_in]`` read by a ``fan_in x fan_out`` matrix: ``nnz(x) fan_out``
        synops when ``spiking`` and ``x`` holds binary events, else ``numel(x) fan_out`` MACs
        (a real-valued input to a spiking model's matrix is dense work). ``copies`` counts the
        same read through several matrices of that width."""
        self.dense_equivalent += copies * float(x.numel()) * fan_out
        if spiking and bool(((x == 0) | (x == 1)).all()):
            self.synops += copies * float(torch.count_nonzero(x)) * fan_out
            if self.differentiable:  # sum(x) = nnz(x) for events, with x's gradient
                term = copies * fan_out * x.sum()
                self.synops_tensor = (term if self.synops_tensor is None
                                      else self.synops_tensor + term)
        else:
            self.macs += copies * float(x.numel()) * fan_out

    def synop_fraction(self) -> Tensor:
        """Differentiable ``synops / dense_equivalent``: the share of the possible synaptic
        operations the spikes used (needs ``differentiable=True`` and a spiking pass)."""
        if self.synops_tensor is None or self.dense_equivalent == 0:
            raise ValueError("synop_fraction needs OpCount(differentiable=True) passed through "
                             "a spiking model's forward")
        return self.synops_tensor / self.dense_equivalent

    def elementwise(self, x: Tensor, per_element: int = 1) -> None:
        """``per_element`` updates for each entry of ``x``."""
        self.updates += float(x.numel()) * per_element


class SequenceActivation(nn.Module):
    """The activation of a sequence block: a LIF along the sequence, or the twin's ReLU.

    Spiking: ``v_t = beta v_{t-1} + I_t``, spike ``s_t = H(v_t - 1)``, ``v_t -= s_t``, with
    ``beta = exp(-1 / tau_steps)`` (:class:`~neuromorph.networks.neurons.LIF` at ``dt = 1``,
    ``r = tau``: unit gain), surrogate gradient ``surrogate`` of width ``scale`` (its default
    when None). Twin: ``relu(I_t)``.
    """

    def __init__(self, spiking: bool, tau_steps: float = 2.0,
                 surrogate: str = "fast_sigmoid", scale: float | None = None) -> None:
        super().__init__()
        if tau_steps < 1.0:
            raise ValueError(f"tau_steps = {tau_steps} must be >= 1 step (Euler stability)")
        self.spiking = spiking
        self.neuron = (LIF(dt=1.0, tau=tau_steps, r=tau_steps, surrogate=surrogate,
                           scale=scale, reset="subtract") if spiking else None)

    def forward(self, x: Tensor, ops: OpCount | None = None) -> Tensor:
        """``x [T, B, *F]`` input current -> spikes (or ReLU) of the same shape."""
        if ops is not None:
            ops.elementwise(x)
        if self.neuron is None:
            return torch.relu(x)
        return self.neuron(x)


def token_shift(x: Tensor) -> Tensor:
    """``x_{t-1}`` along the time axis 0, zeros at ``t = 0``."""
    return torch.cat([torch.zeros_like(x[:1]), x[:-1]], 0)


def check_sequence(x: Tensor, width: int, name: str) -> None:
    """One clear error unless ``x`` is a time-major ``[T, B, width]`` float tensor."""
    if x.dim() != 3 or x.shape[-1] != width:
        raise ValueError(f"{name}: expected input [T, B, {width}] (time-major), got "
                         f"{tuple(x.shape)}; transpose a batch-major tensor with x.transpose(0, 1)")


__all__ = ["OpCount", "SequenceActivation", "check_sequence", "token_shift"]


def counted_read(layer: nn.Linear, x: Tensor, ops: OpCount | None, spiking: bool) -> Tensor:
    """``layer(x)``, counting the read in ``ops`` (synops when ``x`` is spikes, else MACs)."""
    if ops is not None:
        ops.matrix(x, layer.out_features, spiking)
    return layer(x)
