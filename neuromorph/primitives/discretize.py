"""The one place where continuous-time neuron parameters (NIR convention) become step coefficients.

A leaky integrator ``tau dv/dt = (v_leak - v) + r I`` advanced by a step ``dt`` (seconds) becomes

    v[t] = alpha * v[t-1] + gain * I[t] + bias,     gain = r (1 - alpha),  bias = (1 - alpha) v_leak

with the decay ``alpha`` given by the method (registry :data:`METHODS`):

- ``"euler"`` (default; the NIR / snnTorch / Norse convention): ``alpha = 1 - dt / tau``
  (so ``gain = r dt / tau``); needs ``dt <= tau``.
- ``"exact"`` (zero-order hold of the input over the step): ``alpha = exp(-dt / tau)``.

A non-leaky integrator (IF, ``dv/dt = r I``) has ``alpha = 1`` and ``gain = r dt``.

snnTorch ``Leaky(beta)`` is the Euler LIF with ``dt = 1``, ``tau = 1 / (1 - beta)``, ``r = tau``
(``gain = 1``) and ``v_leak = 0``; see :func:`tau_from_decay`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

Num = float | Tensor


def _euler(tau: Num, dt: float) -> tuple[Num, Num]:
    step = dt / tau
    return 1.0 - step, step


def _exact(tau: Num, dt: float) -> tuple[Num, Num]:
    if isinstance(tau, Tensor):
        return torch.exp(-dt / tau), -torch.expm1(-dt / tau)
    return math.exp(-dt / tau), -math.expm1(-dt / tau)


#: method name -> ``(alpha, 1 - alpha)`` from ``(tau, dt)`` (``1 - alpha`` computed without
#: cancellation). The only place discretisation methods are named.
METHODS: dict[str, Callable[[Num, float], tuple[Num, Num]]] = {"euler": _euler, "exact": _exact}


def check_method(method: str) -> Callable[[Num, float], tuple[Num, Num]]:
    if method not in METHODS:
        raise ValueError(
            f"unknown discretisation method {method!r}; choose one of {sorted(METHODS)}"
        )
    return METHODS[method]


def check_dt(dt: float) -> float:
    dt = float(dt)
    if not (dt > 0.0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive time step in seconds, got {dt}")
    return dt


def _min_tau(tau: Num) -> float:
    return float(tau.detach().min()) if isinstance(tau, Tensor) else float(tau)


def _decay_pair(tau: Num, dt: float, method: str, name: str) -> tuple[Num, Num]:
    fn = check_method(method)
    dt = check_dt(dt)
    tmin = _min_tau(tau)
    if not tmin > 0.0:
        raise ValueError(f"{name} must be positive (seconds), got min {tmin}")
    if method == "euler" and tmin < dt:
        raise ValueError(
            f"Euler discretisation needs dt <= {name}, got dt={dt} > {name}={tmin}; "
            "use method='exact' or a smaller dt"
        )
    return fn(tau, dt)


def decay(tau: Num, dt: float, method: str = "euler", *, name: str = "tau") -> Num:
    """Per-step decay ``alpha`` of a leak with time constant ``tau`` (seconds).

    Raises ``ValueError`` for a non-positive ``tau``, or, with ``"euler"``, for ``dt > tau``
    (the step would overshoot: use ``method="exact"`` or a smaller ``dt``).
    """
    return _decay_pair(tau, dt, method, name)[0]


def exact_decay(tau: Num, dt: float, *, name: str = "tau") -> Num:
    """``exp(-dt / tau)``: the decay of ``dx/dt = -x / tau`` over one step ``dt`` (seconds), exact
    for any ``dt``; ``tau = inf`` gives 1 (no decay). The engine's groups, channels, traces and
    plasticity use it. Raises ``ValueError`` for a non-positive ``tau`` or ``dt``."""
    return decay(tau, dt, "exact", name=name)


def tau_from_decay(alpha: float, dt: float = 1.0, method: str = "euler") -> float:
    """The ``tau`` that gives decay ``alpha`` (inverse of :func:`decay`), e.g. snnTorch's beta."""
    check_method(method)
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"decay must lie in [0, 1), got {alpha}")
    if method == "euler":
        return dt / (1.0 - alpha)
    if alpha == 0.0:
        raise ValueError("exact discretisation cannot represent alpha = 0 (tau = 0)")
    return -dt / math.log(alpha)


def leaky_coefficients(
    tau: Num, r: Num, v_leak: Num, dt: float, method: str = "euler", *, name: str = "tau"
) -> tuple[Num, Num, Num]:
    """``(alpha, gain, bias)`` of ``tau dv/dt = (v_leak - v) + r I``.

    The update is ``v <- alpha v + gain I + bias``.
    """
    alpha, one_minus = _decay_pair(tau, dt, method, name)
    return alpha, r * one_minus, one_minus * v_leak


def integrator_gain(r: Num, dt: float) -> Num:
    """Gain of the non-leaky integrator ``dv/dt = r I``: ``v <- v + (r dt) I``."""
    return r * check_dt(dt)


def synapse_coefficients(
    tau_syn: Num, dt: float, method: str = "euler", w_in: Num = 1.0
) -> tuple[Num, Num]:
    """``(alpha_syn, gain_syn)`` of the current ``tau_syn dI/dt = -I + w_in x``."""
    alpha, gain, _ = leaky_coefficients(tau_syn, w_in, 0.0, dt, method, name="tau_syn")
    return alpha, gain


__all__ = [
    "METHODS",
    "check_dt",
    "check_method",
    "decay",
    "exact_decay",
    "integrator_gain",
    "leaky_coefficients",
    "synapse_coefficients",
    "tau_from_decay",
]
