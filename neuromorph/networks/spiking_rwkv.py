"""A spiking RWKV block (SpikeGPT-style, Zhu et al. 2023) and its non-spiking twin.

**WKV** (RWKV-4's linear attention, per channel, decay ``w = exp(w_log) > 0`` per step and a
bonus ``u`` for the current token)::

    wkv_t = (sum_{i<t} e^{-(t-1-i) w + k_i} v_i + e^{u + k_t} v_t)
            / (sum_{i<t} e^{-(t-1-i) w + k_i}     + e^{u + k_t})

It has a **parallel** form (a causal softmax over ``i`` of the logits above, ``O(T^2)``, used for
training) and a **recurrent** form (running numerator ``a``, denominator ``b`` and their common
exponent ``p`` for stability, ``O(T)``, what a chip runs); :func:`wkv_parallel` and
:func:`wkv_recurrent` compute the same numbers.

**Block** (input ``x [T, B, d]``: spikes, or the twin's ReLU outputs; ``mix(x) = mu x_t +
(1 - mu) x_{t-1}``, the token shift, per channel)::

    time mixing:    k, v, r = W_k mix_k(x), W_v mix_v(x), W_r mix_r(x)
                    y = act(x + W_o act(sigmoid(r) * wkv(k, v)))
    channel mixing: k', r' = W_k' mix_k'(y), W_r' mix_r'(y)
                    out = act(y + sigmoid(r') * W_v' act(k'))

``act`` is :class:`~neuromorph.networks.sequence.SequenceActivation`: a LIF along the sequence
(spiking) or ReLU (twin). SpikeGPT keeps RWKV's squared ReLU in the channel mixing and a real
residual stream; here every matrix reads an activation output, so in the spiking block every
weight matrix is read by spikes (the token shift folds ``mu`` into two copies of the weights:
``W diag(mu) s_t + W diag(1 - mu) s_{t-1}``, both spike-driven).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuromorph.networks.sequence import (
    OpCount,
    SequenceActivation,
    check_sequence,
    counted_read,
    token_shift,
)

WKV_UPDATES = 12  # element-wise operations of one recurrent WKV step per channel


def _check_wkv(w: Tensor, u: Tensor, k: Tensor, v: Tensor) -> None:
    if k.shape != v.shape or k.dim() != 3 or w.shape != k.shape[-1:] or u.shape != w.shape:
        raise ValueError(f"wkv: need k, v [T, B, C] of one shape and w, u [C]; got k "
                         f"{tuple(k.shape)}, v {tuple(v.shape)}, w {tuple(w.shape)}, "
                         f"u {tuple(u.shape)}")
    if bool((w <= 0).any()):
        raise ValueError("wkv: the decay w must be > 0 per step; pass w = exp(w_log)")


def wkv_parallel(w: Tensor, u: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """WKV by a causal softmax over the logits ``L[t, i]`` (module docstring); ``[T, B, C]``."""
    _check_wkv(w, u, k, v)
    T = k.shape[0]
    t = torch.arange(T, device=k.device)
    lag = (t[:, None] - 1 - t[None, :]).to(k.dtype)  # t - 1 - i
    past = -lag[:, :, None, None] * w + k[None]  # [T, T(i), B, C]
    logits = torch.where((t[None, :] < t[:, None])[:, :, None, None], past,
                         torch.full_like(past, float("-inf")))
    diag = torch.arange(T, device=k.device)
    logits[diag, diag] = u + k
    return (torch.softmax(logits, dim=1) * v[None]).sum(1)


def wkv_recurrent(w: Tensor, u: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """WKV by the recurrence ``a_t = e^{-w} a_{t-1} + e^{k_t} v_t``, ``b_t = e^{-w} b_{t-1} +
    e^{k_t}`` (stored relative to the exponent ``p`` for stability); ``[T, B, C]``."""
    _check_wkv(w, u, k, v)
    a = torch.zeros_like(k[0])
    b = torch.zeros_like(k[0])
    p = torch.full_like(k[0], -1e38)
    out = []
    for kt, vt in zip(k, v, strict=True):
        cur = u + kt
        q = torch.maximum(p, cur)
        e1, e2 = torch.exp(p - q), torch.exp(cur - q)
        out.append((e1 * a + e2 * vt) / (e1 * b + e2))
        decayed = p - w
        q = torch.maximum(decayed, kt)
        e1, e2 = torch.exp(decayed - q), torch.exp(kt - q)
        a, b, p = e1 * a + e2 * vt, e1 * b + e2, q
    return torch.stack(out)


class RWKVBlock(nn.Module):
    """One RWKV block (time + channel mixing) of width ``d``, hidden width ``d_ffn``."""

    def __init__(self, d: int, d_ffn: int, *, spiking: bool, tau_steps: float = 2.0,
                 surrogate: str = "fast_sigmoid", scale: float | None = None,
                 generator: torch.Generator | None = None
                 ) -> None:
        super().__init__()
        if d < 1 or d_ffn < 1:
            raise ValueError(f"RWKVBlock: d = {d} and d_ffn = {d_ffn} must be >= 1")
        self.d, self.spiking = d, spiking
        lin = {name: nn.Linear(d, d, bias=False) for name in ("key", "value", "recept", "out",
                                                               "recept_ffn")}
        lin["key_ffn"] = nn.Linear(d, d_ffn, bias=False)
        lin["value_ffn"] = nn.Linear(d_ffn, d, bias=False)
        self.lin = nn.ModuleDict(lin)
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        for layer in self.lin.values():
            bound = layer.in_features ** -0.5
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=gen)
        ramp = torch.linspace(0.0, 1.0, d)
        self.mu = nn.Parameter(0.5 + 0.4 * (ramp[None].repeat(5, 1) - 0.5))  # k v r k' r'
        self.w_log = nn.Parameter(torch.log(torch.linspace(0.05, 1.0, d)))  # decays e^-w
        self.u = nn.Parameter(torch.full((d,), 0.5))
        self.act = nn.ModuleList(SequenceActivation(spiking, tau_steps, surrogate, scale)
                                 for _ in range(4))

    def _mixed(self, x: Tensor, xs: Tensor, row: int, name: str, ops: OpCount | None) -> Tensor:
        mu = self.mu[row]
        layer = self.lin[name]
        if ops is not None:
            if self.spiking:  # two spike-driven reads: W diag(mu) s_t and W diag(1-mu) s_{t-1}
                ops.matrix(x, layer.out_features, True)
                ops.matrix(xs, layer.out_features, True)
            else:
                ops.elementwise(x)  # mu x_t + (1 - mu) x_{t-1}
                ops.matrix(x, layer.out_features, False)
        return layer(mu * x + (1 - mu) * xs)

    def _read(self, x: Tensor, name: str, ops: OpCount | None) -> Tensor:
        return counted_read(self.lin[name], x, ops, self.spiking)

    def forward(self, x: Tensor, ops: OpCount | None = None, *, recurrent: bool | None = None
                ) -> Tensor:
        """``x [T, B, d]`` -> ``[T, B, d]``; ``recurrent`` runs the WKV step by step (``None``:
        the recurrent form, which is the faster one on a CPU at these lengths)."""
        recurrent = True if recurrent is None else recurrent
        check_sequence(x, self.d, "RWKVBlock")
        xs = token_shift(x)
        k = self._mixed(x, xs, 0, "key", ops)
        v = self._mixed(x, xs, 1, "value", ops)
        r = self._mixed(x, xs, 2, "recept", ops)
        wkv = (wkv_recurrent if recurrent else wkv_parallel)(torch.exp(self.w_log), self.u, k, v)
        if ops is not None:
            ops.elementwise(wkv, WKV_UPDATES + 2)  # the recurrence, the gate and its product
        a = self.act[0](torch.sigmoid(r) * wkv, ops)
        y = self.act[1](x + self._read(a, "out", ops), ops)
        ys = token_shift(y)
        k2 = self._mixed(y, ys, 3, "key_ffn", ops)
        r2 = self._mixed(y, ys, 4, "recept_ffn", ops)
        h = self.act[2](k2, ops)
        val = self._read(h, "value_ffn", ops)
        if ops is not None:
            ops.elementwise(val, 2)
        return self.act[3](y + torch.sigmoid(r2) * val, ops)


__all__ = ["RWKVBlock", "wkv_parallel", "wkv_recurrent"]
