"""The device contract of a crossbar: program a target conductance, read it back at time ``t``.

A device model is data (a frozen dataclass of parameters) plus two seeded functions:

* ``program(g_target, generator) -> Programmed``: one write of every device to its target
  conductance (S). It returns the programmed state: what the device holds right after the write
  (programming noise, finite states, stuck devices) and any per-device constants drawn at the
  write (drift exponents, device-to-device factors).
* ``read(state, t, generator) -> g``: the conductance (S) measured at inference time ``t``
  seconds after programming (drift, relaxation, accumulated 1/f read noise).

Models never keep a hidden random state: every draw comes from the ``torch.Generator`` given,
so the same seed gives the same devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor


@dataclass
class Programmed:
    """Devices right after programming.

    ``g_target``: the conductances asked for (S); ``g_prog``: what was written (S);
    ``extras``: per-device constants drawn at the write (e.g. ``nu`` drift exponents).
    """

    g_target: Tensor
    g_prog: Tensor
    extras: dict[str, Tensor] = field(default_factory=dict)

    def map(self, fn) -> Programmed:  # noqa: ANN001 - a Tensor -> Tensor function
        """A copy with ``fn`` applied to every tensor (e.g. slicing a tile out of an array)."""
        return Programmed(fn(self.g_target), fn(self.g_prog),
                          {k: fn(v) for k, v in self.extras.items()})


class DeviceModel(Protocol):
    """What a crossbar needs from a device model (see the module docstring)."""

    name: str
    g_max: float  # largest programmable conductance (S)

    def program(self, g_target: Tensor, generator: torch.Generator) -> Programmed: ...

    def read(self, state: Programmed, t: float, generator: torch.Generator) -> Tensor: ...


def randn_like(x: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normal draws shaped like ``x`` (its dtype) from an explicit CPU generator."""
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def rand_like(x: Tensor, generator: torch.Generator) -> Tensor:
    """Uniform [0, 1) draws shaped like ``x`` (its dtype) from an explicit CPU generator."""
    return torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def check_target(g_target: Tensor, g_max: float, name: str) -> None:
    """One clear error for targets outside ``[0, g_max]`` or not finite."""
    if not torch.isfinite(g_target).all():
        raise ValueError(f"{name}: target conductances contain NaN or inf; check the weights")
    lo, hi = float(g_target.min()), float(g_target.max())
    if lo < 0 or hi > g_max * (1 + 1e-6):
        raise ValueError(
            f"{name}: target conductances must lie in [0, g_max={g_max:.3g} S], got "
            f"[{lo:.3g}, {hi:.3g}] S; map weights with the crossbar mapping (differential pairs)"
        )


def check_time(t: float, name: str) -> None:
    if not (isinstance(t, int | float) and t >= 0 and t == t and t != float("inf")):
        raise ValueError(f"{name}: inference time t must be a finite number of seconds >= 0, "
                         f"got {t!r}")
