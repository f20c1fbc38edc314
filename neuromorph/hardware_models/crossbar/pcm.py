"""Phase-change memory (PCM): the statistical model fitted by IBM to a million-device chip.

Published equations (Nandakumar et al., ICECS 2019; Joshi et al., Nat. Commun. 11, 2473, 2020;
Le Gallo et al., APL Mach. Learn. 1, 041102, 2023 -- the ``PCMLikeNoiseModel`` of aihwkit).
With ``x = g_T / g_max`` the target conductance relative to ``g_max = 25 uS``:

* programming noise: ``g_P = max(g_T + s_p * sigma_P * N(0,1), 0)`` with
  ``sigma_P = (c0 + c1 x + c2 x^2) * g_max / 25 uS`` (in uS), ``(c0, c1, c2) =
  (0.26348, 1.9650, -1.1731)``;
* drift exponent per device: ``nu = s_d * |N(mu_nu, sigma_nu^2)|`` with
  ``mu_nu = clip(-0.0155 ln x + 0.0244, 0.049, 0.1)`` and
  ``sigma_nu = clip(-0.0125 ln x - 0.0059, 0.008, 0.045)``;
* drift: ``g_D(t) = g_P ((t + t_0) / t_0)^(-nu)``, ``t_0 = 20 s`` after programming;
* accumulated 1/f read noise: ``g(t) = max(g_D + |g_D| s_r sigma_R N(0,1), 0)``,
  ``sigma_R = Q_s sqrt(ln((t + t_0 + t_r) / (2 t_r)))``,
  ``Q_s = min(0.0088 / max((g_P / g_max)^0.65, 1e-3), 0.2)``, ``t_r = 250 ns``.

``t`` is the time since the end of programming (s); ``s_p, s_r, s_d`` scale the three effects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.hardware_models.crossbar.device import (
    Programmed,
    check_target,
    check_time,
    randn_like,
)


@dataclass(frozen=True)
class PCMParams:
    """Parameters of :class:`PCM` (SI units; defaults are the published values)."""

    g_max: float = 25e-6  # S
    prog_coeff: tuple[float, float, float] = (0.26348, 1.9650, -1.1731)  # uS at g_max = 25 uS
    t0: float = 20.0  # s, time of the first read after programming
    t_read: float = 250e-9  # s, read pulse duration
    drift_mu: tuple[float, float, float, float] = (-0.0155, 0.0244, 0.049, 0.1)  # a, b, lo, hi
    drift_sigma: tuple[float, float, float, float] = (-0.0125, -0.0059, 0.008, 0.045)
    read_q: float = 0.0088  # Q_s prefactor
    read_exponent: float = 0.65
    read_q_max: float = 0.2
    prog_noise_scale: float = 1.0
    read_noise_scale: float = 1.0
    drift_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.g_max <= 0 or self.t0 <= 0 or self.t_read <= 0:
            raise ValueError(f"PCMParams: g_max, t0 and t_read must be > 0, got g_max="
                             f"{self.g_max}, t0={self.t0}, t_read={self.t_read}")
        for name in ("prog_noise_scale", "read_noise_scale", "drift_scale"):
            if getattr(self, name) < 0:
                raise ValueError(f"PCMParams: {name} must be >= 0, got {getattr(self, name)}")


def programming_sigma(g_target: Tensor, p: PCMParams) -> Tensor:
    """``sigma_P(g_T)`` in S: the quadratic fit in ``x = g_T / g_max`` (clipped at 0)."""
    x = g_target / p.g_max
    c0, c1, c2 = p.prog_coeff
    sigma_us = (c0 + c1 * x + c2 * x * x) * (p.g_max / 25e-6)
    return sigma_us.clamp_min(0.0) * 1e-6


def drift_moments(g_target: Tensor, p: PCMParams) -> tuple[Tensor, Tensor]:
    """Mean and spread ``(mu_nu, sigma_nu)`` of the drift exponent at target ``g_T``."""
    log_x = torch.log((g_target / p.g_max).abs().clamp_min(1e-7))
    a, b, lo, hi = p.drift_mu
    mu = (a * log_x + b).clamp(lo, hi)
    a, b, lo, hi = p.drift_sigma
    sigma = (a * log_x + b).clamp(lo, hi)
    return mu, sigma


def read_noise_sigma(g_prog: Tensor, t: float, p: PCMParams) -> Tensor:
    """Relative 1/f read-noise std ``sigma_R`` accumulated up to time ``t`` (dimensionless)."""
    q = (p.read_q / ((g_prog.abs() / p.g_max) ** p.read_exponent).clamp_min(1e-3))
    q = q.clamp_max(p.read_q_max)
    return q * math.sqrt(math.log((t + p.t0 + p.t_read) / (2 * p.t_read)))


class PCM:
    """Phase-change memory devices following :class:`PCMParams` (see the module docstring)."""

    name = "pcm"

    def __init__(self, params: PCMParams | None = None) -> None:
        self.params = params or PCMParams()
        self.g_max = self.params.g_max

    def program(self, g_target: Tensor, generator: torch.Generator) -> Programmed:
        p = self.params
        check_target(g_target, p.g_max, self.name)
        sigma = programming_sigma(g_target, p) * p.prog_noise_scale
        g_prog = (g_target + sigma * randn_like(g_target, generator)).clamp_min(0.0)
        mu, s = drift_moments(g_target, p)
        nu = (mu + s * randn_like(g_target, generator)).abs() * p.drift_scale
        return Programmed(g_target, g_prog, {"nu": nu})

    def read(self, state: Programmed, t: float, generator: torch.Generator) -> Tensor:
        p = self.params
        check_time(t, self.name)
        g_drift = state.g_prog * ((t + p.t0) / p.t0) ** (-state.extras["nu"])
        sigma = read_noise_sigma(state.g_prog, t, p) * p.read_noise_scale
        return (g_drift + g_drift.abs() * sigma * randn_like(g_drift, generator)).clamp_min(0.0)

    def __repr__(self) -> str:
        return f"PCM({self.params})"
