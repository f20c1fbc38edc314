"""Spike traces and time-batched outer products: the loop-free core of the spike rules.

A trace of spike train ``s [T, B, n]`` (one entry per step of ``dt``; decay ``d = exp(-dt/tau)``
per step)::

    all-to-all:  x[t] = d x[t-1] + a s[t]           (every spike adds ``a``)
    nearest:     x[t] = a if s[t] > 0 else d x[t-1]  (a spike resets the trace to ``a``)

with ``x[-1] = initial``. Both are computed without a Python time loop: all-to-all as
``x[t] = d^t sum_{u <= t} d^-u a s[u]`` (a cumulative sum in float64, in chunks of at most
~40 time constants so ``d^-u`` never overflows; all terms of a spike train are >= 0, so the
sum is accurate to a few ulps of ``x[t]``); nearest as ``a d^(t - last[t])`` with ``last[t]``
the step of the latest spike (a cumulative max). :func:`before` gives the trace at a step just
before that step's own spikes (``d x[t-1]``), the value a rule reads at ``t - epsilon``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _steps(T: int, like: Tensor) -> Tensor:
    shape = (T,) + (1,) * (like.dim() - 1)
    return torch.arange(T, dtype=torch.float64, device=like.device).view(shape)


def spike_trace(spikes: Tensor, decay: float, amount: float = 1.0, nearest: bool = False,
                initial: Tensor | float = 0.0) -> Tensor:
    """Trace ``x [T, ...]`` (float64) of ``spikes [T, ...]`` after each step's own spikes."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay per step must lie in [0, 1], got {decay}")
    s = spikes.to(torch.float64)
    T = s.shape[0]
    x0 = torch.as_tensor(initial, dtype=torch.float64, device=s.device).expand(s.shape[1:])
    if T == 0:
        return s.clone()
    if decay == 0.0:  # no memory: the trace is just this step's spikes
        return torch.where(s > 0, amount, 0.0) if nearest else amount * s
    lam = -math.log(decay)  # >= 0
    k = _steps(T, s)
    if nearest:
        last = torch.where(s > 0, k, -1.0).cummax(dim=0).values
        fired = amount * torch.exp(-lam * (k - last))
        return torch.where(last >= 0, fired, x0 * torch.exp(-lam * (k + 1)))
    chunk = T if lam == 0 else max(1, int(40.0 / lam))
    out, carry = [], x0
    for c0 in range(0, T, chunk):
        part = s[c0 : c0 + chunk]
        kk = k[: part.shape[0]]
        acc = torch.cumsum(part * torch.exp(lam * kk), dim=0)
        x = amount * acc * torch.exp(-lam * kk) + carry * torch.exp(-lam * (kk + 1))
        out.append(x)
        carry = x[-1]
    return torch.cat(out)


def before(trace: Tensor, decay: float, initial: Tensor | float = 0.0) -> Tensor:
    """``d x[t-1]``: the trace at step ``t`` before that step's spikes are added."""
    x0 = torch.as_tensor(initial, dtype=trace.dtype, device=trace.device)
    x0 = x0.expand(trace.shape[1:]).unsqueeze(0)
    return decay * torch.cat([x0, trace[:-1]], dim=0)


def reverse_filter(m: Tensor, decay: float) -> Tensor:
    """``M[s] = sum_{t >= s} d^(t - s) m[t]`` along axis 0 (an anti-causal trace of ``m``).

    ``m`` may be signed: the error of the chunked sum stays a few ulps of the recent terms.
    """
    return torch.flip(spike_trace(torch.flip(m, dims=[0]), decay), dims=[0])


def outer_sum(post: Tensor, pre: Tensor) -> Tensor:
    """``sum_{t, b} post[t, b, j] pre[t, b, i]`` as ``[n_post, n_pre]`` (one matmul)."""
    return post.reshape(-1, post.shape[-1]).T @ pre.reshape(-1, pre.shape[-1])


__all__ = ["before", "outer_sum", "reverse_filter", "spike_trace"]
