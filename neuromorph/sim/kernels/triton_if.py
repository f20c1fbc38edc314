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
from neuromorph.sim.kernels.triton_common import kernel_options
from neuromorph.sim.kernels.triton_lif import launch_lif_backward, launch_lif_forward, needs_grad


@torch.library.custom_op("neuromorph::triton_if_fwd", mutates_args=())
def _if_fwd_op(
    x: Tensor, v0: Tensor, theta: Tensor, v_reset: float, surr: int, scale: float,
    reset_zero: bool, reset_delay: bool, detach: bool, store_h: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    return launch_lif_forward(x, v0, None, theta, v_reset, reset_zero, reset_delay, store_h)


@_if_fwd_op.register_fake
def _(x, v0, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, store_h):
    h = torch.empty_like(x) if store_h and not reset_delay else x.new_empty(0)
    return torch.empty_like(x), torch.empty_like(x), h


@torch.library.custom_op("neuromorph::triton_if_bwd", mutates_args=())
def _if_bwd_op(
    gs: Tensor | None, gv: Tensor | None, h: Tensor, s: Tensor, v0: Tensor, theta: Tensor,
    v_reset: float, surr: int, scale: float, reset_zero: bool, reset_delay: bool, detach: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    gx, gv0, _, gtheta = launch_lif_backward(gs, gv, h, s, v0, None, theta, v_reset, surr,
                                             scale, reset_zero, reset_delay, detach)
    return gx, gv0, gtheta


@_if_bwd_op.register_fake
def _(gs, gv, h, s, v0, theta, *opts):
    return torch.empty_like(h), torch.empty_like(v0), torch.empty_like(theta)


def _if_setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, v0, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, _ = inputs
    s, v, h = output
    ctx.save_for_backward(v if reset_delay else h, s, v0, theta)
    ctx.opts = (v_reset, surr, scale, reset_zero, reset_delay, detach)


def _if_backward(ctx, gs, gv, gh):  # noqa: ANN001
    h, s, v0, theta = ctx.saved_tensors
    if h.numel() == 0 and s.numel() > 0:
        raise RuntimeError("triton_if_fwd ran with store_h=False; call if_multistep_triton")
    gx, gv0, gtheta = _if_bwd_op(gs, gv, h, s, v0, theta, *ctx.opts)
    return gx, gv0, gtheta, None, None, None, None, None, None, None


_if_fwd_op.register_autograd(_if_backward, setup_context=_if_setup_context)


def if_multistep_triton(
    x: Tensor,
    v0: Tensor,
    theta: Tensor,
    *,
    v_reset: float = 0.0,
    reset: str = "subtract",
    reset_delay: bool = False,
    detach_reset: bool = False,
    surrogate: str = "fast_sigmoid",
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Multi-step IF on the fused Triton kernels; same contract as the torch reference.

    Returns ``(spikes, v)``, both ``[T, B, N]`` in the dtype of ``x``; differentiable w.r.t.
    ``x``, ``v0`` and ``theta``.
    """
    check_kernel_inputs(x, {"v0": v0}, {"theta": theta})
    o = kernel_options(surrogate, scale, reset)
    s, v, _ = _if_fwd_op(x, v0, theta, float(v_reset), o.surr, o.scale, o.reset_zero,
                         bool(reset_delay), bool(detach_reset), needs_grad(x, v0, theta))
    return s, v


__all__ = ["if_multistep_triton"]
