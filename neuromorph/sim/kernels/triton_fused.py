"""Fused ``Linear`` + LIF over a whole sequence on CUDA: one autograd node, one ``[T,B,N]`` buffer.

The GPU counterpart of :mod:`.cpu_fused`. Forward: ``x = inp @ W^T + b`` (one matmul over all
``T*B`` rows), then :func:`~.triton_lif.lif_fwd_kernel` writes the spikes and overwrites ``x``
*in place* with the charge trace ``h``; only the final membrane is returned (no membrane trace).
Backward: :func:`~.triton_lif.lif_bwd_kernel` reads ``h`` and overwrites it in place with
``g = dL/dx`` (the output gradient of ``sum`` is read with stride 0, never materialised, and the
spikes are recomputed from the fp32 charge instead of being saved), then ``dW = g^T inp``,
``db = sum(g)`` and ``dinp = g W``.

Memory of one forward + backward beyond the inputs and weights: the spikes and one ``[T,B,N]``
buffer in the forward, that buffer and ``dW`` in the backward (snnTorch's step loop keeps about
three ``[T,B,N]`` tensors). Same numbers as ``Linear`` followed by
:func:`neuromorph.sim.kernels.lif_multistep` (identical spikes: the kernels round like torch).
Because the backward consumes its buffer, the graph cannot be differentiated twice.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.sim.kernels.cpu_fused import check_linear_inputs, current
from neuromorph.sim.kernels.triton_common import KernelConstants, kernel_constants
from neuromorph.sim.kernels.triton_lif import run_lif_backward, run_lif_forward, saved_spikes
from neuromorph.specs.options import SpikeOptions


class _LinearLIFTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inp, weight, bias, v0, alpha, theta, k: KernelConstants, affine):  # type: ignore[override]
        T, B, K = inp.shape
        N = weight.shape[0]
        inp2 = inp.reshape(T * B, K)
        x = current(inp2, weight, bias, None, affine).view(T, B, N)
        s = torch.empty_like(x)
        vT = torch.empty(B, N, dtype=x.dtype, device=x.device)
        run_lif_forward(x, v0, alpha, theta, k.v_reset, k.reset_zero, k.reset_delay, s, vT, h=x)
        ctx.save_for_backward(inp, weight, bias, v0, alpha, theta)
        ctx.h, ctx.s = x, saved_spikes(s, x)
        ctx.opts = k.op_args()
        ctx.affine = affine
        ctx.set_materialize_grads(False)
        return s, vT

    @staticmethod
    def backward(ctx, gs, gvT):  # type: ignore[override]
        inp, weight, bias, v0, alpha, theta = ctx.saved_tensors
        h, ctx.h = ctx.h, None  # handed over: the backward overwrites it with dL/dx
        if h is None:
            raise RuntimeError("the fused Linear+LIF op frees its buffer in the backward, so it "
                               "cannot be differentiated twice (retain_graph=True); build the "
                               "layer with recompute=True, which can")
        n_inp, n_w, n_b, n_v0, n_al, n_th = ctx.needs_input_grad[:6]
        T, B, K = inp.shape
        N = weight.shape[0]
        gvT = None if gvT is None else gvT.contiguous()  # (gs may have any strides)
        gv0, gth, gal = run_lif_backward(gs, None, gvT, h, ctx.s, v0, alpha, theta, *ctx.opts,
                                         gx=h)
        g2 = h.view(T * B, N)
        gain = ctx.affine[0]
        if gain is not None:
            g2.mul_(gain)  # through the input gain
        inp2 = inp.reshape(T * B, K)
        d_inp = (g2 @ weight).view(T, B, K) if n_inp else None
        d_w = g2.t() @ inp2 if n_w else None
        d_b = g2.sum(0) if n_b else None
        return (d_inp, d_w, d_b, gv0 if n_v0 else None, gal if n_al else None,
                gth if n_th else None, None, None)


def linear_lif_triton(
    inp: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    v0: Tensor,
    alpha: Tensor,
    theta: Tensor,
    options: SpikeOptions | None = None,
    *,
    gain: Tensor | None = None,
    shift: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``spikes, v_final = LIF(gain * (inp @ weight^T + bias) + shift)`` on CUDA tensors.

    Same arguments as :func:`~neuromorph.sim.kernels.cpu_fused.linear_lif_multistep` (without
    ``recompute``/``chunk``, which only the torch path implements).
    """
    check_linear_inputs(inp, weight, bias, v0, alpha, theta, gain, shift)
    return _LinearLIFTriton.apply(inp.contiguous(), weight, bias, v0.contiguous(),
                                  alpha.contiguous(), theta.contiguous(),
                                  kernel_constants(options), (gain, shift))


__all__ = ["linear_lif_triton"]
