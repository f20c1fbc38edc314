"""Composable non-idealities of physical hardware, applied around the ideal physics.

A system measures ``y = out_K(... out_1(physics(in_J(... in_1(x)))))``: every effect may act on
the drive signal (``on_input``, e.g. a DAC) and/or on the measurement (``on_output``, e.g.
noise, drift, an ADC). Effects draw randomness from the system's own generator, so the same seed
and the same sequence of calls give the same measurements. Time is the system's call counter
(``system.calls``: one call = one measured batch).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from neuromorph.hardware_models.base import PhysicalSystem


def _randn(shape: torch.Size | tuple[int, ...], system: PhysicalSystem, like: Tensor) -> Tensor:
    noise = torch.randn(tuple(shape), generator=system.generator, dtype=torch.float32)
    return noise.to(device=like.device, dtype=like.dtype)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class NonIdeality:
    """Base class: identity on both sides. Subclasses override one or both hooks."""

    def on_input(self, x: Tensor, system: PhysicalSystem) -> Tensor:
        return x

    def on_output(self, y: Tensor, system: PhysicalSystem) -> Tensor:
        return y

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class AdditiveNoise(NonIdeality):
    """``y + std * N(0, 1)``: detector / read noise, in output units."""

    def __init__(self, std: float) -> None:
        _require(std >= 0, f"AdditiveNoise std must be >= 0, got {std}")
        self.std = float(std)

    def on_output(self, y: Tensor, system: PhysicalSystem) -> Tensor:
        return y + self.std * _randn(y.shape, system, y) if self.std > 0 else y


class MultiplicativeNoise(NonIdeality):
    """``y * (1 + std * N(0, 1))``: gain fluctuations (relative, dimensionless)."""

    def __init__(self, std: float) -> None:
        _require(std >= 0, f"MultiplicativeNoise std must be >= 0, got {std}")
        self.std = float(std)

    def on_output(self, y: Tensor, system: PhysicalSystem) -> Tensor:
        return y * (1 + self.std * _randn(y.shape, system, y)) if self.std > 0 else y


class ShotNoise(NonIdeality):
    """Photon shot noise: ``y -> Poisson(photons * y) / photons`` (Gaussian approximation).

    ``photons`` is the mean photon count at unit signal; the variance is ``y / photons``, so the
    relative noise falls as ``1 / sqrt(photons * y)``. Negative signals are clipped to 0.
    """

    def __init__(self, photons: float) -> None:
        _require(photons > 0, f"ShotNoise photons must be > 0, got {photons}")
        self.photons = float(photons)

    def on_output(self, y: Tensor, system: PhysicalSystem) -> Tensor:
        y = y.clamp_min(0)
        return (y + (y / self.photons).sqrt() * _randn(y.shape, system, y)).clamp_min(0)


def _quantize(v: Tensor, bits: int, lo: float, hi: float) -> Tensor:
    levels = 2**bits - 1
    step = (hi - lo) / levels
    return torch.round((v.clamp(lo, hi) - lo) / step) * step + lo


class DAC(NonIdeality):
    """Drive-side quantisation: clamp to ``[lo, hi]`` and round to ``2**bits`` levels."""

    def __init__(self, bits: int, lo: float = 0.0, hi: float = 1.0) -> None:
        _require(1 <= bits <= 32, f"DAC bits must be in 1..32, got {bits}")
        _require(hi > lo, f"DAC range needs hi > lo, got lo={lo}, hi={hi}")
        self.bits, self.lo, self.hi = int(bits), float(lo), float(hi)

    def on_input(self, x: Tensor, system: PhysicalSystem) -> Tensor:
        return _quantize(x, self.bits, self.lo, self.hi)


class ADC(NonIdeality):
    """Measurement quantisation: clamp to ``[lo, full_scale]``, round to ``2**bits`` levels."""

    def __init__(self, bits: int, full_scale: float, lo: float = 0.0) -> None:
        _require(1 <= bits <= 32, f"ADC bits must be in 1..32, got {bits}")
        _require(full_scale > lo, f"ADC full_scale must exceed lo={lo}, got {full_scale}")
        self.bits, self.full_scale, self.lo = int(bits), float(full_scale), float(lo)

    def on_output(self, y: Tensor, system: PhysicalSystem) -> Tensor:
        return _quantize(y, self.bits, self.lo, self.full_scale)


class Drift(NonIdeality):
    """Slow gain drift: each output channel's gain ``g_c`` random-walks between calls.

    ``g_c(t+1) = g_c(t) * exp(rate * N(0, 1))`` per call, so after ``t`` calls the log-gain has
    standard deviation ``rate * sqrt(t)``. ``rate`` is per call (dimensionless).
    """

    def __init__(self, rate: float) -> None:
        _require(rate >= 0, f"Drift rate must be >= 0, got {rate}")
        self.rate = float(rate)
        self._log_gain: Tensor | None = None

    def on_output(self, y: Tensor, system: PhysicalSystem) -> Tensor:
        if self._log_gain is None:
            self._log_gain = torch.zeros(y.shape[1])
        gain = self._log_gain.exp().to(device=y.device, dtype=y.dtype)
        step = torch.randn(y.shape[1], generator=system.generator)
        self._log_gain = self._log_gain + self.rate * step
        return y * gain


class Perturbation(NonIdeality):
    """A sudden change of the hardware itself at call ``at_call`` (someone bumps the table).

    From that call on, every physical constant ``c`` of the system (each floating buffer, and
    each parameter of a fitted model) is replaced once by ``c + strength * std(c) * N(0, 1)``.
    A digital twin made before the perturbation is now stale.
    """

    def __init__(self, at_call: int, strength: float, seed: int = 0) -> None:
        _require(at_call >= 0, f"Perturbation at_call must be >= 0, got {at_call}")
        _require(strength >= 0, f"Perturbation strength must be >= 0, got {strength}")
        self.at_call, self.strength, self.seed = int(at_call), float(strength), int(seed)
        self.applied = False

    def on_input(self, x: Tensor, system: PhysicalSystem) -> Tensor:
        if not self.applied and system.calls >= self.at_call:
            from neuromorph.hardware_models.base import perturb_constants

            perturb_constants(system, self.strength, torch.Generator().manual_seed(self.seed))
            self.applied = True
        return x


def noise_std_of(effects: list[NonIdeality]) -> float:
    """Total additive noise std of a list of effects (root sum of squares), for reports."""
    return math.sqrt(sum(e.std**2 for e in effects if isinstance(e, AdditiveNoise)))
