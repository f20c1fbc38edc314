"""Fused multi-step integrate-and-fire (IF) in Triton: the LIF kernels with ``alpha = 1``.

Dynamics (identical to :func:`neuromorph.sim.kernels.reference.if_multistep_reference`):

    h[t] = v[t-1] + x[t];  s[t] = H(h[t] - theta);  v[t] = reset(h[t], s[t])

The LIF kernels of :mod:`.triton_lif` run with ``HAS_ALPHA=False`` (no leak is loaded or
differentiated), so storage and the backward are as described there. Custom ops:
``neuromorph::triton_if_fwd`` / ``triton_if_bwd``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.sim.kernels.reference import check_kernel_inputs
from neuromorph.sim.kernels.triton_common import kernel_constants
from neuromorph.sim.kernels.triton_lif import (
    _fake_forward,
    launch_lif_backward,
    launch_lif_forward,
    needs_grad,
    saved_spikes,
)
from neuromorph.specs.options import SpikeOptions


@torch.library.custom_op("neuromorph::triton_if_fwd", mutates_args=())
def _if_fwd_op(
    x: Tensor, v0: Tensor, theta: Tensor, v_reset: float, surr: int, scale: float,
    reset_zero: bool, reset_delay: bool, detach: bool, store_h: bool, store_v: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return launch_lif_forward(x, v0, None, theta, v_reset, reset_zero, reset_delay, store_h,
                              store_v=store_v)


@_if_fwd_op.register_fake
def _(x, v0, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, store_h,
      store_v=True):
    return _fake_forward(x, v0, store_h, reset_delay, store_v)


@torch.library.custom_op("neuromorph::triton_if_bwd", mutates_args=())
def _if_bwd_op(
    gs: Tensor | None, gv: Tensor | None, gvT: Tensor | None, h: Tensor, s: Tensor | None,
    v0: Tensor, theta: Tensor, v_reset: float, surr: int, scale: float, reset_zero: bool,
    reset_delay: bool, detach: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    gx, gv0, _, gtheta = launch_lif_backward(gs, gv, h, s, v0, None, theta, v_reset, surr,
                                             scale, reset_zero, reset_delay, detach,
                                             gv_final=gvT)
    return gx, gv0, gtheta


@_if_bwd_op.register_fake
def _(gs, gv, gvT, h, s, v0, theta, *opts):
    return torch.empty_like(h), torch.empty_like(v0), torch.empty_like(theta)


def _if_setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, v0, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, *_ = inputs
    s, v, h, _ = output
    trace = v if reset_delay else h
    ctx.save_for_backward(trace, saved_spikes(s, trace), v0, theta)
    ctx.opts = (v_reset, surr, scale, reset_zero, reset_delay, detach)
    ctx.empty = s.numel() > 0 and trace.numel() == 0


def _if_backward(ctx, gs, gv, gh, gvT):  # noqa: ANN001
    h, s, v0, theta = ctx.saved_tensors
    if ctx.empty:
        raise RuntimeError("triton_if_fwd ran with store_h=False; call if_multistep_triton")
    gv = gv if gv is not None and gv.numel() else None  # no membrane trace was returned
    gx, gv0, gtheta = _if_bwd_op(gs, gv, gvT, h, s, v0, theta, *ctx.opts)
    return gx, gv0, gtheta, None, None, None, None, None, None, None, None


_if_fwd_op.register_autograd(_if_backward, setup_context=_if_setup_context)


def if_multistep_triton(
    x: Tensor, v0: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True,
) -> tuple[Tensor, Tensor]:
    """Multi-step IF on the fused Triton kernels; same contract as the torch reference.

    Returns ``(spikes, v)`` in the dtype of ``x`` (``v``: the trace, or the final membrane with
    ``trace=False``); differentiable w.r.t. ``x``, ``v0`` and ``theta``.
    """
    check_kernel_inputs(x, {"v0": v0}, {"theta": theta})
    k = kernel_constants(options)
    s, v, _, vT = _if_fwd_op(x, v0, theta, *k.op_args(), needs_grad(x, v0, theta), bool(trace))
    return s, (v if trace else vT)


__all__ = ["if_multistep_triton"]
