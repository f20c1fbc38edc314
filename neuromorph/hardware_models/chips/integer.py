"""Shared pieces of the integer (bit-accurate) chip models.

A chip model is an :class:`IntegerNetwork`: a list of integer layers plus a ``step`` function
that advances one layer by one time step in the chip's own arithmetic (``torch.int64``, exact).
:meth:`IntegerNetwork.run` drives it with input spikes ``[T, B, N_in]`` and returns the raw
integer traces, the readout converted back to float units, and the counted events (for the
energy estimate).

**Pipeline flush.** A layer with ``delay = d`` receives its input ``d`` steps late, so the
network answers ``L = sum(layer.delay)`` steps after its input. ``run(x, flush=True)`` appends
``L`` silent steps to ``x`` and drops the first ``L`` steps of the readout, so the readout's
``T`` steps line up step for step with the float network's (reading only the first ``T`` steps
loses the last ``L`` steps of the answer). ``outputs`` and ``events`` keep all ``T + L`` steps:
they are what the chip executes (and what the energy estimate counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


def rshift_to_zero(x: Tensor, n: int) -> Tensor:
    """``sign(x) * (|x| >> n)``: a right shift that rounds toward zero (Lava's decay)."""
    return torch.sign(x) * (x.abs() >> n)


def saturate(x: Tensor, bits: int) -> Tensor:
    """Clamp to the signed ``bits``-bit range ``[-2^(bits-1), 2^(bits-1) - 1]``."""
    return x.clamp(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)


@dataclass
class IntegerRun:
    """What an integer network computed for one input batch.

    ``outputs[k]``: layer ``k``'s integer output ``[T, B, N]`` (spike counts, or the membrane for
    a non-spiking readout); ``readout``: the last layer in float units (membrane / ``scale``, or
    spike counts); ``events[k]``: the input events layer ``k`` received ``[T, B, N_in]``.
    """

    outputs: list[Tensor]
    readout: Tensor
    events: list[Tensor]


@dataclass
class IntegerNetwork:
    """A network in a chip's integer representation (see :func:`quantize`)."""

    chip: str
    layers: list[Any]
    step: Callable[[Any, Tensor, tuple[Tensor, Tensor]], tuple[Tensor, tuple[Tensor, Tensor]]]
    max_input_events: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def depth(self) -> int:
        """``L = sum(layer.delay)``: steps between an input event and its effect on the readout."""
        return int(sum(getattr(layer, "delay", 0) for layer in self.layers))

    def run(self, x: Tensor, delays: bool = True, flush: bool = False) -> IntegerRun:
        """Run on input spikes/counts ``x [T, B, N_in]`` (non-negative integers).

        ``delays=False`` drops the chip's synaptic pipeline delays (numerics only), so the
        integer traces line up step by step with the float model's. ``flush=True`` (with
        delays) runs ``T + L`` steps, the last ``L`` silent, and reads the readout on the last
        ``T`` (see the module docstring).
        """
        if x.dim() != 3:
            raise ValueError(f"x must be time-major [T, B, N_in], got shape {tuple(x.shape)}")
        if torch.any(x < 0) or torch.any(x != torch.round(x)):
            raise ValueError("chip inputs are event counts: non-negative integers per step")
        events = x.to(torch.int64)
        pad = self.depth if (flush and delays) else 0
        if pad:
            events = torch.cat([events, events.new_zeros(pad, *events.shape[1:])])
        if self.max_input_events is not None:
            events = events.clamp(max=self.max_input_events)
        T, B = events.shape[:2]
        outputs, received = [], []
        for layer in self.layers:
            if events.shape[2] != layer.weight.shape[1]:
                raise ValueError(f"layer expects {layer.weight.shape[1]} inputs, got "
                                 f"{events.shape[2]}")
            d = layer.delay if delays else 0
            if d:
                events = torch.cat([events.new_zeros(d, *events.shape[1:]), events[:-d]])
            received.append(events)
            n = layer.weight.shape[0]
            state = (events.new_zeros(B, n), events.new_zeros(B, n))
            prev = events.new_zeros(B, n)
            out = []
            for t in range(T):
                y, state = self.step(layer, events[t], state, prev)
                prev = y if layer.spiking else prev
                out.append(y)
            events = torch.stack(out)
            outputs.append(events)
        last = self.layers[-1]
        readout = (outputs[-1].to(torch.float64) / last.scale if not last.spiking
                   else outputs[-1].to(torch.float64))
        return IntegerRun(outputs, readout[pad:], received)


__all__ = ["IntegerNetwork", "IntegerRun", "rshift_to_zero", "saturate"]
