"""Parameters of the Potjans & Diesmann (2014) cortical microcircuit and its down-scaling.

Published values (Potjans & Diesmann 2014, Cerebral Cortex 24:785, Tables 4-5), as in NEST's
PyNEST example ``Potjans_2014/network_params.py``: 8 populations (L2/3, L4, L5, L6, each E and
I), connection probabilities ``CONN_PROBS[target, source]``, external in-degrees ``K_EXT``,
background 8 Hz, mean PSP 0.15 mV (relative s.d. 0.1, L4E -> L2/3E doubled, g = -4),
delays 1.5 ms (E) and 0.75 ms (I) with relative s.d. 0.5, ``iaf_psc_exp`` neurons
(C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms, E_L = V_reset = -65 mV, V_th = -50 mV, 2 ms refractory).

Down-scaling (NEST's ``adjust_weights_and_input_to_synapse_scaling``): neuron numbers times
``scale``; total synapse numbers times ``scale * k_scale`` (so in-degrees times ``k_scale``);
weights divided by ``sqrt(k_scale)`` (keeps the input variance); the lost mean input is given
back as a DC current ``tau_syn (1 - sqrt(k_scale)) sum_j J_ij K_ij nu_j`` (K_ij the full-scale
in-degrees, nu_j the full-scale rates ``FULL_MEAN_RATES``), plus the same for the Poisson drive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
#: full-scale mean rates (Hz) of NEST's example (``full_mean_rates``): the DC compensation input
#: and the reference the experiment compares with
FULL_MEAN_RATES = np.array([0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523])
#: NEST's 'optimized' initial membrane potentials (volts): mean and s.d. per population
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]) * 1e-3
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]) * 1e-3

BG_RATE = 8.0  # Hz per external input
PSP_E, PSP_REL_SD, G = 0.15e-3, 0.1, -4.0  # V, 1, 1
DELAY_E, DELAY_I, DELAY_REL_SD = 1.5e-3, 0.75e-3, 0.5  # s, s, 1
C_M, TAU_M, TAU_SYN, T_REF = 250e-12, 10e-3, 0.5e-3, 2e-3  # F, s, s, s
E_L, V_TH, V_RESET = -65e-3, -50e-3, -65e-3  # V


def psc_per_psp(c_m: float = C_M, tau_m: float = TAU_M, tau_syn: float = TAU_SYN) -> float:
    """PSC amplitude (A) giving a PSP peak of 1 V for exponential currents on a LIF membrane.

    ``v(t)`` for a current ``J exp(-t/tau_s)`` peaks at ``J tau_m tau_s / (C (tau_s - tau_m))
    (f^tau_m - f^tau_s)`` with ``f = (tau_m/tau_s)^(1/(tau_s - tau_m))`` (NEST's formula).
    """
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac**tau_m - frac**tau_syn))


def full_synapse_numbers() -> np.ndarray:
    """Total synapses ``[target, source]`` (full model): ``log(1-p) / log(1 - 1/(N_i N_j))``."""
    prod = np.outer(N_FULL, N_FULL).astype(np.float64)
    return np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)


@dataclass(frozen=True)
class Scaled:
    """The derived quantities of a (down-)scaled microcircuit; SI units."""

    n: np.ndarray          # neurons per population
    n_syn: np.ndarray      # synapses [target, source]
    k_ext: np.ndarray      # external in-degrees per population
    psc: np.ndarray        # mean PSC amplitude (A) [target, source]
    psc_ext: float         # external PSC amplitude (A)
    dc: np.ndarray         # DC current (A) per population
    delay_mean: np.ndarray  # mean delay (s) per source population


def scaled(scale: float, k_scale: float, poisson: bool) -> Scaled:
    """Scale neurons by ``scale`` and in-degrees by ``k_scale`` (see the module docstring)."""
    n = np.round(N_FULL * scale).astype(np.int64)
    full_syn = full_synapse_numbers()
    n_syn = np.round(full_syn * scale * k_scale).astype(np.int64)
    k_ext = np.round(K_EXT * k_scale).astype(np.int64)
    psp = np.where(np.arange(8) % 2 == 0, PSP_E, PSP_E * G)[None, :].repeat(8, axis=0)
    psp[0, 2] *= 2.0  # L4E -> L2/3E
    j = psc_per_psp() * psp
    j_ext = psc_per_psp() * PSP_E
    dc = np.zeros(8) if poisson else BG_RATE * K_EXT * j_ext * TAU_SYN
    indegree_full = full_syn / N_FULL[:, None]
    shortfall = 1.0 - np.sqrt(k_scale)
    dc = dc + TAU_SYN * shortfall * (j * indegree_full * FULL_MEAN_RATES).sum(axis=1)
    if poisson:
        dc = dc + TAU_SYN * shortfall * j_ext * K_EXT * BG_RATE
    delay_mean = np.where(np.arange(8) % 2 == 0, DELAY_E, DELAY_I)
    return Scaled(n, n_syn, k_ext, j / np.sqrt(k_scale), j_ext / np.sqrt(k_scale), dc,
                  delay_mean)


__all__ = ["FULL_MEAN_RATES", "POPULATIONS", "Scaled", "full_synapse_numbers", "psc_per_psp",
           "scaled"]
