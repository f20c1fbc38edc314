"""Spike encoders: turn analog values or signals into time-major spike trains ``[T, ...]``.

Three codes, each a pure function (randomness only through an explicit ``torch.Generator``):

- :func:`rate_encode` -- rate code. Input ``x`` in [0, 1] fires at ``x * max_rate`` Hz: per step of
  ``dt`` seconds either a Bernoulli spike with ``p = x * max_rate * dt`` (``method="bernoulli"``,
  binary, counts are Binomial(T, p)) or a Poisson count with mean ``x * max_rate * dt``
  (``method="poisson"``). Without ``max_rate``, ``p = x * gain`` per step.
- :func:`latency_encode` -- time-to-first-spike code, at most one spike per input, larger values
  fire earlier (no later). ``"linear"``: step ``t* = (1 - x) * (T - 1)``; ``"log"`` (the RC
  charging time of a capacitor driven by ``x`` up to ``threshold``):
  ``t* = tau * ln(x / (x - threshold))`` steps. Inputs ``x <= threshold`` never fire; a ``"log"``
  spike later than step ``T - 1`` is dropped.
- :func:`delta_encode` -- delta modulation of a signal ``[T, ...]``: an "on" spike when the signal
  has risen by ``threshold`` or more since the reference, an "off" spike when it has fallen by as
  much; each spike moves the reference by ``threshold``. :func:`delta_decode` integrates the spikes
  back; the error stays below ``threshold`` while the signal moves by less than
  ``threshold * max_spikes_per_step`` per step (``max_spikes_per_step=None``: always).

:data:`ENCODERS` maps a name to its function: the one place a string option is dispatched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

__all__ = [
    "ENCODERS",
    "LATENCY_METHODS",
    "RATE_METHODS",
    "delta_decode",
    "delta_encode",
    "encode",
    "latency_encode",
    "rate_encode",
]


def _check_unit_range(x: Tensor, name: str) -> None:
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}; use x.float()")
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN; clean the input before encoding")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{name} must lie in [0, 1] (got min {x.min().item():.4g}, max {x.max().item():.4g}); "
            "normalise it first, e.g. x / x.max()"
        )


def _check_steps(n_steps: int) -> None:
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be an int >= 1, got {n_steps!r}")


def _bernoulli(lam: Tensor, generator: torch.Generator | None) -> Tensor:
    u = torch.rand(lam.shape, generator=generator, dtype=lam.dtype, device=lam.device)
    return (u < lam).to(lam.dtype)


def _poisson(lam: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.poisson(lam.contiguous(), generator=generator)


#: rate-code method -> ``f(lam [T, ...], generator) -> spikes`` (``lam`` = mean spikes per step).
RATE_METHODS: dict[str, Callable[[Tensor, torch.Generator | None], Tensor]] = {
    "bernoulli": _bernoulli,
    "poisson": _poisson,
}


def _latency_linear(x: Tensor, fires: Tensor, n_steps: int, tau: float, thr: float) -> Tensor:
    return (1.0 - x) * (n_steps - 1)


def _latency_log(x: Tensor, fires: Tensor, n_steps: int, tau: float, thr: float) -> Tensor:
    if tau <= 0:
        raise ValueError(f"tau must be > 0 steps, got {tau}")
    if thr <= 0:
        raise ValueError("the log latency code needs threshold > 0 (e.g. 0.01)")
    safe = torch.where(fires, x, torch.ones_like(x))
    return tau * torch.log(safe / (safe - thr))


#: latency method -> ``f(x, fires, n_steps, tau, threshold) -> spike step (float)``.
LATENCY_METHODS: dict[str, Callable[[Tensor, Tensor, int, float, float], Tensor]] = {
    "linear": _latency_linear,
    "log": _latency_log,
}


def rate_encode(
    x: Tensor,
    n_steps: int,
    *,
    dt: float = 1e-3,
    max_rate: float | None = None,
    gain: float = 1.0,
    method: Literal["bernoulli", "poisson"] = "bernoulli",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rate code of intensities ``x`` in [0, 1]; returns ``[n_steps, *x.shape]`` in ``x.dtype``.

    Mean spikes per step ``lam = x * max_rate * dt`` (``max_rate`` in Hz, ``dt`` in s), or
    ``x * gain`` without ``max_rate``. ``"bernoulli"``: one spike with probability ``lam`` (needs
    ``lam <= 1``); ``"poisson"``: a Poisson count with mean ``lam``. Same generator state, same
    spikes.
    """
    _check_unit_range(x, "x")
    _check_steps(n_steps)
    if dt <= 0:
        raise ValueError(f"dt must be > 0 seconds, got {dt}")
    lam_max = max_rate * dt if max_rate is not None else gain
    if lam_max < 0:
        raise ValueError(f"max_rate / gain must be >= 0, got {lam_max}")
    if method not in RATE_METHODS:
        raise ValueError(f"unknown rate method {method!r}; choose one of {sorted(RATE_METHODS)}")
    if method == "bernoulli" and lam_max > 1.0:
        raise ValueError(
            f"spike probability per step max_rate*dt (or gain) = {lam_max:.4g} exceeds 1; "
            "lower max_rate or dt, or use method='poisson' for counts"
        )
    lam = (x * lam_max).expand(n_steps, *x.shape)
    return RATE_METHODS[method](lam, generator).to(x.dtype)


