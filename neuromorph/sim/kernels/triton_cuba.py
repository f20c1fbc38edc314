"""Fused multi-step current-based LIF (CuBa-LIF, snnTorch ``Synaptic``) in Triton.

Dynamics (identical to :func:`neuromorph.sim.kernels.reference.cuba_lif_multistep_reference`):

    i[t] = alpha_syn * i[t-1] + x[t]                   (synaptic current, never reset)
    h[t] = alpha_mem * v[t-1] + i[t];  s[t] = H(h[t] - theta);  v[t] = reset(h[t], s[t])

(and the delayed-reset variant, see :mod:`.triton_common`). ``x`` is ``[T, B, N]``, ``i0`` and
``v0`` are ``[B, N]``, ``alpha_syn``, ``alpha_mem`` and ``theta`` are ``[N]``.

Stored for the backward: the spike trace ``s`` and current trace ``i`` (outputs) and the charge
``h`` (only with an immediate reset and only when a gradient is needed; with a delayed reset
``h`` is the membrane output ``v``). The backward walks time in reverse with dL/dv and dL/di
carried in fp32 registers: ``dL/di[t] = dL/di_out[t] + dL/dh[t] + alpha_syn dL/di[t+1]`` and
``dL/dx[t] = dL/di[t]``. Custom ops: ``neuromorph::triton_cuba_fwd`` / ``triton_cuba_bwd``.
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
from neuromorph.sim.kernels.triton_lif import EXACT, needs_grad
from neuromorph.specs.options import SpikeOptions


@triton.jit
def cuba_fwd_kernel(x_ptr, i0_ptr, v0_ptr, asyn_ptr, amem_ptr, theta_ptr,
                    s_ptr, i_ptr, v_ptr, h_ptr, T, BN, N, v_reset,
                    RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr,
                    STORE_H: tl.constexpr, BLOCK: tl.constexpr):
    """Forward over all ``T`` steps for ``BLOCK`` neurons."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < BN
    n = offs % N
    theta = tl.load(theta_ptr + n, mask=mask, other=1.0).to(tl.float32)
    a_syn = tl.load(asyn_ptr + n, mask=mask, other=0.0).to(tl.float32)
    a_mem = tl.load(amem_ptr + n, mask=mask, other=0.0).to(tl.float32)
    cur = tl.load(i0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    p = (v - theta > 0.0).to(tl.float32)
    xp = x_ptr + offs
    sp = s_ptr + offs
    ip = i_ptr + offs
    vp = v_ptr + offs
    hp = h_ptr + offs
    for _ in range(T):
        cur = a_syn * cur + tl.load(xp, mask=mask, other=0.0).to(tl.float32)
        h, s, v = lif_forward_step(v, p, cur, a_mem, theta, v_reset, RESET_ZERO, RESET_DELAY)
        tl.store(sp, s.to(s_ptr.dtype.element_ty), mask=mask)
        tl.store(ip, cur.to(i_ptr.dtype.element_ty), mask=mask)
        tl.store(vp, v.to(v_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            tl.store(hp, h.to(h_ptr.dtype.element_ty), mask=mask)
        p = s
        xp += BN
        sp += BN
        ip += BN
        vp += BN
        hp += BN


@triton.jit
def cuba_bwd_kernel(gs_ptr, gi_ptr, gv_ptr, h_ptr, s_ptr, i_ptr, i0_ptr, v0_ptr,
                    asyn_ptr, amem_ptr, theta_ptr,
                    gx_ptr, gi0_ptr, gv0_ptr, gasyn_ptr, gamem_ptr, gtheta_ptr,
                    T, BN, N, last, v_reset, k,
                    HAS_GS: tl.constexpr, HAS_GI: tl.constexpr, HAS_GV: tl.constexpr,
                    SURR: tl.constexpr, RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr,
                    DETACH: tl.constexpr, BLOCK: tl.constexpr):
    """Backward over all ``T`` steps in reverse; ``last = (T-1)*B*N`` (host-computed, 64-bit)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < BN
    n = offs % N
    theta = tl.load(theta_ptr + n, mask=mask, other=1.0).to(tl.float32)
    a_syn = tl.load(asyn_ptr + n, mask=mask, other=0.0).to(tl.float32)
    a_mem = tl.load(amem_ptr + n, mask=mask, other=0.0).to(tl.float32)
    i0 = tl.load(i0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    p0 = (v0 - theta > 0.0).to(tl.float32)
    hp = h_ptr + last + offs
    sp = s_ptr + last + offs
    ip = i_ptr + last + offs
    gsp = gs_ptr + last + offs
    gip = gi_ptr + last + offs
    gvp = gv_ptr + last + offs
    gxp = gx_ptr + last + offs
    h = tl.load(hp, mask=mask, other=0.0).to(tl.float32)
    s = tl.load(sp, mask=mask, other=0.0).to(tl.float32)
    G = tl.zeros([BLOCK], dtype=tl.float32)  # dL/dv[t] from the future
    Gi = tl.zeros([BLOCK], dtype=tl.float32)  # dL/di[t] from the future
    dtheta = tl.zeros([BLOCK], dtype=tl.float32)
    dmem = tl.zeros([BLOCK], dtype=tl.float32)
    dsyn = tl.zeros([BLOCK], dtype=tl.float32)
    for r in range(T):
        t = T - 1 - r
        has_prev = tl.full([BLOCK], t, tl.int32) > 0
        more = mask & has_prev
        h_prev = tl.load(hp - BN, mask=more, other=0.0).to(tl.float32)
        s_prev = tl.load(sp - BN, mask=more, other=0.0).to(tl.float32)
        i_prev = tl.where(has_prev, tl.load(ip - BN, mask=more, other=0.0).to(tl.float32), i0)
        if RESET_DELAY:
            v_prev = tl.where(has_prev, h_prev, v0)
            p = tl.where(has_prev, s_prev, p0)
        else:
            v_prev = tl.where(has_prev, reset_value(h_prev, s_prev, theta, v_reset, RESET_ZERO), v0)
            p = s_prev  # unused
        gs = 0.0
        gv = 0.0
        gi = 0.0
        if HAS_GS:
            gs = tl.load(gsp, mask=mask, other=0.0).to(tl.float32)
        if HAS_GV:
            gv = tl.load(gvp, mask=mask, other=0.0).to(tl.float32)
        if HAS_GI:
            gi = tl.load(gip, mask=mask, other=0.0).to(tl.float32)
        gh, G, dth, dal = lif_backward_step(G, gs, gv, h, s, v_prev, p, a_mem, theta, v_reset, k,
                                            SURR, RESET_ZERO, RESET_DELAY, DETACH)
        gcur = gi + gh + Gi
        tl.store(gxp, gcur.to(gx_ptr.dtype.element_ty), mask=mask)
        dsyn += gcur * i_prev
        Gi = a_syn * gcur
        dtheta += dth
        dmem += dal
        h = h_prev
        s = s_prev
        hp -= BN
        sp -= BN
        ip -= BN
        gsp -= BN
        gip -= BN
        gvp -= BN
        gxp -= BN
    tl.store(gi0_ptr + offs, Gi.to(gi0_ptr.dtype.element_ty), mask=mask)
    tl.store(gv0_ptr + offs, G.to(gv0_ptr.dtype.element_ty), mask=mask)
    tl.store(gasyn_ptr + offs, dsyn, mask=mask)
    tl.store(gamem_ptr + offs, dmem, mask=mask)
    tl.store(gtheta_ptr + offs, dtheta, mask=mask)


# ----------------------------------------------------------------------------- launchers


def launch_cuba_forward(
    x: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    v_reset: float, reset_zero: bool, reset_delay: bool, store_h: bool, block: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run :func:`cuba_fwd_kernel`; returns ``(s, i, v, h)`` (``h`` empty unless stored)."""
    check_launchable(cuba_fwd_kernel, x)
    x, i0, v0 = x.contiguous(), i0.contiguous(), v0.contiguous()
    alpha_syn, alpha_mem, theta = alpha_syn.contiguous(), alpha_mem.contiguous(), theta.contiguous()
    T, B, N = x.shape
    s, cur, v = torch.empty_like(x), torch.empty_like(x), torch.empty_like(x)
    keep_h = store_h and not reset_delay
    h = torch.empty_like(x) if keep_h else x.new_empty(0)
    if T == 0 or B * N == 0:
        return s, cur, v, h
    BLOCK, warps, grid = launch_geometry(B * N, block)
    cuba_fwd_kernel[grid](
        x, i0, v0, alpha_syn, alpha_mem, theta, s, cur, v, h if keep_h else s,
        T, B * N, N, float(v_reset),
        RESET_ZERO=reset_zero, RESET_DELAY=reset_delay, STORE_H=keep_h, BLOCK=BLOCK,
        num_warps=warps, **EXACT,
    )
    return s, cur, v, h


def launch_cuba_backward(
    gs: Tensor | None, gi: Tensor | None, gv: Tensor | None, h: Tensor, s: Tensor, cur: Tensor,
    i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    v_reset: float, surr: int, scale: float, reset_zero: bool, reset_delay: bool, detach: bool,
    block: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Run :func:`cuba_bwd_kernel`; returns ``(gx, gi0, gv0, galpha_syn, galpha_mem, gtheta)``.

    ``h`` is the stored charge trace (the membrane output ``v`` when ``reset_delay``).
    """
    check_launchable(cuba_bwd_kernel, h)
    h, s, cur, i0, v0 = h.contiguous(), s.contiguous(), cur.contiguous(), i0.contiguous(), \
        v0.contiguous()
    alpha_syn, alpha_mem, theta = alpha_syn.contiguous(), alpha_mem.contiguous(), theta.contiguous()
    T, B, N = h.shape
    gx, gi0, gv0 = torch.empty_like(h), torch.empty_like(i0), torch.empty_like(v0)
    parts = torch.zeros(3, B, N, dtype=torch.float32, device=h.device)
    if T > 0 and B * N > 0:
        BLOCK, warps, grid = launch_geometry(B * N, block)
        cuba_bwd_kernel[grid](
            gs.contiguous() if gs is not None else h,
            gi.contiguous() if gi is not None else h,
            gv.contiguous() if gv is not None else h,
            h, s, cur, i0, v0, alpha_syn, alpha_mem, theta,
            gx, gi0, gv0, parts[0], parts[1], parts[2],
            T, B * N, N, (T - 1) * B * N, float(v_reset), float(scale),
            HAS_GS=gs is not None, HAS_GI=gi is not None, HAS_GV=gv is not None,
            SURR=surr, RESET_ZERO=reset_zero, RESET_DELAY=reset_delay, DETACH=detach,
            BLOCK=BLOCK, num_warps=warps, **EXACT,
        )
    else:
        gi0.zero_()
        gv0.zero_()
    ga_syn, ga_mem, gtheta = (parts[j].sum(0).to(h.dtype) for j in range(3))
    return gx, gi0, gv0, ga_syn, ga_mem, gtheta


# ----------------------------------------------------------------------------- custom ops


@torch.library.custom_op("neuromorph::triton_cuba_fwd", mutates_args=())
def _cuba_fwd_op(
    x: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    v_reset: float, surr: int, scale: float, reset_zero: bool, reset_delay: bool, detach: bool,
    store_h: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return launch_cuba_forward(x, i0, v0, alpha_syn, alpha_mem, theta, v_reset, reset_zero,
                               reset_delay, store_h)


@_cuba_fwd_op.register_fake
def _(x, i0, v0, alpha_syn, alpha_mem, theta, v_reset, surr, scale, reset_zero, reset_delay,
      detach, store_h):
    h = torch.empty_like(x) if store_h and not reset_delay else x.new_empty(0)
    return torch.empty_like(x), torch.empty_like(x), torch.empty_like(x), h


@torch.library.custom_op("neuromorph::triton_cuba_bwd", mutates_args=())
def _cuba_bwd_op(
    gs: Tensor | None, gi: Tensor | None, gv: Tensor | None, h: Tensor, s: Tensor,
    cur: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    v_reset: float, surr: int, scale: float, reset_zero: bool, reset_delay: bool, detach: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    return launch_cuba_backward(gs, gi, gv, h, s, cur, i0, v0, alpha_syn, alpha_mem, theta,
                                v_reset, surr, scale, reset_zero, reset_delay, detach)


@_cuba_bwd_op.register_fake
def _(gs, gi, gv, h, s, cur, i0, v0, alpha_syn, alpha_mem, theta, *opts):
    return (torch.empty_like(h), torch.empty_like(i0), torch.empty_like(v0),
            torch.empty_like(alpha_syn), torch.empty_like(alpha_mem), torch.empty_like(theta))


def _cuba_setup_context(ctx, inputs, output) -> None:  # noqa: ANN001
    x, i0, v0, a_syn, a_mem, theta, v_reset, surr, scale, reset_zero, reset_delay, detach, _ = \
        inputs
    s, cur, v, h = output
    ctx.save_for_backward(v if reset_delay else h, s, cur, i0, v0, a_syn, a_mem, theta)
    ctx.opts = (v_reset, surr, scale, reset_zero, reset_delay, detach)


def _cuba_backward(ctx, gs, gi, gv, gh):  # noqa: ANN001
    h, s, cur, i0, v0, a_syn, a_mem, theta = ctx.saved_tensors
    if h.numel() == 0 and s.numel() > 0:
        raise RuntimeError("triton_cuba_fwd ran with store_h=False; call cuba_lif_multistep_triton")
    grads = _cuba_bwd_op(gs, gi, gv, h, s, cur, i0, v0, a_syn, a_mem, theta, *ctx.opts)
    return (*grads, None, None, None, None, None, None, None)


_cuba_fwd_op.register_autograd(_cuba_backward, setup_context=_cuba_setup_context)


def cuba_lif_multistep_triton(
    x: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Multi-step CuBa-LIF on the fused Triton kernels; same contract as the torch reference.

    Returns ``(spikes, i, v)``, each ``[T, B, N]`` in the dtype of ``x`` (with ``trace=False``
    the final ``i`` and ``v`` ``[B, N]``); differentiable w.r.t. ``x``, ``i0``, ``v0``,
    ``alpha_syn``, ``alpha_mem`` and ``theta``.
    """
    check_kernel_inputs(
        x, {"i0": i0, "v0": v0}, {"alpha_syn": alpha_syn, "alpha_mem": alpha_mem, "theta": theta}
    )
    k = kernel_constants(options)
    grad = needs_grad(x, i0, v0, alpha_syn, alpha_mem, theta)
    s, cur, v, _ = _cuba_fwd_op(x, i0, v0, alpha_syn, alpha_mem, theta, *k.op_args(), grad)
    return (s, cur, v) if trace else (s, cur[-1], v[-1])


__all__ = ["cuba_lif_multistep_triton", "launch_cuba_backward", "launch_cuba_forward"]
