"""Fused CPU path for multi-step current-based LIF (snnTorch ``Synaptic``).

``i[t] = alpha_syn * i[t-1] + x[t]`` is a linear scan (one fused multiply-add per step, forward
and backward); the membrane is the fused LIF of :mod:`neuromorph.sim.kernels.cpu_lif` driven by
``i``. Saved for the backward: the traces when they are outputs anyway, else only the input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.sim.kernels.cpu_lif import (
    LIFConfig,
    kernel_threads,
    lif_backward,
    lif_forward,
    recompute_charge,
    scratch,
)
from neuromorph.sim.kernels.reference import check_kernel_inputs
from neuromorph.specs.options import SpikeOptions


def _current_scan(x: Tensor, i0: Tensor, alpha_syn: Tensor) -> Tensor:
    cur = torch.empty_like(x)
    i = i0
    for t in range(x.shape[0]):
        i = torch.addcmul(x[t], alpha_syn, i, out=cur[t])
    return cur


class _CubaFunction(torch.autograd.Function):
    """Saves the traces when they are outputs anyway (``trace=True``), else only the input ``x``
    and recomputes the current and charge in the backward."""

    @staticmethod
    def forward(ctx, x, i0, v0, alpha_syn, alpha_mem, theta, cfg, trace):  # type: ignore[override]
        with kernel_threads():
            return _CubaFunction._forward(ctx, x, i0, v0, alpha_syn, alpha_mem, theta, cfg, trace)

    @staticmethod
    def _forward(ctx, x, i0, v0, alpha_syn, alpha_mem, theta, cfg, trace):  # noqa: ANN001
        cur = _current_scan(x, i0, alpha_syn)
        keep = trace
        s, h, v = lif_forward(cur, v0, alpha_mem, theta, cfg, trace,
                              h_out=None if keep else scratch(cur))
        i_out = cur if trace else cur[-1].clone()
        if keep:
            ctx.save_for_backward(cur, h, i0, v0, alpha_syn, alpha_mem, theta)
        else:
            del cur
            ctx.save_for_backward(x, None, i0, v0, alpha_syn, alpha_mem, theta)
        ctx.keep, ctx.cfg = keep, cfg
        ctx.set_materialize_grads(False)
        return s, i_out, v

    @staticmethod
    def backward(ctx, gs, gi, gv):  # type: ignore[override]
        with kernel_threads():
            return _CubaFunction._backward(ctx, gs, gi, gv)

    @staticmethod
    def _backward(ctx, gs, gi, gv):  # noqa: ANN001
        first, h, i0, v0, alpha_syn, alpha_mem, theta = ctx.saved_tensors
        n_x, n_i0, n_v0, n_as, n_am, n_th = ctx.needs_input_grad[:6]
        if gs is None and gv is None and gi is None:
            return (None,) * 8
        cur = first if ctx.keep else _current_scan(first, i0, alpha_syn)
        lif_needs = (True, n_v0, n_am, n_th)
        if gs is None and gv is None:
            g, dv0, dam, dth = torch.zeros_like(cur), None, None, None
        else:
            if h is None:
                h = recompute_charge(cur, v0, alpha_mem, theta, ctx.cfg)
            g, dv0, dam, dth = lif_backward(gs, gv, h, v0, alpha_mem, theta, ctx.cfg, lif_needs,
                                            inplace=not ctx.keep)
        assert g is not None
        if gi is not None:
            if gi.dim() == 3:
                g = g.add_(gi)
            else:
                g[-1].add_(gi)
        for t in range(g.shape[0] - 1, 0, -1):  # dL/di[t-1] += alpha_syn * dL/di[t]
            g[t - 1].addcmul_(alpha_syn, g[t])
        di0 = alpha_syn * g[0] if n_i0 else None
        das = None
        if n_as:
            das = (g[0] * i0).sum(0) + (g[1:] * cur[:-1]).sum((0, 1))
        return (g if n_x else None), di0, dv0, das, dam, dth, None, None


def cuba_lif_multistep_cpu(
    x: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Fused multi-step CuBa-LIF (reference semantics). Returns ``(spikes, i, v)``;
    ``trace=False`` returns the final ``i`` and ``v`` (``[B, N]``) instead of the traces."""
    check_kernel_inputs(
        x, {"i0": i0, "v0": v0}, {"alpha_syn": alpha_syn, "alpha_mem": alpha_mem, "theta": theta}
    )
    return _CubaFunction.apply(x.contiguous(), i0, v0, alpha_syn, alpha_mem, theta,
                               LIFConfig.make(options), trace)


__all__ = ["cuba_lif_multistep_cpu"]
