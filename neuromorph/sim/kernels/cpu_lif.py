"""Fused CPU path for multi-step LIF / IF: one autograd node for the whole sequence.

Same equations and signature as :mod:`neuromorph.sim.kernels.reference`, but

- the forward runs without autograd into preallocated buffers (3 in-place ops per step) and saves
  only its input (which exists anyway); the backward recomputes the charge trace ``h`` with one
  more scan (when ``h`` is not an output already);
- the backward turns the BPTT recursion into the *linear* recurrence
  ``g[t] = M[t] * g[t+1] + C[t]`` whose coefficients ``M``, ``C`` are computed for all steps at
  once from ``h`` (vectorised), so the reverse walk over time is one fused multiply-add per step.

Derivation (``G_v[t] = dL/dv[t]`` total, ``g[t] = dL/dh[t]``, ``sg[t] = surrogate'(h[t]-theta)``):

- same-step reset: ``g[t] = A[t] (gV[t] + alpha g[t+1]) + gS[t] sg[t]`` with
  ``A = dv/dh`` (subtract: ``1 - theta sg``; zero: ``(1 - s) + (v_reset - h) sg``; the ``sg`` term
  vanishes with ``detach_reset``), and ``dL/dtheta = sum(G_v (1 - s) - g)``;
- delayed reset (``v[t] = h[t]``): ``g[t-1] = K[t] g[t] + gV[t-1] + gS[t-1] sg[t-1]`` with
  ``K[t] = dh[t]/dv[t-1]`` (subtract: ``alpha - theta sg[t-1]``; zero:
  ``alpha (1 - s[t-1]) + alpha (v_reset - h[t-1]) sg[t-1]``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.primitives.spike import GradFn, GradInplaceFn, get_surrogate
from neuromorph.sim.kernels.reference import check_kernel_inputs, options_of
from neuromorph.specs.options import SpikeOptions

#: Intra-op threads for the element-wise neuron work (0: leave torch's setting). The per-step
#: tensors are small and the vectorised passes memory-bound, so one thread loses little on an idle
#: machine, while OpenMP barriers on a busy one cost 5-10x (measured: 2-core VM under load,
#: n = 1024: 13 ms on 1 thread against 36-180 ms on 2). Matmuls keep torch's thread count.
KERNEL_THREADS = int(os.environ.get("NEUROMORPH_CPU_KERNEL_THREADS", "1"))


@contextmanager
def kernel_threads() -> Iterator[None]:
    """Run the enclosed element-wise neuron work on :data:`KERNEL_THREADS` threads.

    ``torch.set_num_threads`` is process-wide: another Python thread running torch ops at the
    same moment sees the reduced count (set ``NEUROMORPH_CPU_KERNEL_THREADS=0`` to disable).
    """
    n = torch.get_num_threads()
    want = KERNEL_THREADS or n
    if want == n:
        yield
        return
    torch.set_num_threads(want)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@dataclass(frozen=True)
class LIFConfig:
    """The options of one kernel call and the surrogate's backward functions they select."""

    options: SpikeOptions
    grad_fn: GradFn
    grad_: GradInplaceFn

    @property
    def scale(self) -> float:
        return self.options.scale  # type: ignore[return-value]  (resolved by SpikeOptions)

    @classmethod
    def make(cls, options: SpikeOptions | dict | None) -> LIFConfig:
        o = options_of(options)
        sur = get_surrogate(o.surrogate)
        return cls(o, sur.grad, sur.grad_)


