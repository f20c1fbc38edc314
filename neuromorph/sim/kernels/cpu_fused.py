"""Fused ``Linear`` + LIF over a whole sequence on CPU: one autograd node, lean memory.

``x = inp @ W^T + b`` is computed in time chunks straight into the buffer that the LIF scan then
overwrites in place with the charge ``h`` (no separate ``[T,B,N]`` current), spikes go straight
into the output, and the backward walks the chunks in reverse: LIF backward (in place over ``h``,
so the gradient reuses the same buffer), then ``dW += g^T inp``, ``db += sum(g)`` and
``dinp = g W`` per chunk, freeing each chunk's buffer as it goes.

``recompute=True`` stores no ``[T,B,N]`` tensor: only the membrane at each chunk start and the
last chunk's charge (still in its buffer at the end of the forward); the backward recomputes the
current and charge of the other chunks (``1 - 1/chunks`` more of a forward matmul).
Same numbers (bitwise for the forward) as ``Linear`` followed by
:func:`neuromorph.sim.kernels.lif_multistep` with ``trace=False``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuromorph.sim.kernels.cpu_lif import LIFConfig, kernel_threads, lif_backward, lif_forward
from neuromorph.sim.kernels.reference import check_kernel_inputs
from neuromorph.specs.options import SpikeOptions


def current(inp2: Tensor, weight: Tensor, bias: Tensor | None, out: Tensor | None,
             affine: tuple[Tensor | None, Tensor | None]) -> Tensor:
    """``gain * (inp @ W^T + b) + shift`` (the neuron's input gain and leak bias, optional)."""
    if bias is None:
        x = torch.mm(inp2, weight.t(), out=out)
    else:
        x = torch.addmm(bias, inp2, weight.t(), out=out)
    gain, shift = affine
    if gain is not None:
        x.mul_(gain)
    if shift is not None:
        x.add_(shift)
    return x


def _chunks(T: int, chunk: int) -> list[tuple[int, int]]:
    return [(t0, min(t0 + chunk, T)) for t0 in range(0, T, chunk)]


class _LinearLIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp, weight, bias, v0, alpha, theta, cfg, recompute, chunk, affine):  # type: ignore[override]
        T, B, K = inp.shape
        N = weight.shape[0]
        inp2 = inp.reshape(T * B, K)
        s = inp.new_empty(T, B, N)
        spans = _chunks(T, chunk)
        buf = inp.new_empty(min(chunk, T) * B, N) if recompute else None
        v = v0
        starts, hs = [], []
        for t0, t1 in spans:
            rows = slice(t0 * B, t1 * B)
            out = None if buf is None else buf[: (t1 - t0) * B]
            x = current(inp2[rows], weight, bias, out, affine).view(t1 - t0, B, N)
            starts.append(v)
            with kernel_threads():
                _, h, v = lif_forward(x, v, alpha, theta, cfg, False, h_out=x, s_out=s[t0:t1])
            hs.append(h if not recompute or t1 == T else None)  # the last chunk is kept
        ctx.save_for_backward(inp, weight, bias, alpha, theta)
        ctx.starts, ctx.hs, ctx.spans = starts, hs, spans
        ctx.cfg, ctx.recompute, ctx.affine = cfg, recompute, affine
        ctx.set_materialize_grads(False)
        return s, v

    @staticmethod
    def backward(ctx, gs, gv):  # type: ignore[override]
        inp, weight, bias, alpha, theta = ctx.saved_tensors
        n_inp, n_w, n_b, n_v0, n_al, n_th = ctx.needs_input_grad[:6]
        T, B, K = inp.shape
        N = weight.shape[0]
        inp2 = inp.reshape(T * B, K)
        d_inp = torch.empty_like(inp2) if n_inp else None
        d_w = d_b = None
        d_al = torch.zeros_like(alpha) if n_al else None
        d_th = torch.zeros_like(theta) if n_th else None
        carry = gv
        buf = None
        s_scratch = inp.new_empty(B, N)  # spikes of a recomputed chunk: only s[t-1] is read
        for k in range(len(ctx.spans) - 1, -1, -1):
            t0, t1 = ctx.spans[k]
            rows = slice(t0 * B, t1 * B)
            n_rows = (t1 - t0) * B
            if ctx.hs[k] is None and ctx.recompute:
                if buf is None:
                    buf = inp.new_empty((ctx.spans[0][1] - ctx.spans[0][0]) * B, N)
                x = current(inp2[rows], weight, bias, buf[:n_rows], ctx.affine)
                x = x.view(t1 - t0, B, N)
                with kernel_threads():
                    _, h, _ = lif_forward(x, ctx.starts[k], alpha, theta, ctx.cfg, False,
                                          h_out=x, s_out=s_scratch.expand(t1 - t0, B, N))
            else:
                h, ctx.hs[k] = ctx.hs[k], None  # handed over: the backward overwrites it
                if h is None:
                    raise RuntimeError(
                        "the fused Linear+LIF op frees its buffers in the backward, so it cannot "
                        "be differentiated twice (retain_graph=True); use recompute=True"
                    )
            if gs is None and carry is None:
                continue
            with kernel_threads():
                g, carry, dal, dth = lif_backward(
                    None if gs is None else gs[t0:t1], carry, h, ctx.starts[k], alpha, theta,
                    ctx.cfg, (True, True, n_al, n_th), inplace=True,
                )
            if dal is not None:
                d_al += dal
            if dth is not None:
                d_th += dth
            g2 = g.view(n_rows, N)
            if ctx.affine[0] is not None:
                with kernel_threads():
                    g2.mul_(ctx.affine[0])  # through the input gain
            if n_w:
                d_w = g2.t() @ inp2[rows] if d_w is None else d_w.addmm_(g2.t(), inp2[rows])
            if n_b:
                d_b = g2.sum(0) if d_b is None else d_b.add_(g2.sum(0))
            if d_inp is not None:
                torch.mm(g2, weight, out=d_inp[rows])
            del g, g2, h
        d_inp = None if d_inp is None else d_inp.view(T, B, K)
        if n_w and d_w is None:
            d_w = torch.zeros_like(weight)
        if n_b and d_b is None:
            d_b = torch.zeros(N, dtype=inp.dtype, device=inp.device)
        if carry is not None and not n_v0:
            carry = None
        return d_inp, d_w, d_b, carry, d_al, d_th, None, None, None, None


