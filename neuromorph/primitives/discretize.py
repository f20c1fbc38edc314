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


def check_time_constant(tau: Num, dt: float, method: str = "euler", *, name: str = "tau") -> Num:
    """``tau`` if it is a valid time constant for step ``dt`` with ``method``; else one
    ``ValueError`` naming ``name``.

    Checks: ``method`` is known, ``dt > 0``, ``tau > 0`` and, with ``"euler"``, ``dt <= tau`` (a
    larger step overshoots: ``alpha < 0``). Reads ``tau``'s minimum on the host, so a CUDA tensor
    costs one device sync: call it once, when a neuron is built, never per step.
    """
    check_method(method)
    dt = check_dt(dt)
    tmin = _min_tau(tau)
    if not tmin > 0.0:
        raise ValueError(f"{name} must be positive (seconds), got min {tmin}")
    if method == "euler" and tmin < dt:
        raise ValueError(
            f"Euler discretisation needs dt <= {name}, got dt={dt} > {name}={tmin}; "
            "use method='exact' or a smaller dt"
        )
    return tau


def decay_pair(tau: Num, dt: float, method: str = "euler") -> tuple[Num, Num]:
    """``(alpha, 1 - alpha)`` of a leak ``tau`` (s) over step ``dt`` (s), **unchecked**.

    No validation and no host sync (safe inside a step loop or a CUDA graph); ``tau``, ``dt`` and
    ``method`` must have passed :func:`check_time_constant` once. ``1 - alpha`` is computed
    without cancellation.
    """
    return METHODS[method](tau, dt)


def _decay_pair(tau: Num, dt: float, method: str, name: str) -> tuple[Num, Num]:
    check_time_constant(tau, dt, method, name=name)
    return decay_pair(tau, dt, method)


def clamp_time_constant(tau: Tensor, dt: float, method: str = "euler") -> Tensor:
    """A *trainable* ``tau`` kept valid without a host sync: clamped to ``>= dt`` for
    ``"euler"`` (so ``0 <= alpha < 1``) and to the smallest positive float for ``"exact"``.

    The clamp is the identity while ``tau`` is valid (the gradient is unchanged there); an
    optimiser step that pushes ``tau`` below the bound stalls it at the bound (zero gradient)
    instead of raising, since checking would sync the device on every forward.
    """
    if method == "euler":
        return tau.clamp(min=dt)
    return tau.clamp(min=torch.finfo(tau.dtype).tiny)


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


def tau_from_decay(alpha: Num, dt: float = 1.0, method: str = "euler") -> Num:
    """The ``tau`` (s) that gives the per-step decay ``alpha`` (inverse of :func:`decay`), e.g.
    snnTorch's ``beta``: ``dt / (1 - alpha)`` (Euler) or ``-dt / ln(alpha)`` (exact).

    ``alpha`` is a float or a tensor (one per neuron) in ``[0, 1)`` (``(0, 1)`` for exact);
    anything else raises one ``ValueError``.
    """
    check_method(method)
    dt = check_dt(dt)
    if isinstance(alpha, Tensor):
        lo, hi = float(alpha.detach().min()), float(alpha.detach().max())
    else:
        lo = hi = float(alpha)
    if not (lo >= 0.0 and hi < 1.0):
        raise ValueError(f"a decay (beta) must lie in [0, 1), got {alpha}")
    if method == "euler":
        return dt / (1.0 - alpha)
    if lo == 0.0:
        raise ValueError("exact discretisation cannot represent a decay of 0 (tau = 0); "
                         "use method='euler'")
    if isinstance(alpha, Tensor):
        return -dt / torch.log(alpha)
    return -dt / math.log(alpha)


def leaky_coefficients(
    tau: Num, r: Num, v_leak: Num, dt: float, method: str = "euler", *, name: str = "tau"
) -> tuple[Num, Num, Num]:
    """``(alpha, gain, bias)`` of ``tau dv/dt = (v_leak - v) + r I``, after checking ``tau``,
    ``dt`` and ``method`` (:func:`check_time_constant`; one host sync for a CUDA ``tau``).

    The update is ``v <- alpha v + gain I + bias``. Hot paths that validated once call
    :func:`leaky_coefficients_unchecked`.
    """
    check_time_constant(tau, dt, method, name=name)
    return leaky_coefficients_unchecked(tau, r, v_leak, dt, method)


def leaky_coefficients_unchecked(
    tau: Num, r: Num, v_leak: Num, dt: float, method: str = "euler"
) -> tuple[Num, Num, Num]:
    """:func:`leaky_coefficients` without any check or host sync:
    ``alpha``, ``gain = r (1 - alpha)``, ``bias = (1 - alpha) v_leak``."""
    alpha, one_minus = decay_pair(tau, dt, method)
    return alpha, r * one_minus, one_minus * v_leak


def unit_gain_r(tau: Num, dt: float, method: str = "euler") -> Num:
    """The ``r`` (ohm) that gives the leaky integrator unit step gain, ``r (1 - alpha) = 1``:
    ``tau / dt`` for ``"euler"``, ``1 / (1 - exp(-dt / tau))`` for ``"exact"``.

    A unit input then moves the membrane by one volt per step, as snnTorch's ``Leaky``
    (``mem = beta mem + x``); the neuron modules use it when ``r`` is not given. Unchecked:
    ``tau`` must have passed :func:`check_time_constant`.
    """
    if method == "euler":
        return tau / dt
    return 1.0 / decay_pair(tau, dt, method)[1]


def integrator_unit_r(dt: float) -> float:
    """The ``r`` (ohm) that gives the non-leaky integrator ``dv/dt = r I`` unit step gain:
    ``1 / dt`` (``v <- v + I``)."""
    return 1.0 / check_dt(dt)


def integrator_gain(r: Num, dt: float) -> Num:
    """Gain of the non-leaky integrator ``dv/dt = r I``: ``v <- v + (r dt) I``."""
    return r * check_dt(dt)


def synapse_coefficients(
    tau_syn: Num, dt: float, method: str = "euler", w_in: Num = 1.0
) -> tuple[Num, Num]:
    """``(alpha_syn, gain_syn)`` of the current ``tau_syn dI/dt = -I + w_in x`` (checked)."""
    check_time_constant(tau_syn, dt, method, name="tau_syn")
    return synapse_coefficients_unchecked(tau_syn, dt, method, w_in)


def synapse_coefficients_unchecked(
    tau_syn: Num, dt: float, method: str = "euler", w_in: Num = 1.0
) -> tuple[Num, Num]:
    """:func:`synapse_coefficients` without any check or host sync."""
    alpha, gain, _ = leaky_coefficients_unchecked(tau_syn, w_in, 0.0, dt, method)
    return alpha, gain


__all__ = [
    "METHODS",
    "check_dt",
    "check_method",
    "check_time_constant",
    "clamp_time_constant",
    "decay",
    "decay_pair",
    "exact_decay",
    "integrator_gain",
    "integrator_unit_r",
    "leaky_coefficients",
    "leaky_coefficients_unchecked",
    "synapse_coefficients",
    "synapse_coefficients_unchecked",
    "tau_from_decay",
    "unit_gain_r",
]
