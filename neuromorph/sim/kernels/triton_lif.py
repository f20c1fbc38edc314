"""Fused multi-step LIF in Triton: one launch for all ``T`` steps forward, one for the backward.

Dynamics (identical to :func:`neuromorph.sim.kernels.reference.lif_multistep_reference`):

    h[t] = alpha * v[t-1] + x[t];  s[t] = H(h[t] - theta);  v[t] = reset(h[t], s[t])

(and the delayed-reset variant, see :mod:`.triton_common`). ``x`` is ``[T, B, N]`` (gain and
leak bias already folded in), ``v0`` is ``[B, N]``, ``alpha`` and ``theta`` are ``[N]``.

What the forward stores for the backward: the charge trace ``h`` in the input dtype, written
only when a gradient is needed (with a delayed reset ``h`` *is* the membrane ``v``; with an
immediate reset ``v[t-1]`` is recomputed from ``h[t-1]`` and ``s[t-1]``), and the spikes only
for fp16/bf16 (from an fp32 ``h`` they are recomputed exactly as ``h > theta``). The membrane
trace is written only when asked for (``trace=True``); the final membrane always. The backward
walks time in reverse carrying dL/dv in fp32 registers, reads the output gradients with any
strides (the stride-0 gradient of ``.sum()`` is never materialised), writes dL/dx per step, and
accumulates per-element dL/dtheta and dL/dalpha over ``T`` in fp32; the sum over the batch is a
``torch.sum``. Both loops load the next step's operands before computing the current one.
Precision: state and gradients are fp32 inside the kernels; outputs (and ``h``) are stored in
the input dtype, so fp16/bf16 backward passes read the charge rounded to that dtype. The kernels
are compiled without fused multiply-adds (:data:`EXACT`), so fp32 spikes are bit-identical to
the torch reference's.

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
    kernel_constants,
    launch_geometry,
    lif_backward_step,
    lif_forward_step,
    reset_value,
)
from neuromorph.specs.options import SpikeOptions


@triton.jit
def lif_fwd_kernel(x_ptr, v0_ptr, alpha_ptr, theta_ptr, s_ptr, v_ptr, h_ptr, vT_ptr,
                   T, BN, N, v_reset,
                   HAS_ALPHA: tl.constexpr, RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr,
                   STORE_V: tl.constexpr, STORE_H: tl.constexpr, BLOCK: tl.constexpr):
    """Forward over all ``T`` steps for ``BLOCK`` neurons (alpha = 1 when not ``HAS_ALPHA``).

    Writes the spikes, the membrane trace (``STORE_V``), the charge trace (``STORE_H``; ``h_ptr``
    may alias ``x_ptr``: step ``t`` is read before it is overwritten) and the final membrane.
    The input of step ``t+1`` is loaded before step ``t`` is computed (hides the load latency of
    the sequential loop).
    """
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
    zero = tl.zeros([BLOCK], dtype=tl.int32)  # scalar conditions as vectors (for masks)
    xin = tl.load(xp, mask=mask & (zero < T), other=0.0).to(tl.float32)
    for t in range(T):
        x_next = tl.load(xp + BN, mask=mask & (zero + t + 1 < T), other=0.0).to(tl.float32)
        h, s, v = lif_forward_step(v, p, xin, alpha, theta, v_reset, RESET_ZERO, RESET_DELAY)
        tl.store(sp, s.to(s_ptr.dtype.element_ty), mask=mask)
        if STORE_V:
            tl.store(vp, v.to(v_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            tl.store(hp, h.to(h_ptr.dtype.element_ty), mask=mask)
        p = s
        xin = x_next
        xp += BN
        sp += BN
        vp += BN
        hp += BN
    tl.store(vT_ptr + offs, v.to(vT_ptr.dtype.element_ty), mask=mask)


@triton.jit
def lif_bwd_kernel(gs_ptr, gs_st, gs_sb, gs_sn, gv_ptr, gv_st, gv_sb, gv_sn, gvT_ptr,
                   h_ptr, s_ptr, v0_ptr, alpha_ptr, theta_ptr,
                   gx_ptr, gv0_ptr, galpha_ptr, gtheta_ptr,
                   T, BN, N, last, gs_last, gv_last, v_reset, k,
                   HAS_GS: tl.constexpr, HAS_GV: tl.constexpr, HAS_GVT: tl.constexpr,
                   HAS_ALPHA: tl.constexpr, S_FROM_H: tl.constexpr, SURR: tl.constexpr,
                   RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr,
                   DETACH: tl.constexpr, BLOCK: tl.constexpr):
    """Backward over all ``T`` steps in reverse.

    ``last = (T-1)*B*N`` and ``gs_last``/``gv_last`` (``(T-1)`` times the time stride) are
    host-computed 64-bit offsets. The output gradients ``gs``/``gv`` may be strided (an expanded
    gradient of ``.sum()`` has stride 0 and is never materialised); ``gvT`` is the gradient of
    the final membrane. ``S_FROM_H`` recomputes the spikes as ``h > theta`` (exact when ``h`` is
    stored in fp32) instead of reading them. ``gx_ptr`` may alias ``h_ptr``: slot ``t`` is
    overwritten only after its last read. Loads run one step ahead of the arithmetic.
    """
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < BN
    n = offs % N
    b = offs // N
    theta = tl.load(theta_ptr + n, mask=mask, other=1.0).to(tl.float32)
    if HAS_ALPHA:  # noqa: SIM108 (constexpr branch: no load at all for IF)
        alpha = tl.load(alpha_ptr + n, mask=mask, other=0.0).to(tl.float32)
    else:
        alpha = 1.0
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    p0 = (v0 - theta > 0.0).to(tl.float32)
    hp = h_ptr + last + offs
    sp = s_ptr + last + offs
    gxp = gx_ptr + last + offs
    gsp = gs_ptr + gs_last + b * gs_sb + n * gs_sn
    gvp = gv_ptr + gv_last + b * gv_sb + n * gv_sn
    if HAS_GVT:  # noqa: SIM108
        G = tl.load(gvT_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        G = tl.zeros([BLOCK], dtype=tl.float32)
    # registers: the step being differentiated (h, s, gs, gv) and the one before it (h_prev,
    # s_prev); each iteration loads the step before that, and the next gs / gv.
    zero = tl.zeros([BLOCK], dtype=tl.int32)  # scalar conditions as vectors (for masks)
    h = tl.load(hp, mask=mask & (zero < T), other=0.0).to(tl.float32)
    h_prev = tl.load(hp - BN, mask=mask & (zero + 1 < T), other=0.0).to(tl.float32)
    if S_FROM_H:
        s = (h - theta > 0.0).to(tl.float32)
        s_prev = (h_prev - theta > 0.0).to(tl.float32)
    else:
        s = tl.load(sp, mask=mask & (zero < T), other=0.0).to(tl.float32)
        s_prev = tl.load(sp - BN, mask=mask & (zero + 1 < T), other=0.0).to(tl.float32)
    gs = 0.0
    gv = 0.0
    if HAS_GS:
        gs = tl.load(gsp, mask=mask & (zero < T), other=0.0).to(tl.float32)
    if HAS_GV:
        gv = tl.load(gvp, mask=mask & (zero < T), other=0.0).to(tl.float32)
    dtheta = tl.zeros([BLOCK], dtype=tl.float32)
    dalpha = tl.zeros([BLOCK], dtype=tl.float32)
    for r in range(T):
        t = T - 1 - r
        # prefetch: the charge two steps back, the output gradients one step back
        more2 = mask & (zero + t >= 2)
        more1 = mask & (zero + t >= 1)
        h_pp = tl.load(hp - 2 * BN, mask=more2, other=0.0).to(tl.float32)
        if not S_FROM_H:
            s_pp = tl.load(sp - 2 * BN, mask=more2, other=0.0).to(tl.float32)
        gs_next = 0.0
        gv_next = 0.0
        if HAS_GS:
            gs_next = tl.load(gsp - gs_st, mask=more1, other=0.0).to(tl.float32)
        if HAS_GV:
            gv_next = tl.load(gvp - gv_st, mask=more1, other=0.0).to(tl.float32)
        has_prev = zero + t > 0
        if RESET_DELAY:
            v_prev = tl.where(has_prev, h_prev, v0)
            p = tl.where(has_prev, s_prev, p0)
        else:
            v_prev = tl.where(has_prev, reset_value(h_prev, s_prev, theta, v_reset, RESET_ZERO), v0)
            p = s_prev  # unused
        gh, G, dth, dal = lif_backward_step(G, gs, gv, h, s, v_prev, p, alpha, theta, v_reset, k,
                                            SURR, RESET_ZERO, RESET_DELAY, DETACH)
        tl.store(gxp, gh.to(gx_ptr.dtype.element_ty), mask=mask)
        dtheta += dth
        dalpha += dal
        h = h_prev
        s = s_prev
        h_prev = h_pp
        if S_FROM_H:  # noqa: SIM108 (constexpr branch: s_pp exists only without S_FROM_H)
            s_prev = (h_pp - theta > 0.0).to(tl.float32)
        else:
            s_prev = s_pp
        gs = gs_next
        gv = gv_next
        hp -= BN
        sp -= BN
        gxp -= BN
        gsp -= gs_st
        gvp -= gv_st
    tl.store(gv0_ptr + offs, G.to(gv0_ptr.dtype.element_ty), mask=mask)
    tl.store(gtheta_ptr + offs, dtheta, mask=mask)
    if HAS_ALPHA:
        tl.store(galpha_ptr + offs, dalpha, mask=mask)


# ----------------------------------------------------------------------------- launchers

#: Launch options of every neuron kernel: no fused multiply-add contraction, so the kernels
#: round exactly like the torch reference's separate multiplies and adds (identical spikes).
EXACT = dict(enable_fp_fusion=False)


def _strides(g: Tensor | None, like: Tensor) -> tuple[Tensor, int, int, int, int]:
    """``(tensor, stride_t, stride_b, stride_n, (T-1)*stride_t)`` of an output gradient
    ``[T, B, N]`` (any strides, e.g. the stride-0 expansion of ``sum``'s gradient)."""
    if g is None:
        return like, 0, 0, 0, 0
    st, sb, sn = g.stride()
    return g, st, sb, sn, (g.shape[0] - 1) * st


def run_lif_forward(x: Tensor, v0: Tensor, alpha: Tensor | None, theta: Tensor, v_reset: float,
                    reset_zero: bool, reset_delay: bool, s: Tensor, vT: Tensor,
                    v: Tensor | None = None, h: Tensor | None = None,
                    block: int | None = None) -> None:
    """Launch :func:`lif_fwd_kernel` into the given buffers (``v`` / ``h``: traces to write,
    or None; ``h`` may be ``x`` itself). ``alpha=None`` means ``alpha = 1`` (IF)."""
    check_launchable(lif_fwd_kernel, x)
    T, B, N = x.shape
    if B * N == 0:
        return
    if T == 0:
        vT.copy_(v0)
        return
    BLOCK, warps, grid = launch_geometry(B * N, block)
    a = theta if alpha is None else alpha
    lif_fwd_kernel[grid](
        x, v0, a, theta, s, s if v is None else v, s if h is None else h, vT,
        T, B * N, N, float(v_reset),
        HAS_ALPHA=alpha is not None, RESET_ZERO=reset_zero, RESET_DELAY=reset_delay,
        STORE_V=v is not None, STORE_H=h is not None, BLOCK=BLOCK, num_warps=warps, **EXACT,
    )


def run_lif_backward(gs: Tensor | None, gv: Tensor | None, gvT: Tensor | None, h: Tensor,
                     s: Tensor | None, v0: Tensor, alpha: Tensor | None, theta: Tensor,
                     v_reset: float, surr: int, scale: float, reset_zero: bool,
                     reset_delay: bool, detach: bool, gx: Tensor,
                     block: int | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Launch :func:`lif_bwd_kernel`; ``gx`` (may be ``h`` itself) receives dL/dx.

    ``s=None`` recomputes the spikes from ``h`` (only exact for fp32 ``h``). Returns
    ``(gv0, gtheta, galpha)`` with the per-neuron sums over the batch (``galpha`` None for IF).
    """
    check_launchable(lif_bwd_kernel, h)
    T, B, N = h.shape
    gv0 = torch.empty_like(v0)
    part_theta = torch.zeros(B, N, dtype=torch.float32, device=h.device)
    part_alpha = torch.zeros_like(part_theta) if alpha is not None else part_theta
    if T > 0 and B * N > 0:
        BLOCK, warps, grid = launch_geometry(B * N, block)
        gs_t, gs_st, gs_sb, gs_sn, gs_last = _strides(gs, h)
        gv_t, gv_st, gv_sb, gv_sn, gv_last = _strides(gv, h)
        a = theta if alpha is None else alpha
        lif_bwd_kernel[grid](
            gs_t, gs_st, gs_sb, gs_sn, gv_t, gv_st, gv_sb, gv_sn, h if gvT is None else gvT,
            h, h if s is None else s, v0, a, theta, gx, gv0, part_alpha, part_theta,
            T, B * N, N, (T - 1) * B * N, gs_last, gv_last, float(v_reset), float(scale),
            HAS_GS=gs is not None, HAS_GV=gv is not None, HAS_GVT=gvT is not None,
            HAS_ALPHA=alpha is not None, S_FROM_H=s is None, SURR=surr, RESET_ZERO=reset_zero,
            RESET_DELAY=reset_delay, DETACH=detach, BLOCK=BLOCK, num_warps=warps, **EXACT,
        )
    elif gvT is not None:
        gv0.copy_(gvT)
    else:
        gv0.zero_()
    galpha = part_alpha.sum(0).to(h.dtype) if alpha is not None else None
    return gv0, part_theta.sum(0).to(h.dtype), galpha


def launch_lif_forward(
    x: Tensor, v0: Tensor, alpha: Tensor | None, theta: Tensor, v_reset: float,
    reset_zero: bool, reset_delay: bool, store_h: bool, block: int | None = None, *,
    store_v: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Functional forward: returns ``(s, v, h, v_final)`` in fresh tensors.

    ``v`` is the membrane trace (empty unless ``store_v``, or ``store_h`` with a delayed reset,
    where the charge *is* the membrane); ``h`` the charge trace (empty unless ``store_h`` and
    the reset is immediate). ``alpha=None`` means ``alpha = 1`` (IF); ``block`` overrides the
    block size (tests).
    """
    x, v0, theta = x.contiguous(), v0.contiguous(), theta.contiguous()
    alpha = None if alpha is None else alpha.contiguous()
    s, vT = torch.empty_like(x), torch.empty_like(v0, dtype=x.dtype)
    keep_v = store_v or (store_h and reset_delay)
    keep_h = store_h and not reset_delay
    v = torch.empty_like(x) if keep_v else x.new_empty(0)
    h = torch.empty_like(x) if keep_h else x.new_empty(0)
    run_lif_forward(x, v0, alpha, theta, v_reset, reset_zero, reset_delay, s, vT,
                    v if keep_v else None, h if keep_h else None, block)
    return s, v, h, vT


def launch_lif_backward(
    gs: Tensor | None, gv: Tensor | None, h: Tensor, s: Tensor | None, v0: Tensor,
    alpha: Tensor | None, theta: Tensor, v_reset: float, surr: int, scale: float,
    reset_zero: bool, reset_delay: bool, detach: bool, block: int | None = None, *,
    gv_final: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Functional backward: returns ``(gx, gv0, galpha, gtheta)``.

    ``h`` is the stored charge trace (the membrane trace ``v`` when ``reset_delay``); ``s=None``
    recomputes the spikes from it; ``gv_final`` is the gradient of the final membrane;
    ``galpha`` is an empty tensor when ``alpha is None``.
    """
    h, v0, theta = h.contiguous(), v0.contiguous(), theta.contiguous()
    alpha = None if alpha is None else alpha.contiguous()
    gx = torch.empty_like(h)
    gv0, gtheta, galpha = run_lif_backward(
        gs, gv, None if gv_final is None else gv_final.contiguous(), h,
        None if s is None else s.contiguous(), v0, alpha, theta, v_reset, surr, scale,
        reset_zero, reset_delay, detach, gx, block)
    return gx, gv0, h.new_empty(0) if galpha is None else galpha, gtheta


# ----------------------------------------------------------------------------- custom ops


@torch.library.custom_op("neuromorph::triton_lif_fwd", mutates_args=())
def _lif_fwd_op(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor, v_reset: float, surr: int,
    scale: float, reset_zero: bool, reset_delay: bool, detach: bool, store_h: bool,
    store_v: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return launch_lif_forward(x, v0, alpha, theta, v_reset, reset_zero, reset_delay, store_h,
                              store_v=store_v)


def _fake_forward(x: Tensor, v0: Tensor, store_h: bool, reset_delay: bool,
                  store_v: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Shapes of :func:`launch_lif_forward`'s outputs (fake implementations of the ops)."""
    keep_v = store_v or (store_h and reset_delay)
    h = torch.empty_like(x) if store_h and not reset_delay else x.new_empty(0)
    v = torch.empty_like(x) if keep_v else x.new_empty(0)
    return torch.empty_like(x), v, h, torch.empty_like(v0, dtype=x.dtype)


@_lif_fwd_op.register_fake
def _(x, v0, alpha, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, store_h,
      store_v=True):
    return _fake_forward(x, v0, store_h, reset_delay, store_v)


@torch.library.custom_op("neuromorph::triton_lif_bwd", mutates_args=())
def _lif_bwd_op(
    gs: Tensor | None, gv: Tensor | None, gvT: Tensor | None, h: Tensor, s: Tensor | None,
    v0: Tensor, alpha: Tensor, theta: Tensor, v_reset: float, surr: int, scale: float,
    reset_zero: bool, reset_delay: bool, detach: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return launch_lif_backward(gs, gv, h, s, v0, alpha, theta, v_reset, surr, scale,
                               reset_zero, reset_delay, detach, gv_final=gvT)


@_lif_bwd_op.register_fake
def _(gs, gv, gvT, h, s, v0, alpha, theta, v_reset, surr, scale, reset_zero, reset_delay,
      detach):
    return torch.empty_like(h), torch.empty_like(v0), torch.empty_like(alpha), \
        torch.empty_like(theta)


def saved_spikes(s: Tensor, h: Tensor) -> Tensor | None:
    """The spikes to save for the backward: none when they can be recomputed exactly from an
    fp32 charge trace (saves a ``[T, B, N]`` tensor once the caller drops the output)."""
    return None if h.dtype == torch.float32 else s


def _lif_setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, v0, alpha, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, *_ = inputs
    s, v, h, _ = output
    trace = v if reset_delay else h
    ctx.save_for_backward(trace, saved_spikes(s, trace), v0, alpha, theta)
    ctx.opts = (v_reset, surr, scale, reset_zero, reset_delay, detach)
    ctx.empty = s.numel() > 0 and trace.numel() == 0


def _lif_backward(ctx, gs, gv, gh, gvT):  # noqa: ANN001
    h, s, v0, alpha, theta = ctx.saved_tensors
    if ctx.empty:
        raise RuntimeError("triton_lif_fwd ran with store_h=False; call lif_multistep_triton")
    gv = gv if gv is not None and gv.numel() else None  # no membrane trace was returned
    gx, gv0, galpha, gtheta = _lif_bwd_op(gs, gv, gvT, h, s, v0, alpha, theta, *ctx.opts)
    return gx, gv0, galpha, gtheta, None, None, None, None, None, None, None, None


_lif_fwd_op.register_autograd(_lif_backward, setup_context=_lif_setup_context)


def needs_grad(*tensors: Tensor) -> bool:
    """Whether autograd will want a backward through a kernel on ``tensors``."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def lif_multistep_triton(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True,
) -> tuple[Tensor, Tensor]:
    """Multi-step LIF on the fused Triton kernels; same contract as the torch reference.

    Returns ``(spikes, v)`` in the dtype of ``x``: ``v`` is the membrane trace ``[T, B, N]``,
    or with ``trace=False`` the final membrane ``[B, N]`` (the trace is then not written unless
    the backward needs it); differentiable w.r.t. ``x``, ``v0``, ``alpha`` and ``theta``.
    """
    check_kernel_inputs(x, {"v0": v0}, {"alpha": alpha, "theta": theta})
    k = kernel_constants(options)
    s, v, _, vT = _lif_fwd_op(x, v0, alpha, theta, *k.op_args(),
                              needs_grad(x, v0, alpha, theta), bool(trace))
    return s, (v if trace else vT)


__all__ = [
    "EXACT",
    "launch_lif_backward",
    "launch_lif_forward",
    "lif_multistep_triton",
    "needs_grad",
    "run_lif_backward",
    "run_lif_forward",
    "saved_spikes",
]