def check_linear_inputs(inp: Tensor, weight: Tensor, bias: Tensor | None, v0: Tensor,
                        alpha: Tensor, theta: Tensor, gain: Tensor | None,
                        shift: Tensor | None) -> None:
    """Shape checks of the fused Linear + LIF ops (errors say which argument is wrong)."""
    if inp.dim() != 3 or weight.dim() != 2 or inp.shape[2] != weight.shape[1]:
        raise ValueError(
            f"inp must be [T, B, K] and weight [N, K] with matching K, got {tuple(inp.shape)} "
            f"and {tuple(weight.shape)}"
        )
    B, N = inp.shape[1], weight.shape[0]
    check_kernel_inputs(inp.new_empty(0, B, N), {"v0": v0}, {"alpha": alpha, "theta": theta})
    for name, t in (("bias", bias), ("gain", gain), ("shift", shift)):
        if t is not None and tuple(t.shape) != (N,):
            raise ValueError(f"{name} must have shape [N] = [{N}], got {list(t.shape)}")
    if any(t is not None and t.requires_grad for t in (gain, shift)):
        raise ValueError("gain and shift are constants here; fold trainable ones into weight/bias")


def linear_lif_multistep(
    inp: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    v0: Tensor,
    alpha: Tensor,
    theta: Tensor,
    options: SpikeOptions | None = None,
    *,
    recompute: bool = False,
    chunk: int | None = None,
    gain: Tensor | None = None,
    shift: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``spikes, v_final = LIF(gain * (inp @ weight^T + bias) + shift)`` for ``inp`` ``[T,B,K]``.

    ``weight`` ``[N, K]``, ``bias`` ``[N]`` or None, ``v0`` ``[B, N]``, ``alpha``/``theta``
    ``[N]``; LIF semantics and ``options`` as in :mod:`neuromorph.sim.kernels.reference`.
    ``gain`` / ``shift`` (``[N]``, constants: no gradient flows to them) are the neuron's input
    gain and leak bias; fold them into ``weight`` / ``bias`` instead when they must be trained.
    ``recompute`` trades one extra matmul for storing nothing of size ``T*B*N``; ``chunk`` is the
    number of time steps per chunk (default: all at once, or ``ceil(T/4)`` with ``recompute``).
    """
    check_linear_inputs(inp, weight, bias, v0, alpha, theta, gain, shift)
    T = inp.shape[0]
    if chunk is None:
        chunk = max(1, math.ceil(T / 4)) if recompute else max(T, 1)
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of time steps, got {chunk}")
    cfg = LIFConfig.make(options)
    return _LinearLIF.apply(inp.contiguous(), weight, bias, v0, alpha, theta, cfg,
                            bool(recompute), int(chunk), (gain, shift))


__all__ = ["check_linear_inputs", "current", "linear_lif_multistep"]
