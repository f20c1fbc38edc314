"""Optical scattering layer: SLM -> multiple-scattering medium -> camera.

A spatial light modulator (SLM) writes the drive ``x`` into the field of ``n_in`` input modes,
a scattering medium mixes them through a fixed complex transmission matrix ``T``, and a camera
measures ``P = n_out * pool`` speckle pixels, summed in groups of ``pool`` (binning)::

    E_in  = encode(x)                          (SLM, [B, n_in] complex field)
    E_out = T E_in,  T in C^{P x n_in}          (medium, linear in the field)
    y_j   = sum_{p in group j} detect(E_out_p)  (camera: |E|^2 or |E|, binned)

Units: the field is in units of sqrt(photon flux) per SLM pixel, so ``|E|^2`` is an intensity
in "unit-input photons" (one SLM pixel fully on, transmitted without loss, gives intensity 1).

Encodings (the SLM):

* ``"amplitude"``: ``E_in = x``, a real field amplitude. Negative values are a pi phase flip
  (a phase-and-amplitude SLM). An amplitude-only SLM (DMD, LC between polarisers) transmits
  only ``x`` in ``[0, 1]``: model it by adding ``DAC(bits, 0.0, 1.0)`` to ``nonidealities``.
* ``"phase"``: ``E_in = exp(i pi x)``, a phase-only SLM; ``x`` in ``[0, 2)`` covers one full
  wave, and ``x`` and ``x + 2`` give the same field (the SLM's phase wraps).

Transmission matrices:

* ``"gaussian"`` (default): i.i.d. circular complex Gaussian ``T_pk ~ CN(0, 1 / n_in)``, the
  random-matrix model of a thick multiple-scattering medium with partial detection; each pixel's
  mean intensity is ``||E_in||^2 / n_in`` and speckle intensities are exponentially distributed.
* ``"unitary"``: ``P`` rows of a Haar-random unitary (orthonormal columns when
  ``P >= n_in``), a lossless medium whose every output mode reaches the camera: the total
  detected intensity equals ``||E_in||^2`` exactly (energy conservation).

Camera non-idealities, appended after any user ``nonidealities`` (order: shot noise, read
noise, ADC): shot noise with mean ``photons`` photo-electrons at unit intensity (variance
``y / photons``, Gaussian approximation of Poisson), Gaussian read noise of std ``read_noise``
(output units), and an ADC with ``2**adc_bits`` levels over ``[0, full_scale]`` (values above
saturate). ``_physics`` stays noiseless and differentiable, so the digital twin is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.nonidealities import ADC, AdditiveNoise, NonIdeality, ShotNoise

# (real, imag) field planes -> (real, imag) encoded field; one registry per string option.
Encoder = Callable[[Tensor], tuple[Tensor, Tensor | None]]
ENCODINGS: dict[str, Encoder] = {
    "amplitude": lambda x: (x, None),
    "phase": lambda x: (torch.cos(math.pi * x), torch.sin(math.pi * x)),
}

_TINY = 1e-30  # keeps sqrt differentiable where the field vanishes exactly
DETECTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "intensity": lambda intensity: intensity,
    "amplitude": lambda intensity: intensity.clamp_min(_TINY).sqrt(),
}

# Expected-maximum headroom of the default ADC full scale: a speckle pixel exceeds 8x its mean
# intensity with probability exp(-8) ~ 3e-4.
_HEADROOM = 8.0


def _gaussian_matrix(rows: int, cols: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    std = math.sqrt(0.5 / cols)  # CN(0, 1/cols): real and imaginary parts each N(0, 1/(2 cols))
    return (
        torch.randn(rows, cols, generator=gen) * std,
        torch.randn(rows, cols, generator=gen) * std,
    )


def _unitary_matrix(rows: int, cols: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """``rows`` x ``cols`` block of a Haar-random unitary (QR of a complex Ginibre matrix)."""
    tall, short = max(rows, cols), min(rows, cols)
    z = torch.complex(
        torch.randn(tall, short, generator=gen, dtype=torch.float64),
        torch.randn(tall, short, generator=gen, dtype=torch.float64),
    )
    q, r = torch.linalg.qr(z)
    diag = torch.diagonal(r)
    q = q * (diag / diag.abs())  # fix the phases so that q is Haar distributed
    if rows < cols:  # orthonormal rows: a sub-block of a unitary seen from the output side
        q = q.mT.conj()
    return q.real.float().contiguous(), q.imag.float().contiguous()


MATRICES: dict[str, Callable[[int, int, torch.Generator], tuple[Tensor, Tensor]]] = {
    "gaussian": _gaussian_matrix,
    "unitary": _unitary_matrix,
}


def _choose(kind: str, name: str, registry: dict) -> None:
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(registry)}")


class OpticalScattering(PhysicalSystem):
    """SLM encoding -> seeded complex transmission matrix -> camera (``|E|^2`` or ``|E|``).

    Args:
        n_in: SLM pixels (drive channels).
        n_out: measured outputs; the camera has ``n_out * pool`` pixels.
        encoding: ``"amplitude"`` (``E = x``) or ``"phase"`` (``E = exp(i pi x)``).
        detection: ``"intensity"`` (``|E|^2``) or ``"amplitude"`` (``|E|``).
        pool: camera pixels summed into one output (binning).
        photons: mean photo-electrons at unit intensity (shot noise); ``None`` = no shot noise.
        read_noise: Gaussian read-noise std in output units.
        adc_bits: ADC resolution; ``None`` = ideal (unquantised) camera.
        full_scale: ADC full scale; default ``8 x`` the mean output for a unit-range input
            (all SLM pixels at amplitude 1, or any phase pattern).
        transmission: ``"gaussian"`` or ``"unitary"`` (see the module docstring).
        nonidealities: extra effects, applied before the camera's own.
        seed: selects the medium (the transmission matrix) and seeds the noise.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        encoding: str = "amplitude",
        detection: str = "intensity",
        pool: int = 1,
        photons: float | None = None,
        read_noise: float = 0.0,
        adc_bits: int | None = None,
        full_scale: float | None = None,
        transmission: str = "gaussian",
        nonidealities: Sequence[NonIdeality] = (),
        seed: int = 0,
    ) -> None:
        _choose("encoding", encoding, ENCODINGS)
        _choose("detection", detection, DETECTIONS)
        _choose("transmission", transmission, MATRICES)
        if pool < 1:
            raise ValueError(f"pool must be >= 1 camera pixels per output, got {pool}")
        if photons is not None and photons <= 0:
            raise ValueError(f"photons must be > 0 (or None for no shot noise), got {photons}")
        if read_noise < 0:
            raise ValueError(f"read_noise must be >= 0, got {read_noise}")
        if adc_bits is not None and not 1 <= adc_bits <= 32:
            raise ValueError(f"adc_bits must be in 1..32 (or None for no ADC), got {adc_bits}")
        if full_scale is not None and full_scale <= 0:
            raise ValueError(f"full_scale must be > 0, got {full_scale}")
        super().__init__(n_in, n_out, nonidealities, seed)
        self.encoding, self.detection, self.pool = encoding, detection, int(pool)
        self.transmission = transmission
        gen = torch.Generator().manual_seed(self.seed)
        t_re, t_im = MATRICES[transmission](self.n_out * self.pool, self.n_in, gen)
        self.register_buffer("t_re", t_re)  # [n_out * pool, n_in], real part of T
        self.register_buffer("t_im", t_im)  # imaginary part of T

        # Mean pixel intensity for a unit-modulus input on every SLM pixel: mean_p sum_k |T_pk|^2.
        unit_intensity = float((t_re.square() + t_im.square()).sum(1).mean())
        default_scale = {
            "intensity": self.pool * _HEADROOM * unit_intensity,
            "amplitude": self.pool * math.sqrt(_HEADROOM * unit_intensity),
        }[detection]
        self.full_scale = float(full_scale) if full_scale is not None else default_scale
        self.photons, self.read_noise, self.adc_bits = photons, float(read_noise), adc_bits
        camera: list[NonIdeality] = []
        if photons is not None:
            camera.append(ShotNoise(photons))
        if read_noise > 0:
            camera.append(AdditiveNoise(read_noise))
        if adc_bits is not None:
            camera.append(ADC(adc_bits, self.full_scale))
        self.nonidealities.extend(camera)

    def field(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Complex camera-plane field ``T encode(x)`` as (real, imag), each ``[B, P]``."""
        e_re, e_im = ENCODINGS[self.encoding](x)
        t_re, t_im = self.t_re.to(x.dtype), self.t_im.to(x.dtype)
        if e_im is None:  # real field: two real products instead of four
            return e_re @ t_re.T, e_re @ t_im.T
        return e_re @ t_re.T - e_im @ t_im.T, e_re @ t_im.T + e_im @ t_re.T

    def _physics(self, x: Tensor) -> Tensor:
        out_re, out_im = self.field(x)
        pixels = DETECTIONS[self.detection](out_re.square() + out_im.square())
        return pixels.reshape(x.shape[0], self.n_out, self.pool).sum(-1)
