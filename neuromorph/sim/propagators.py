"""Per-step update matrices of the neuron groups (computed once, in float64, from ``dt``).

Each group stores its state as rows ``X = [v, x_1 .. x_C, (u), I, 1]`` of shape ``[R, n]``; one
step of the linear part of its dynamics is ``X_new[:K] = M @ X`` with the matrices below.

Exact propagator of the current-based LIF with exponential channels (Brian2 ``method='exact'``)::

    dv/dt = (v_rest - v + sum_k s_k x_k + r I) / tau_m,   dx_k/dt = -x_k / tau_k

    a_m = exp(-dt/tau_m),  a_k = exp(-dt/tau_k)
    x_k(t+dt) = a_k x_k
    v(t+dt)  = a_m v + sum_k s_k P_k x_k + (1 - a_m)(r I + v_rest)
    P_k = tau_k / (tau_k - tau_m) * (a_k - a_m)        (P_k = dt/tau_m * a_m if tau_k = tau_m)

``I`` is held constant over the step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from neuromorph.primitives.discretize import decay, exact_decay


def exp_kernel_gain(tau_k: float, tau_m: float, dt: float) -> float:
    """``P_k``: v(dt) caused by a unit channel value at t = 0 (v, I start at zero, v_rest = 0)."""
    a_m, a_k = exact_decay(tau_m, dt, name="tau_m"), exact_decay(tau_k, dt, name="tau_k")
    if abs(tau_k - tau_m) <= 1e-12 * max(tau_k, tau_m):
        return dt / tau_m * a_m
    return tau_k / (tau_k - tau_m) * (a_k - a_m)


def lif_matrix(
    tau_m: float, v_rest: float, r_m: float, taus: Sequence[float], scales: Sequence[float],
    dt: float,
) -> Tensor:
    """``M`` ``[C+1, C+3]`` (float64) of the exact LIF step on ``X = [v, x_1..x_C, I, 1]``."""
    C = len(taus)
    M = torch.zeros(C + 1, C + 3, dtype=torch.float64)
    a_m = exact_decay(tau_m, dt, name="tau_m")
    M[0, 0] = a_m
    for k, (tau, s) in enumerate(zip(taus, scales, strict=True)):
        M[0, 1 + k] = s * exp_kernel_gain(tau, tau_m, dt)
        M[1 + k, 1 + k] = exact_decay(tau, dt, name="tau_k")
    M[0, C + 1] = (1.0 - a_m) * r_m
    M[0, C + 2] = (1.0 - a_m) * v_rest
    return M


def coba_matrix(
    v_rest: float, r_m: float, e_rev: Sequence[float], g_scale: float = 1.0,
) -> Tensor:
    """``A`` ``[2, C+3]`` giving ``[g_tot, drive]`` from ``X = [v, g_1..g_C, I, 1]``.

    ``g_tot = 1 + c sum_k g_k`` and ``drive = v_rest + c sum_k g_k E_k + r I`` (``c = g_scale``,
    ``1 / g_leak`` when the ``g_k`` are in siemens), so that
    ``dv/dt = (drive - g_tot v) / tau_m`` and the exponential-Euler step is
    ``v_inf = drive / g_tot;  v(t+dt) = v_inf + (v - v_inf) exp(-dt g_tot / tau_m)``.
    """
    C = len(e_rev)
    A = torch.zeros(2, C + 3, dtype=torch.float64)
    A[0, 1:C + 1] = g_scale
    A[0, C + 2] = 1.0
    A[1, 1:C + 1] = g_scale * torch.tensor(list(e_rev), dtype=torch.float64)
    A[1, C + 1] = r_m
    A[1, C + 2] = v_rest
    return A


#: Izhikevich (2003) in SI units: dv/dt = K2 v^2 + K1 v + K0 - u + ...  [V/s]
IZH_K2, IZH_K1, IZH_K0 = 4.0e4, 5.0e3, 140.0


def izhikevich_matrix(
    a: float, b: float, r_m: float, taus: Sequence[float], dt: float,
) -> Tensor:
    """Forward-Euler matrix ``[C+2, C+4]`` on ``X = [v, x_1..x_C, u, I, 1]`` (no ``v^2`` term).

    ``v += dt (K1 v + K0 - u + sum_k x_k + r I)``; ``u += dt a (b v - u)``;
    ``x_k += dt (-x_k / tau_k)`` (Brian2 ``method='euler'``); the caller adds ``dt K2 v^2``.
    """
    C = len(taus)
    M = torch.zeros(C + 2, C + 4, dtype=torch.float64)
    M[0, 0] = 1.0 + dt * IZH_K1
    M[0, 1:C + 1] = dt
    M[0, C + 1] = -dt
    M[0, C + 2] = dt * r_m
    M[0, C + 3] = dt * IZH_K0
    for k, tau in enumerate(taus):
        M[1 + k, 1 + k] = decay(tau, dt, "euler", name="tau_k")
    M[C + 1, 0] = dt * a * b
    M[C + 1, C + 1] = 1.0 - dt * a
    return M


def refractory_steps(refractory: float, dt: float) -> int:
    """Brian2's ``timestep(refractory, dt)`` = ``int((refractory + 1e-3 dt) / dt)``."""
    return int((refractory + 1e-3 * dt) / dt)


def delay_steps(delay: Tensor, dt: float) -> Tensor:
    """Delays in seconds -> whole steps with Brian2's rounding ``int(delay/dt + 0.5)``."""
    return torch.floor(delay.to(torch.float64) / dt + 0.5).to(torch.int64)


def time_step(t: Tensor, dt: float) -> Tensor:
    """Spike times (s) -> step indices, Brian2's ``timestep``: ``int((t + 1e-3 dt) / dt)``."""
    return torch.floor((t.to(torch.float64) + 1e-3 * dt) / dt).to(torch.int64)


__all__ = [
    "IZH_K0",
    "IZH_K1",
    "IZH_K2",
    "coba_matrix",
    "delay_steps",
    "exp_kernel_gain",
    "izhikevich_matrix",
    "lif_matrix",
    "refractory_steps",
    "time_step",
]
