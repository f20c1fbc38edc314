"""Spiking layers over time-major tensors ``[T, B, ...]`` with explicit state.

- :class:`SpikingLinear` / :class:`SpikingConv2d`: the synaptic operation runs on all ``T``
  steps at once (one big matmul / conv over ``T * B`` samples), then the neuron's multi-step
  kernel scans time.
- :class:`RecurrentSpiking`: ``I[t] = W_in x[t] + W_rec s[t-1]`` (the input projection is
  batched over time; the recurrence steps).
- :class:`SpikingSequential`: chains layers; spiking/stateful layers get their own state (fresh per
  call unless passed), any other module (``nn.Flatten``, ``nn.MaxPool2d``, ``nn.Dropout`` ...) is
  applied to every time step at once (``[T, B, ...] -> [T * B, ...]`` and back).

Every layer's ``forward(x, state=None, *, return_state=False)`` returns its output, or
``(output, state)`` via a :class:`~neuromorph.networks.neurons.NeuronOutput` when asked.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from neuromorph.networks.neurons import (
    IF,
    LIF,
    IFState,
    LIFState,
    NeuronBase,
    NeuronOutput,
    make_neuron,
)
from neuromorph.sim.kernels import linear_lif

_STATE = {LIF: LIFState, IF: IFState}


def _is_identity(gain: Tensor, bias: Tensor) -> bool:
    """``gain == 1`` and ``bias == 0`` everywhere; on CUDA assumed not (checking would sync the
    device on every forward, and the fused kernel applies the affine map either way)."""
    return gain.device.type == "cpu" and bool((gain == 1).all()) and bool((bias == 0).all())


def _unpack(result: Tensor | tuple) -> tuple[Tensor, object]:
    """``(output, state)`` from a stateful layer called with ``return_state=True``."""
    if isinstance(result, NeuronOutput):
        return result.spikes, result.state
    return result[0], result[1]


def _check_time_major(x: Tensor, layer: str, min_dim: int = 3) -> None:
    if not isinstance(x, Tensor) or x.dim() < min_dim:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{layer} expects a time-major input [T, B, ...] with at least "
                         f"{min_dim} dims, got {got}")


class SpikingLinear(nn.Module):
    """``Linear(in_features, out_features)`` on all steps, then a spiking neuron population.

    ``neuron`` names a neuron (``"lif"``, ``"cuba_lif"``, ``"if"``, ``"alif"``, ``"li"``); the
    remaining keywords (``dt`` is required) go to it, with per-neuron parameters of shape
    ``out_features``.

    LIF and IF layers run the fused Linear + neuron op (:func:`~neuromorph.sim.kernels.linear_lif`,
    unless ``return_v``): on CPU the fused torch path, on CUDA the Triton one. The synaptic current
    never exists as a separate ``[T, B, N]`` tensor (the charge overwrites it in place).
    ``recompute=True`` additionally stores nothing of that size for the backward (one more
    matmul instead; torch path, on any device).
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 neuron: str = "lif", recompute: bool = False, **neuron_kwargs) -> None:
        super().__init__()
        self.synapse = nn.Linear(in_features, out_features, bias=bias)
        self.neuron = make_neuron(neuron, out_features, **neuron_kwargs)
        self.recompute = bool(recompute)

    def _fusable(self, return_v: bool) -> bool:
        n = self.neuron
        return not return_v and isinstance(n, (LIF, IF)) and n.backend != "reference"

    def forward(self, x: Tensor, state: object = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        _check_time_major(x, type(self).__name__)
        if not self._fusable(return_v):
            cur = self.synapse(x)  # [T, B, in] @ W^T: one matmul over all T * B rows
            return self.neuron(cur, state, return_v=return_v, return_state=return_state)
        return self._fused(x, state, return_state)

    def _fused(self, x: Tensor, state: object, return_state: bool) -> Tensor | NeuronOutput:
        n = self.neuron
        T, B = x.shape[:2]
        N = self.synapse.out_features
        like = x.new_empty(0, B, N)
        alpha, gain, bias, theta = n.kernel_coefficients((N,), like)
        w, b = self.synapse.weight, self.synapse.bias
        affine: dict = {}
        if gain.requires_grad or bias.requires_grad:  # trainable tau: fold, autograd does the rest
            w = w * gain[:, None]  # gain (W x + b) + bias == (gain W) x + (gain b + bias)
            b = bias if b is None else torch.addcmul(bias, b, gain)
        elif not _is_identity(gain, bias):
            affine = dict(gain=gain, shift=bias)
        v0 = n.state_in(None if state is None else state.v, like, "v")
        s, v = linear_lif(x, w, b, v0, alpha, theta, n.options, backend=n.backend,
                          recompute=self.recompute, **affine)
        return NeuronBase.output(s, None, _STATE[type(n)](v), False, return_state)


class SpikingConv2d(nn.Module):
    """``Conv2d`` on all ``T * B`` frames at once, then a spiking neuron population.

    Input ``[T, B, C, H, W]``; output spikes ``[T, B, C', H', W']``. Neuron parameters are
    shared scalars unless ``neuron_shape=(C', H', W')`` (or a broadcastable shape) is given.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 *, stride: int = 1, padding: int | str = 0, bias: bool = True,
                 neuron: str = "lif", neuron_shape: tuple[int, ...] | None = None,
                 **neuron_kwargs) -> None:
        super().__init__()
        self.synapse = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                                 padding=padding, bias=bias)
        self.neuron = make_neuron(neuron, neuron_shape, **neuron_kwargs)

    def forward(self, x: Tensor, state: object = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        _check_time_major(x, type(self).__name__, 5)
        T, B = x.shape[:2]
        cur = self.synapse(x.reshape(T * B, *x.shape[2:]))
        return self.neuron(cur.reshape(T, B, *cur.shape[1:]), state, return_v=return_v,
                           return_state=return_state)


class RecurrentState(NamedTuple):
    """The neuron state and the previous step's spikes ``[B, hidden]``."""

    neuron: object
    spikes: Tensor


class RecurrentSpiking(nn.Module):
    """Recurrent spiking layer: ``I[t] = W_in x[t] + W_rec s[t-1]``, then one neuron step.

    ``neuron`` is ``"lif"`` or ``"alif"`` (neurons with a single-step ``step`` method).
    ``W_in`` is applied to all steps at once; the recurrence runs as a step loop under autograd.
    """

    def __init__(self, in_features: int, hidden: int, *, bias: bool = True, neuron: str = "lif",
                 **neuron_kwargs) -> None:
        super().__init__()
        self.input = nn.Linear(in_features, hidden, bias=bias)
        self.recurrent = nn.Linear(hidden, hidden, bias=False)
        self.neuron = make_neuron(neuron, hidden, **neuron_kwargs)
        if not hasattr(self.neuron, "step"):
            raise ValueError(f"neuron {neuron!r} has no single-step form; use 'lif' or 'alif'")

    def forward(self, x: Tensor, state: RecurrentState | None = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        _check_time_major(x, type(self).__name__)
        cur = self.input(x)
        T, B = cur.shape[:2]
        nstate = None if state is None else state.neuron
        prev = cur.new_zeros(B, cur.shape[2]) if state is None else state.spikes
        spikes, vs = [], []
        for t in range(T):
            prev, nstate = self.neuron.step(cur[t] + self.recurrent(prev), nstate)
            spikes.append(prev)
            vs.append(nstate.v)
        s = torch.stack(spikes)
        v = torch.stack(vs) if return_v else None
        return NeuronBase.output(s, v, RecurrentState(nstate, prev), return_v, return_state)


class SpikingSequential(nn.Module):
    """A chain of layers over ``[T, B, ...]``; ``forward(x, state=None, return_state=False)``.

    ``state`` is a list with one entry per layer (``None`` for fresh / stateless).
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    @staticmethod
    def is_stateful(layer: nn.Module) -> bool:
        return isinstance(layer, (NeuronBase, SpikingLinear, SpikingConv2d, RecurrentSpiking,
                                  SpikingSequential))

    def forward(self, x: Tensor, state: list | None = None, *,
                return_state: bool = False) -> Tensor | tuple[Tensor, list]:
        _check_time_major(x, type(self).__name__)
        if state is not None and len(state) != len(self.layers):
            raise ValueError(f"state has {len(state)} entries for {len(self.layers)} layers")
        states: list = []
        for i, layer in enumerate(self.layers):
            if self.is_stateful(layer):
                x, st = _unpack(layer(x, None if state is None else state[i], return_state=True))
            else:
                T, B = x.shape[:2]
                y = layer(x.reshape(T * B, *x.shape[2:]))
                x, st = y.reshape(T, B, *y.shape[1:]), None
            states.append(st)
        return (x, states) if return_state else x

    def __getitem__(self, i: int) -> nn.Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


__all__ = [
    "RecurrentSpiking",
    "RecurrentState",
    "SpikingConv2d",
    "SpikingLinear",
    "SpikingSequential",
]
