"""Fit a PCM-like device model to measured data: programmed vs read conductance over time.

Input: a CSV with one row per (device, read) and the columns ``device`` (an id),
``g_target`` (S, the conductance asked for), ``t`` (s since the end of programming) and ``g``
(S, the conductance read), with every device read at the same >= 3 times. Output:
:class:`~neuromorph.hardware_models.crossbar.pcm.PCMParams` with the published functional forms
(Nandakumar 2019 / Joshi 2020) and fitted coefficients:

1. per device, least squares of ``ln g = ln g_P - nu ln((t + t0) / t0)`` gives ``g_P`` and
   ``nu`` with their standard errors;
2. devices are binned by ``x = g_target / g_max``; per bin, the programming spread is
   ``var(g_P - g_T) - mean(se^2)`` and the drift spread ``var(nu) - mean(se^2)`` (estimation
   noise removed), the drift mean is ``mean(nu)``;
3. ``sigma_P(x)`` is a quadratic in ``x`` (``prog_coeff``, uS at g_max = 25 uS); ``mu_nu`` and
   ``sigma_nu`` are lines in ``ln x``, clipped to the range of the bin estimates;
4. the read noise: the relative residuals at time ``t`` have variance
   ``Q_s^2 ln((t + t0 + t_r) / (2 t_r))`` with ``Q_s = read_q / x^0.65`` (exponent kept at its
   published value); ``read_q`` is the median over bins and times.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from neuromorph.hardware_models.crossbar.pcm import PCMParams

COLUMNS = ("device", "g_target", "t", "g")


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """The four columns of a device-data CSV as arrays; a missing column is a clear error."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; the CSV needs the columns "
                             f"{list(COLUMNS)} (device id, target S, time s, read S)")
        rows = list(reader)
    return {c: np.array([float(r[c]) for r in rows]) for c in COLUMNS}


def _table(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g_target [D], times [T], g [D, T])`` with devices as rows (same times for each)."""
    devices, inverse = np.unique(data["device"], return_inverse=True)
    times = np.unique(data["t"])
    if len(times) < 3:
        raise ValueError(f"need reads at >= 3 times per device to fit drift, got {len(times)}")
    g = np.full((len(devices), len(times)), np.nan)
    g[inverse, np.searchsorted(times, data["t"])] = data["g"]
    if np.isnan(g).any():
        raise ValueError("every device must be read at every time; some (device, t) are missing")
    target = np.zeros(len(devices))
    target[inverse] = data["g_target"]
    return target, times, g


def fit_pcm_like(data: dict[str, np.ndarray] | str | Path, g_max: float = 25e-6,
                 t0: float = 20.0, t_read: float = 250e-9, n_bins: int = 8) -> PCMParams:
    """Fit :class:`PCMParams` to measured reads (see the module docstring)."""
    if not isinstance(data, dict):
        data = read_csv(data)
    target, times, g = _table(data)
    if (g <= 0).any():
        raise ValueError("reads must be > 0 S to fit the power-law drift; drop dead devices")
    u = np.log((times + t0) / t0)
    y = np.log(g)
    u_c = u - u.mean()
    sxx = (u_c**2).sum()
    slope = (y - y.mean(axis=1, keepdims=True)) @ u_c / sxx
    intercept = y.mean(axis=1) - slope * u.mean()
    resid = y - intercept[:, None] - slope[:, None] * u
    s2 = (resid**2).sum(axis=1) / (len(u) - 2)
    nu, se_nu = -slope, np.sqrt(s2 / sxx)
    g_p = np.exp(intercept)
    se_gp = g_p * np.sqrt(s2 * (1 / len(u) + u.mean() ** 2 / sxx))

    x = target / g_max
    edges = np.quantile(x, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_bins - 1)
    xs, sig_p, mu, sig_nu, q = [], [], [], [], []
    noise_time = np.log((times + t0 + t_read) / (2 * t_read))
    for b in range(n_bins):
        sel = which == b
        if sel.sum() < 20:
            continue
        xb = float(x[sel].mean())
        xs.append(xb)
        sig_p.append(math.sqrt(max(np.var(g_p[sel] - target[sel]) - np.mean(se_gp[sel] ** 2),
                                   0.0)))
        mu.append(float(nu[sel].mean()))
        sig_nu.append(math.sqrt(max(np.var(nu[sel]) - np.mean(se_nu[sel] ** 2), 0.0)))
        rel = np.expm1(resid[sel])  # g / fit - 1
        q_t = np.sqrt(rel.var(axis=0) * len(u) / (len(u) - 2) / noise_time)
        q.append(float(np.median(q_t)) * xb**0.65)
    if len(xs) < 3:
        raise ValueError("need >= 20 devices in at least 3 conductance bins to fit the model")
    xs_a, ln_x = np.array(xs), np.log(xs)
    c2, c1, c0 = np.polyfit(xs_a, np.array(sig_p) * 1e6 * 25e-6 / g_max, 2)
    a_mu, b_mu = np.polyfit(ln_x, mu, 1)
    a_sd, b_sd = np.polyfit(ln_x, sig_nu, 1)
    return PCMParams(
        g_max=g_max, prog_coeff=(float(c0), float(c1), float(c2)), t0=t0, t_read=t_read,
        drift_mu=(float(a_mu), float(b_mu), float(min(mu)), float(max(mu))),
        drift_sigma=(float(a_sd), float(b_sd), float(min(sig_nu)), float(max(sig_nu))),
        read_q=float(np.median(q)),
    )
