"""Loihi 2 integer model: Lava's bit-accurate CUBA LIF and Dense arithmetic.

Per layer and step (Lava ``PyLifModelBitAcc`` / ``PyDenseModelBitAcc``, all integers):

    a[t]  = (W_int s[t-1]) << weight_exp          (>> for a negative exponent; the Dense
                                                    process delivers one step late)
    u[t]  = wrap24( rs0(u[t-1] (4096 - (du + 1)), 12) + (a[t] << 6) )
    v[t]  = clip24( rs0(v[t-1] (4096 - dv), 12) + u[t] + (bias_mant << bias_exp) )
    s[t]  = v[t] > (vth << 6);   v[t] = 0 where s[t]

``rs0`` shifts toward zero; ``wrap24`` wraps the 24-bit current (Lava: ``u > 2^23 -> u - 2^24``,
``u <= -2^23 -> u + 2^24``); ``clip24`` clamps to ``+-(2^23 - 1)``. Weights are 8-bit mixed-sign
values with the LSB truncated (even numbers in [-256, 254]); du, dv are 12-bit; vth 17-bit; the
bias a 13-bit mantissa with a 3-bit exponent. A LIF without synaptic current is the CUBA neuron
with ``du = 4095`` (the current decays fully each step); IF has ``dv = 0``; an LI readout does
not spike (its membrane is read).

Scales: with ``q = max|W_eff| / 127`` the integer weight is ``2 round(W_eff / q)`` and one float
membrane unit is ``K = 2^(weight_exp + 7) / q`` integer units; ``weight_exp`` is the largest that
keeps ``vth`` below 2^14 (spiking) or the calibrated readout range below 2^21 (readout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.hardware_models.chips.integer import IntegerNetwork, rshift_to_zero
from neuromorph.hardware_models.chips.quantize import FloatLayer
from neuromorph.hardware_models.chips.spec import ChipSpec

_UV_MAX = 1 << 23
_WEIGHT_EXP = range(-8, 8)


@dataclass
class LoihiLayer:
    """One Loihi layer in Lava's integer parameters (``[N]`` / ``[N, M]`` int64 tensors)."""

    weight: Tensor
    rec_weight: Tensor | None
    weight_exp: int
    du: Tensor
    dv: Tensor
    bias_mant: Tensor
    bias_exp: Tensor
    vth: Tensor
    spiking: bool
    scale: float  # integer membrane units per float unit
    delay: int = 1  # Lava's Dense delivers the previous step's accumulation


def _shift(a: Tensor, e: int) -> Tensor:
    return a << e if e >= 0 else a >> -e


def loihi_step(layer: LoihiLayer, s_in: Tensor, state: tuple[Tensor, Tensor],
               prev: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """One step of one layer (see the module docstring); ``s_in`` are input events ``[B, M]``."""
    u, v = state
    acc = s_in @ layer.weight.T
    if layer.rec_weight is not None:
        acc = acc + prev @ layer.rec_weight.T
    a = _shift(acc, layer.weight_exp)
    u = rshift_to_zero(u * (4096 - (layer.du + 1)), 12) + (a << 6)
    wrapped = torch.where(u > _UV_MAX, u - 2 * _UV_MAX, u)
    u = torch.where(wrapped <= -_UV_MAX, u + 2 * _UV_MAX, wrapped)
    v = rshift_to_zero(v * (4096 - layer.dv), 12) + u + (layer.bias_mant << layer.bias_exp)
    v = v.clamp(-_UV_MAX + 1, _UV_MAX - 1)
    if not layer.spiking:
        return v, (u, v)
    s = (v > (layer.vth << 6)).to(torch.int64)
    return s, (u, v * (1 - s))


def _bias(b: Tensor) -> tuple[Tensor, Tensor]:
    """13-bit mantissa and 3-bit exponent for integer biases ``b``."""
    exp = torch.clamp(torch.ceil(torch.log2(b.abs().clamp(min=1) / 4095)), 0, 7)
    mant = torch.round(b / 2 ** exp).clamp(-4096, 4095)
    return mant.to(torch.int64), exp.to(torch.int64)


def _layer(fl: FloatLayer, first: bool) -> tuple[LoihiLayer, list[str]]:
    notes = []
    w_all = fl.weight if fl.rec_weight is None else torch.cat([fl.weight, fl.rec_weight], 1)
    q = float(w_all.abs().max()) / 127 or 1.0
    if fl.spiking:
        limit = float(fl.theta.max()) * 2 / q  # vth at weight_exp = 0
        e = max((e for e in _WEIGHT_EXP if limit * 2 ** e <= 2 ** 14), default=-8)
    else:
        v_max = fl.v_max or float(w_all.abs().sum(1).max()) / (1 - float(fl.a_mem.max()) + 1e-9)
        e = max((e for e in _WEIGHT_EXP if v_max * 2 ** (e + 7) / q <= 2 ** 21), default=-8)
    scale = 2 ** (e + 7) / q
    weight = (2 * torch.round(fl.weight / q).clamp(-128, 127)).to(torch.int64)
    rec = (None if fl.rec_weight is None
           else (2 * torch.round(fl.rec_weight / q).clamp(-128, 127)).to(torch.int64))
    dv = torch.round(4096 * (1 - fl.a_mem)).clamp(0, 4095).to(torch.int64)
    du = (torch.round(4096 * (1 - fl.a_syn)) - 1).clamp(0, 4095).to(torch.int64)
    mant, exp = _bias(torch.round(fl.bias_v * scale))
    if fl.spiking:
        vth = torch.round(fl.theta * scale / 64).clamp(1, (1 << 17) - 1).to(torch.int64)
    else:
        vth = torch.full_like(dv, (1 << 17) - 1)
    if fl.spiking and fl.reset != "zero":
        notes.append(f"layer {fl.name}: reset={fl.reset!r} runs as Loihi's reset to 0")
    if fl.kind == "cuba_lif" and bool((fl.bias_v != 0).any()):
        notes.append(f"layer {fl.name}: the constant drive enters v as a bias (its CuBa "
                     "steady state), not through the current")
    return LoihiLayer(weight, rec, e, du, dv, mant, exp, vth, fl.spiking, scale), notes


def quantize_loihi2(layers: list[FloatLayer], spec: ChipSpec) -> IntegerNetwork:
    """The Loihi 2 (Lava bit-accurate) integer model of float layers."""
    out, notes = [], []
    for k, fl in enumerate(layers):
        layer, n = _layer(fl, k == 0)
        out.append(layer)
        notes += n
    notes.append("Lava's Dense delivers spikes one step late: each layer adds a one-step delay")
    if not math.isfinite(out[-1].scale):  # pragma: no cover - defensive
        raise ValueError("degenerate readout scale")
    return IntegerNetwork(spec.name, out, loihi_step, notes=notes)


__all__ = ["LoihiLayer", "loihi_step", "quantize_loihi2"]