def lif_forward(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor, cfg: LIFConfig, trace: bool, *,
    h_out: Tensor | None = None, s_out: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """No-autograd forward. Returns ``(spikes, h, v)``; ``v`` is ``[T,B,N]`` or final ``[B,N]``.

    ``h_out`` / ``s_out`` are optional output buffers; ``h_out`` may be ``x`` itself (the charge
    then overwrites the input in place, which saves a ``[T,B,N]`` buffer).
    """
    T = x.shape[0]
    h = torch.empty_like(x) if h_out is None else h_out
    s = torch.empty_like(x) if s_out is None else s_out
    zero = cfg.options.reset == "zero"
    vr = cfg.options.v_reset
    if cfg.options.reset_delay:  # v[t] = h[t]; the reset of step t-1 enters h[t]
        p = (v0 > theta).to(x.dtype)
        w = torch.empty_like(v0) if zero else v0
        v = v0
        for t in range(T):
            ht = h[t]
            if zero:
                torch.addcmul(v, p, v, value=-1.0, out=w)
                if vr != 0.0:
                    w.add_(p, alpha=vr)
                torch.addcmul(x[t], alpha, w, out=ht)
            else:
                torch.addcmul(x[t], alpha, v, out=ht)
                ht.addcmul_(p, theta, value=-1.0)
            p = s[t]
            torch.gt(ht, theta, out=p)
            v = ht
        return s, h, (h if trace else h[-1].clone())
    vtr = torch.empty_like(x) if trace else None
    vbuf = None if trace else torch.empty_like(v0)
    v = v0
    for t in range(T):
        ht = h[t]
        torch.addcmul(x[t], alpha, v, out=ht)
        st = s[t]
        torch.gt(ht, theta, out=st)
        v = vtr[t] if vtr is not None else vbuf
        if zero:
            torch.addcmul(ht, st, ht, value=-1.0, out=v)
            if vr != 0.0:
                v.add_(st, alpha=vr)
        else:
            torch.addcmul(ht, st, theta, value=-1.0, out=v)
    return s, h, (vtr if vtr is not None else v)


def _split_gv(gv: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
    """``(trace grad [T,B,N], final-state grad [B,N])`` from the grad of the ``v`` output."""
    if gv is None:
        return None, None
    return (gv, None) if gv.dim() == 3 else (None, gv)


def lif_backward(
    gs: Tensor | None,
    gv: Tensor | None,
    h: Tensor,
    v0: Tensor,
    alpha: Tensor,
    theta: Tensor,
    cfg: LIFConfig,
    needs: tuple[bool, bool, bool, bool],
    inplace: bool = False,
) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """Gradients ``(dx, dv0, dalpha, dtheta)`` from output grads ``gs`` ``[T,B,N]`` and ``gv``
    (``[T,B,N]`` trace or ``[B,N]`` final state; either may be None).

    Temporaries: one ``[T,B,N]`` buffer (surrogate derivative, then the gradient itself) plus
    one for the recurrence coefficients when they vary. With ``inplace=True`` the caller gives
    ``h`` away: it becomes the first buffer unless ``dalpha`` needs it.
    """
    if cfg.options.reset_delay:
        return _backward_delayed(gs, gv, h, v0, alpha, theta, cfg, needs, inplace)
    _, nv0, nal, nth = needs
    zero = cfg.options.reset == "zero"
    vr = cfg.options.v_reset
    gv_tr, gv_fin = _split_gv(gv)
    below = h <= theta if (nal or nth) else None  # 1 - s, as bool
    vprev = None
    if nal:  # v[t-1] after its reset, for dalpha
        assert below is not None
        vprev = torch.where(below[:-1], h[:-1], vr if zero else h[:-1] - theta)
    # a = dv[t]/dh[t] (through the spike unless detached); None means a == 1
    a: Tensor | None
    if cfg.options.detach_reset:
        a = torch.le(h, theta, out=torch.empty_like(h)) if zero else None  # 1 - s
        c = _local_grad(_centered(h, theta, inplace), gs, cfg)
    elif zero:
        sg, a = _zero_reset_coefficients(h, theta, cfg, h.shape[0], inplace)
        c = _times(sg, gs)
    else:
        sg = cfg.grad_(_centered(h, theta, inplace), cfg.scale, None)
        a = sg.mul(theta).neg_().add_(1.0)
        c = _times(sg, gs)
    if gv_tr is not None:
        c.add_(gv_tr) if a is None else c.addcmul_(gv_tr, a)
    if gv_fin is not None:
        c[-1].add_(gv_fin) if a is None else c[-1].addcmul_(gv_fin, a[-1])
    m = alpha.expand_as(h) if a is None else a.mul_(alpha)  # m[t] multiplies g[t+1] in g[t]
    for t in range(h.shape[0] - 2, -1, -1):
        c[t].addcmul_(m[t], c[t + 1])
    g = c
    dv0 = alpha * g[0] if nv0 else None
    dalpha = dtheta = None
    if vprev is not None:
        dalpha = (g[0] * v0).sum(0) + (g[1:] * vprev).sum((0, 1))
    if nth:  # dtheta = sum(G_v (1 - s) - g), G_v[t] = gV[t] + alpha g[t+1]
        gvt = torch.zeros_like(h) if gv_tr is None else gv_tr.clone()
        gvt[:-1].addcmul_(g[1:], alpha.expand_as(g[1:]))
        if gv_fin is not None:
            gvt[-1] += gv_fin
        dtheta = (gvt.masked_fill_(~below, 0.0) - g).sum((0, 1))
    return g, dv0, dalpha, dtheta


def _zero_reset_coefficients(
    h: Tensor, theta: Tensor, cfg: LIFConfig, rows: int, inplace: bool
) -> tuple[Tensor, Tensor]:
    """``(sg, a)``: ``sg = surrogate'(h - theta)`` for all steps (over ``h`` when ``inplace``) and
    ``a = (h <= theta) + (v_reset - h) sg`` for the first ``rows`` steps, computed in two time
    blocks so that the only temporary is half a trace."""
    T = h.shape[0]
    sg = h if inplace else torch.empty_like(h)
    a = h.new_empty((rows, *h.shape[1:]))
    step = max(1, (T + 1) // 2)  # two blocks: few (multi-threaded) ops, temporaries of T/2 rows
    for t0 in range(0, T, step):
        t1 = min(t0 + step, T)
        r1 = min(t1, rows)
        tmp = None
        if r1 > t0:
            torch.le(h[t0:r1], theta, out=a[t0:r1])
            tmp = torch.sub(cfg.options.v_reset, h[t0:r1])
        cfg.grad_(torch.sub(h[t0:t1], theta, out=sg[t0:t1]), cfg.scale, None)
        if tmp is not None:
            a[t0:r1].addcmul_(tmp, sg[t0:r1])
    return sg, a


def _times(sg: Tensor, gs: Tensor | None) -> Tensor:
    """``gs * sg`` written over ``sg`` (zeros when there is no spike gradient)."""
    return sg.zero_() if gs is None else sg.mul_(gs)


def _local_grad(u: Tensor, gs: Tensor | None, cfg: LIFConfig) -> Tensor:
    """``gs * surrogate'(u)`` written over ``u`` (zeros when there is no spike gradient)."""
    return u.zero_() if gs is None else cfg.grad_(u, cfg.scale, gs)


def _centered(h: Tensor, theta: Tensor, inplace: bool) -> Tensor:
    """``h - theta`` (overwriting ``h`` when allowed)."""
    return h.sub_(theta) if inplace else h - theta


def _backward_delayed(
    gs: Tensor | None, gv: Tensor | None, h: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
    cfg: LIFConfig, needs: tuple[bool, bool, bool, bool], inplace: bool = False,
) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """Delayed reset: ``v[t] = h[t]``, ``p[t] = s[t-1]`` (``p[0]`` from ``v0``); the recurrence
    ``g[t-1] = K[t] g[t] + C[t-1]`` with ``K[t] = dh[t]/dv[t-1]``."""
    _, nv0, nal, nth = needs
    zero = cfg.options.reset == "zero"
    vr = cfg.options.v_reset
    grad_reset = not cfg.options.detach_reset
    gv_tr, gv_fin = _split_gv(gv)
    T = h.shape[0]
    sg0 = cfg.grad_(v0 - theta, cfg.scale, None)
    p0 = (v0 > theta).to(h.dtype)
    hp = h[:-1]  # v[t-1] for t >= 1
    below = torch.le(hp, theta, out=torch.empty_like(hp)) if (zero and nth) else None  # 1 - p
    s_prev = (hp > theta).to(h.dtype) if (nth and not zero) else None
    w = None  # what alpha multiplies in h[t], for dalpha
    if nal:
        w = hp.clone() if not zero else torch.where(hp <= theta, hp, vr)
    k: Tensor
    if zero and grad_reset:
        sg, k = _zero_reset_coefficients(h, theta, cfg, T - 1, inplace)
        k.mul_(alpha)
        c = _times(sg, gs)
    elif zero:
        k = torch.le(hp, theta, out=torch.empty_like(hp)).mul_(alpha)
        c = _local_grad(_centered(h, theta, inplace), gs, cfg)
    elif grad_reset:
        sg = cfg.grad_(_centered(h, theta, inplace), cfg.scale, None)
        k = sg[:-1].mul(theta).neg_().add_(alpha)
        c = _times(sg, gs)
    else:
        k = alpha.expand_as(hp)
        c = _local_grad(_centered(h, theta, inplace), gs, cfg)
    dth = -c.sum((0, 1)) if nth else None
    if gv_tr is not None:
        c.add_(gv_tr)
    if gv_fin is not None:
        c[-1].add_(gv_fin)
    for t in range(T - 1, 0, -1):
        c[t - 1].addcmul_(k[t - 1], c[t])
    g = c
    # K[0] (from v0) and its pieces
    if zero:
        k0 = (1.0 - p0) + (vr - v0) * sg0 if grad_reset else 1.0 - p0
        k0 = k0 * alpha
    else:
        k0 = alpha - theta * sg0 if grad_reset else alpha.expand_as(v0)
    dv0 = k0 * g[0] if nv0 else None
    dalpha = None
    if w is not None:
        w0 = v0 if not zero else torch.where(v0 <= theta, v0, vr)
        dalpha = (g[0] * w0).sum(0) + (g[1:] * w).sum((0, 1))
    if dth is not None:
        if zero:
            if grad_reset:  # d/dtheta through p: -g alpha (v_reset - v) sg = -g (K - alpha (1-p))
                dth -= (g[0] * (k0 - alpha * (1.0 - p0))).sum(0)
                dth -= (g[1:] * (k - below.mul_(alpha))).sum((0, 1))  # type: ignore[union-attr]
        else:  # -g p (reset term) and, through p, +g theta sg = g (alpha - K)
            assert s_prev is not None
            dth -= (g[0] * p0).sum(0) + (g[1:] * s_prev).sum((0, 1))
            if grad_reset:
                dth += (g[0] * (alpha - k0)).sum(0) + (g[1:] * (alpha - k)).sum((0, 1))
    return g, dv0, dalpha, dth


def scratch(like: Tensor) -> Tensor:
    """A ``[B, N]`` buffer viewed as ``[T, B, N]`` (stride 0 in time): for traces of which a
    step loop only ever reads the current or previous row."""
    return like.new_empty(like.shape[1:]).expand_as(like)


def recompute_charge(x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
                     cfg: LIFConfig) -> Tensor:
    """The charge trace ``h`` ``[T, B, N]`` of a forward pass, recomputed from its input."""
    h = torch.empty_like(x)
    lif_forward(x, v0, alpha, theta, cfg, False, h_out=h, s_out=scratch(x))
    return h


class _LIFFunction(torch.autograd.Function):
    """Saves the input ``x`` (which exists anyway) and recomputes ``h`` in the backward (one more
    cheap scan), unless ``h`` is an output already (delayed reset with the ``v`` trace)."""

    @staticmethod
    def forward(ctx, x, v0, alpha, theta, cfg, trace):  # type: ignore[override]
        ctx.keep_h = bool(trace and cfg.options.reset_delay)  # then v trace == h
        with kernel_threads():
            if ctx.keep_h:
                s, h, v = lif_forward(x, v0, alpha, theta, cfg, trace)
                ctx.save_for_backward(h, v0, alpha, theta)
            else:
                s, _, v = lif_forward(x, v0, alpha, theta, cfg, trace, h_out=scratch(x))
                ctx.save_for_backward(x, v0, alpha, theta)
        ctx.cfg = cfg
        ctx.set_materialize_grads(False)
        return s, v

    @staticmethod
    def backward(ctx, gs, gv):  # type: ignore[override]
        saved, v0, alpha, theta = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[:4])
        if gs is None and gv is None:
            return None, None, None, None, None, None
        with kernel_threads():
            h = saved if ctx.keep_h else recompute_charge(saved, v0, alpha, theta, ctx.cfg)
            dx, dv0, dal, dth = lif_backward(gs, gv, h, v0, alpha, theta, ctx.cfg,
                                             needs, inplace=not ctx.keep_h)  # type: ignore[arg-type]
        return dx, dv0, dal, dth, None, None


def lif_multistep_cpu(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True,
) -> tuple[Tensor, Tensor]:
    """Fused multi-step LIF (reference semantics). ``trace=False`` returns the final ``v``."""
    check_kernel_inputs(x, {"v0": v0}, {"alpha": alpha, "theta": theta})
    return _LIFFunction.apply(x.contiguous(), v0, alpha, theta, LIFConfig.make(options), trace)


def if_multistep_cpu(
    x: Tensor, v0: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True,
) -> tuple[Tensor, Tensor]:
    """Fused multi-step IF (LIF with ``alpha = 1``)."""
    check_kernel_inputs(x, {"v0": v0}, {"theta": theta})
    return _LIFFunction.apply(x.contiguous(), v0, torch.ones_like(theta), theta,
                              LIFConfig.make(options), trace)


__all__ = [
    "KERNEL_THREADS",
    "LIFConfig",
    "kernel_threads",
    "if_multistep_cpu",
    "lif_backward",
    "lif_forward",
    "lif_multistep_cpu",
    "recompute_charge",
    "scratch",
]