def latency_encode(
    x: Tensor,
    n_steps: int,
    *,
    method: Literal["linear", "log"] = "linear",
    tau: float = 5.0,
    threshold: float = 0.0,
) -> Tensor:
    """Time-to-first-spike code of ``x`` in [0, 1]: ``[n_steps, *x.shape]``, <= 1 spike each.

    ``"linear"``: spike at step ``round((1 - x) * (n_steps - 1))``. ``"log"``: spike at step
    ``round(tau * ln(x / (x - threshold)))`` (``tau`` in steps; needs ``threshold > 0``), dropped if
    past the window. Inputs with ``x <= threshold`` stay silent.
    """
    _check_unit_range(x, "x")
    _check_steps(n_steps)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold}")
    if method not in LATENCY_METHODS:
        raise ValueError(
            f"unknown latency method {method!r}; choose one of {sorted(LATENCY_METHODS)}"
        )
    fires = x > threshold
    t = torch.round(LATENCY_METHODS[method](x, fires, n_steps, tau, threshold))
    fires = fires & (t <= n_steps - 1)
    idx = t.clamp(0, n_steps - 1).long()
    out = torch.zeros((n_steps, *x.shape), dtype=x.dtype, device=x.device)
    out.scatter_(0, idx.unsqueeze(0), fires.to(x.dtype).unsqueeze(0))
    return out


def delta_encode(
    signal: Tensor,
    threshold: float,
    *,
    off_spikes: bool = True,
    max_spikes_per_step: int | None = 1,
) -> Tensor:
    """Delta-modulation code of a time-major ``signal [T, ...]``; returns ``[T, ..., 2]`` (on, off).

    The reference starts at ``r = signal[0]``. Per step ``n = floor(|signal[t] - r| / threshold)``
    spikes (capped at ``max_spikes_per_step``; ``None`` = no cap) go to the on (rise) or off (fall)
    channel and ``r`` moves by ``n * threshold`` towards the signal. ``off_spikes=False`` returns
    only the on channel ``[T, ..., 1]`` (the reference then never moves down).
    """
    if not torch.is_floating_point(signal):
        raise TypeError(f"signal must be floating point, got {signal.dtype}; use signal.float()")
    if signal.dim() < 1 or signal.shape[0] < 1:
        raise ValueError(
            f"signal must be time-major [T, ...] with T >= 1, got {tuple(signal.shape)}"
        )
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    if max_spikes_per_step is not None and max_spikes_per_step < 1:
        raise ValueError(f"max_spikes_per_step must be >= 1 or None, got {max_spikes_per_step}")
    if torch.isnan(signal).any():
        raise ValueError("signal contains NaN; clean it before encoding")
    cap = math.inf if max_spikes_per_step is None else float(max_spikes_per_step)
    ref = signal[0].clone()
    on = torch.zeros_like(signal)
    off = torch.zeros_like(signal)
    for t in range(1, signal.shape[0]):
        diff = signal[t] - ref
        n_up = torch.floor(diff.clamp(min=0) / threshold).clamp(max=cap)
        on[t] = n_up
        step = n_up
        if off_spikes:
            n_down = torch.floor((-diff).clamp(min=0) / threshold).clamp(max=cap)
            off[t] = n_down
            step = step - n_down
        ref = ref + threshold * step
    return torch.stack([on, off] if off_spikes else [on], dim=-1)


def delta_decode(spikes: Tensor, threshold: float, initial: Tensor | float = 0.0) -> Tensor:
    """Invert :func:`delta_encode`: ``r[t] = initial + threshold * sum_{s<=t} (on[s] - off[s])``."""
    if spikes.dim() < 2 or spikes.shape[-1] not in (1, 2):
        raise ValueError(
            f"spikes must be [T, ..., 2] (on, off) or [T, ..., 1] from delta_encode, "
            f"got {tuple(spikes.shape)}"
        )
    net = spikes[..., 0] - (spikes[..., 1] if spikes.shape[-1] == 2 else 0.0)
    return initial + threshold * torch.cumsum(net, dim=0)


ENCODERS: dict[str, Callable[..., Tensor]] = {
    "rate": rate_encode,
    "latency": latency_encode,
    "delta": delta_encode,
}


def encode(name: str, *args: Any, **kwargs: Any) -> Tensor:
    """Call the encoder ``name`` (``"rate"``, ``"latency"``, ``"delta"``) with these arguments."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name](*args, **kwargs)
