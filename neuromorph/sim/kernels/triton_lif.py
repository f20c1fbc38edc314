"""Fused multi-step LIF in Triton: one launch for all ``T`` steps forward, one for the backward.

Dynamics (identical to :func:`neuromorph.sim.kernels.reference.lif_multistep_reference`):

    h[t] = alpha * v[t-1] + x[t];  s[t] = H(h[t] - theta);  v[t] = reset(h[t], s[t])

(and the delayed-reset variant, see :mod:`.triton_common`). ``x`` is ``[T, B, N]`` (gain and
leak bias already folded in), ``v0`` is ``[B, N]``, ``alpha`` and ``theta`` are ``[N]``.

What the forward stores for the backward: the spike trace ``s`` (an output) and the charge trace
``h`` in the input dtype. With a delayed reset ``h`` *is* the membrane output ``v``, so nothing
extra is written; with an immediate reset ``h`` replaces ``v`` (``v[t-1]`` is recomputed from
``h[t-1], s[t-1]``). ``h`` is written only when a gradient is needed. The backward walks time in
reverse carrying dL/dv in fp32 registers, writes dL/dx per step, and accumulates per-element
dL/dtheta and dL/dalpha over ``T`` in fp32; the sum over the batch is a ``torch.sum``.
Precision: state and gradients are fp32 inside the kernels; outputs (and ``h``) are stored in
the input dtype, so fp16/bf16 backward passes read the charge rounded to that dtype.

Registered as the torch custom ops ``neuromorph::triton_lif_fwd`` / ``triton_lif_bwd`` (with
fake implementations and autograd), so :func:`lif_multistep_triton` works under
``torch.compile``. On CPU tensors the kernels run only in interpreter mode
(``TRITON_INTERPRET=1``), which the tests use.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from neuromorph.sim.kernels.reference import check_kernel_inputs
from neuromorph.sim.kernels.triton_common import (
    check_launchable,
    kernel_options,
    launch_geometry,
    lif_backward_step,
    lif_forward_step,
    reset_value,
)


@triton.jit
def lif_fwd_kernel(x_ptr, v0_ptr, alpha_ptr, theta_ptr, s_ptr, v_ptr, h_ptr,
                   T, BN, N, v_reset,
                   HAS_ALPHA: tl.constexpr, RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr,
                   STORE_H: tl.constexpr, BLOCK: tl.constexpr):
    """Forward over all ``T`` steps for ``BLOCK`` neurons (alpha = 1 when not ``HAS_ALPHA``)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < BN
    n = offs % N
    theta = tl.load(theta_ptr + n, mask=mask, other=1.0).to(tl.float32)
    if HAS_ALPHA:  # noqa: SIM108 (constexpr branch: no load at all for IF)
        alpha = tl.load(alpha_ptr + n, mask=mask, other=0.0).to(tl.float32)
    else:
        alpha = 1.0
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    p = (v - theta > 0.0).to(tl.float32)  # pending reset (used only when RESET_DELAY)
    xp = x_ptr + offs
    sp = s_ptr + offs
    vp = v_ptr + offs
    hp = h_ptr + offs
    for _ in range(T):
        xin = tl.load(xp, mask=mask, other=0.0).to(tl.float32)
        h, s, v = lif_forward_step(v, p, xin, alpha, theta, v_reset, RESET_ZERO, RESET_DELAY)
        tl.store(sp, s.to(s_ptr.dtype.element_ty), mask=mask)
        tl.store(vp, v.to(v_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            tl.store(hp, h.to(h_ptr.dtype.element_ty), mask=mask)
        p = s
        xp += BN
        sp += BN
        vp += BN
        hp += BN


@triton.jit
def lif_bwd_kernel(gs_ptr, gv_ptr, h_ptr, s_ptr, v0_ptr, alpha_ptr, theta_ptr,
                   gx_ptr, gv0_ptr, galpha_ptr, gtheta_ptr,
                   T, BN, N, last, v_reset, k,
                   HAS_GS: tl.constexpr, HAS_GV: tl.constexpr, HAS_ALPHA: tl.constexpr,
                   SURR: tl.constexpr, RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr,
                   DETACH: tl.constexpr, BLOCK: tl.constexpr):
    """Backward over all ``T`` steps in reverse; ``last = (T-1)*B*N`` (host-computed, 64-bit)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < BN
    n = offs % N
    theta = tl.load(theta_ptr + n, mask=mask, other=1.0).to(tl.float32)
    if HAS_ALPHA:  # noqa: SIM108 (constexpr branch: no load at all for IF)
        alpha = tl.load(alpha_ptr + n, mask=mask, other=0.0).to(tl.float32)
    else:
        alpha = 1.0
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    p0 = (v0 - theta > 0.0).to(tl.float32)
    hp = h_ptr + last + offs
    sp = s_ptr + last + offs
    gsp = gs_ptr + last + offs
    gvp = gv_ptr + last + offs
    gxp = gx_ptr + last + offs
    h = tl.load(hp, mask=mask, other=0.0).to(tl.float32)
    s = tl.load(sp, mask=mask, other=0.0).to(tl.float32)
    G = tl.zeros([BLOCK], dtype=tl.float32)
    dtheta = tl.zeros([BLOCK], dtype=tl.float32)
    dalpha = tl.zeros([BLOCK], dtype=tl.float32)
    for r in range(T):
        t = T - 1 - r
        has_prev = tl.full([BLOCK], t, tl.int32) > 0
        more = mask & has_prev
        h_prev = tl.load(hp - BN, mask=more, other=0.0).to(tl.float32)
        s_prev = tl.load(sp - BN, mask=more, other=0.0).to(tl.float32)
        if RESET_DELAY:
            v_prev = tl.where(has_prev, h_prev, v0)
            p = tl.where(has_prev, s_prev, p0)
        else:
            v_prev = tl.where(has_prev, reset_value(h_prev, s_prev, theta, v_reset, RESET_ZERO), v0)
            p = s_prev  # unused
        gs = 0.0
        gv = 0.0
        if HAS_GS:
            gs = tl.load(gsp, mask=mask, other=0.0).to(tl.float32)
        if HAS_GV:
            gv = tl.load(gvp, mask=mask, other=0.0).to(tl.float32)
        gh, G, dth, dal = lif_backward_step(G, gs, gv, h, s, v_prev, p, alpha, theta, v_reset, k,
                                            SURR, RESET_ZERO, RESET_DELAY, DETACH)
        tl.store(gxp, gh.to(gx_ptr.dtype.element_ty), mask=mask)
        dtheta += dth
        dalpha += dal
        h = h_prev
        s = s_prev
        hp -= BN
        sp -= BN
        gsp -= BN
        gvp -= BN
        gxp -= BN
    tl.store(gv0_ptr + offs, G.to(gv0_ptr.dtype.element_ty), mask=mask)
    tl.store(gtheta_ptr + offs, dtheta, mask=mask)
    if HAS_ALPHA:
        tl.store(galpha_ptr + offs, dalpha, mask=mask)


# ----------------------------------------------------------------------------- launchers


def launch_lif_forward(
    x: Tensor, v0: Tensor, alpha: Tensor | None, theta: Tensor, v_reset: float,
    reset_zero: bool, reset_delay: bool, store_h: bool, block: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run :func:`lif_fwd_kernel`; returns ``(s, v, h)`` (``h`` empty unless stored).

    ``alpha=None`` means ``alpha = 1`` (IF). ``block`` overrides the block size (tests).
    """
    check_launchable(lif_fwd_kernel, x)
    x, v0, theta = x.contiguous(), v0.contiguous(), theta.contiguous()
    T, B, N = x.shape
    s, v = torch.empty_like(x), torch.empty_like(x)
    keep_h = store_h and not reset_delay
    h = torch.empty_like(x) if keep_h else x.new_empty(0)
    if T == 0 or B * N == 0:
        return s, v, h
    BLOCK, warps, grid = launch_geometry(B * N, block)
    a = theta if alpha is None else alpha.contiguous()
    lif_fwd_kernel[grid](
        x, v0, a, theta, s, v, h if keep_h else s, T, B * N, N, float(v_reset),
        HAS_ALPHA=alpha is not None, RESET_ZERO=reset_zero, RESET_DELAY=reset_delay,
        STORE_H=keep_h, BLOCK=BLOCK, num_warps=warps,
    )
    return s, v, h


def launch_lif_backward(
    gs: Tensor | None, gv: Tensor | None, h: Tensor, s: Tensor, v0: Tensor,
    alpha: Tensor | None, theta: Tensor, v_reset: float, surr: int, scale: float,
    reset_zero: bool, reset_delay: bool, detach: bool, block: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run :func:`lif_bwd_kernel`; returns ``(gx, gv0, galpha, gtheta)``.

    ``h`` is the stored charge trace (the membrane output ``v`` when ``reset_delay``);
    ``galpha`` is an empty tensor when ``alpha is None``.
    """
    check_launchable(lif_bwd_kernel, h)
    h, s, v0, theta = h.contiguous(), s.contiguous(), v0.contiguous(), theta.contiguous()
    T, B, N = h.shape
    gx, gv0 = torch.empty_like(h), torch.empty_like(v0)
    part_theta = torch.zeros(B, N, dtype=torch.float32, device=h.device)
    part_alpha = torch.zeros_like(part_theta) if alpha is not None else part_theta
    if T > 0 and B * N > 0:
        BLOCK, warps, grid = launch_geometry(B * N, block)
        gs_c = gs.contiguous() if gs is not None else h
        gv_c = gv.contiguous() if gv is not None else h
        a = theta if alpha is None else alpha.contiguous()
        lif_bwd_kernel[grid](
            gs_c, gv_c, h, s, v0, a, theta, gx, gv0, part_alpha, part_theta,
            T, B * N, N, (T - 1) * B * N, float(v_reset), float(scale),
            HAS_GS=gs is not None, HAS_GV=gv is not None, HAS_ALPHA=alpha is not None,
            SURR=surr, RESET_ZERO=reset_zero, RESET_DELAY=reset_delay, DETACH=detach,
            BLOCK=BLOCK, num_warps=warps,
        )
    else:
        gv0.zero_()
    galpha = part_alpha.sum(0).to(h.dtype) if alpha is not None else h.new_empty(0)
    return gx, gv0, galpha, part_theta.sum(0).to(h.dtype)


# ----------------------------------------------------------------------------- custom ops


@torch.library.custom_op("neuromorph::triton_lif_fwd", mutates_args=())
def _lif_fwd_op(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor, v_reset: float, surr: int,
    scale: float, reset_zero: bool, reset_delay: bool, detach: bool, store_h: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    return launch_lif_forward(x, v0, alpha, theta, v_reset, reset_zero, reset_delay, store_h)


@_lif_fwd_op.register_fake
def _(x, v0, alpha, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, store_h):
    h = torch.empty_like(x) if store_h and not reset_delay else x.new_empty(0)
    return torch.empty_like(x), torch.empty_like(x), h


@torch.library.custom_op("neuromorph::triton_lif_bwd", mutates_args=())
def _lif_bwd_op(
    gs: Tensor | None, gv: Tensor | None, h: Tensor, s: Tensor, v0: Tensor, alpha: Tensor,
    theta: Tensor, v_reset: float, surr: int, scale: float, reset_zero: bool,
    reset_delay: bool, detach: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return launch_lif_backward(gs, gv, h, s, v0, alpha, theta, v_reset, surr, scale,
                               reset_zero, reset_delay, detach)


@_lif_bwd_op.register_fake
def _(gs, gv, h, s, v0, alpha, theta, v_reset, surr, scale, reset_zero, reset_delay, detach):
    return torch.empty_like(h), torch.empty_like(v0), torch.empty_like(alpha), \
        torch.empty_like(theta)


def _lif_setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, v0, alpha, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, _ = inputs
    s, v, h = output
    ctx.save_for_backward(v if reset_delay else h, s, v0, alpha, theta)
    ctx.opts = (v_reset, surr, scale, reset_zero, reset_delay, detach)


def _lif_backward(ctx, gs, gv, gh):  # noqa: ANN001
    h, s, v0, alpha, theta = ctx.saved_tensors
    if h.numel() == 0 and s.numel() > 0:
        raise RuntimeError("triton_lif_fwd ran with store_h=False; call lif_multistep_triton")
    gx, gv0, galpha, gtheta = _lif_bwd_op(gs, gv, h, s, v0, alpha, theta, *ctx.opts)
    return gx, gv0, galpha, gtheta, None, None, None, None, None, None, None


_lif_fwd_op.register_autograd(_lif_backward, setup_context=_lif_setup_context)


def needs_grad(*tensors: Tensor) -> bool:
    """Whether autograd will want a backward through a kernel on ``tensors``."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def lif_multistep_triton(
    x: Tensor,
    v0: Tensor,
    alpha: Tensor,
    theta: Tensor,
    *,
    v_reset: float = 0.0,
    reset: str = "subtract",
    reset_delay: bool = False,
    detach_reset: bool = False,
    surrogate: str = "fast_sigmoid",
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Multi-step LIF on the fused Triton kernels; same contract as the torch reference.

    Returns ``(spikes, v)``, both ``[T, B, N]`` in the dtype of ``x``; differentiable w.r.t.
    ``x``, ``v0``, ``alpha`` and ``theta``.
    """
    check_kernel_inputs(x, {"v0": v0}, {"alpha": alpha, "theta": theta})
    o = kernel_options(surrogate, scale, reset)
    s, v, _ = _lif_fwd_op(x, v0, alpha, theta, float(v_reset), o.surr, o.scale, o.reset_zero,
                          bool(reset_delay), bool(detach_reset), needs_grad(x, v0, alpha, theta))
    return s, v


__all__ = ["launch_lif_backward", "launch_lif_forward", "lif_multistep_triton", "needs_grad"]
