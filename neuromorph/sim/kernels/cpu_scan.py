"""Fused linear scan ``v[t] = alpha * v[t-1] + x[t]`` (leaky integrator, LI readout, currents).

One autograd node for the whole sequence; forward and backward are one fused multiply-add per
step (backward: ``g[t] = gv[t] + alpha * g[t+1]``). Works on any device (pure torch).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.sim.kernels.cpu_lif import kernel_threads


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, v0: Tensor, alpha: Tensor) -> Tensor:  # type: ignore[override]
        v = torch.empty_like(x)
        prev = v0
        with kernel_threads():
            for t in range(x.shape[0]):
                prev = torch.addcmul(x[t], alpha, prev, out=v[t])
        ctx.save_for_backward(v, v0, alpha)
        return v

    @staticmethod
    def backward(ctx, gv: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        v, v0, alpha = ctx.saved_tensors
        g = gv.clone(memory_format=torch.contiguous_format)
        a = alpha.expand_as(v[0])
        with kernel_threads():
            for t in range(g.shape[0] - 1, 0, -1):
                g[t - 1].addcmul_(a, g[t])
        dv0 = _sum_to(alpha * g[0], v0.shape) if ctx.needs_input_grad[1] else None
        dalpha = None
        if ctx.needs_input_grad[2]:
            full = g[0] * v0 + (g[1:] * v[:-1]).sum(0)
            dalpha = _sum_to(full, alpha.shape)
        return g, dv0, dalpha


def _sum_to(t: Tensor, shape: torch.Size) -> Tensor:
    """Sum a broadcast gradient back to ``shape`` (leading dims first, then size-1 dims)."""
    while t.dim() > len(shape):
        t = t.sum(0)
    dims = [i for i, n in enumerate(shape) if n == 1 and t.shape[i] != 1]
    return t.sum(dims, keepdim=True) if dims else t


def linear_scan(x: Tensor, v0: Tensor, alpha: Tensor) -> Tensor:
    """``v[t] = alpha * v[t-1] + x[t]`` for ``x`` ``[T, ...]``; ``v0`` and ``alpha`` broadcast to
    ``x[0]``. Returns the trace ``v`` ``[T, ...]`` (differentiable in ``x``, ``v0``, ``alpha``)."""
    if x.dim() < 1:
        raise ValueError(f"x must have a leading time dimension, got shape {tuple(x.shape)}")
    v0 = v0.expand_as(x[0])
    return _LinearScan.apply(x.contiguous(), v0, alpha)


__all__ = ["linear_scan"]
