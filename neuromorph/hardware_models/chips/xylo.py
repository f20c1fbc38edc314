"""Xylo (XyloAudio 2, SYNS61201) integer model, matched bit for bit to SynSense's xylosim.

Per neuron and step (16-bit saturating state, arithmetic shifts):

    i[t] = decay( sat16(i[t-1] + (W_int n_in[t]) << shift), dash_syn )
    v[t] = sat16( decay(v[t-1], dash_mem) + i[t] + bias )
    n[t] = min(floor(v / thr), n_max) if v >= thr else 0;    v[t] -= n[t] thr

``decay(x, d) = x - (x >> d)``, where a positive ``x`` always loses at least 1 (so it decays to
0 as a negative one does through the floor shift), ``n_in`` are input event counts (at most 15
per channel per step on the input layer; a hidden neuron emits up to ``n_max = 31`` spikes per
step, an output neuron at most 1), and the
first layer sees its inputs in the same step while every later layer (hidden -> hidden, hidden
-> output) receives the previous step's spikes. The decay ``1 - 2^-dash`` is the power of two
nearest the float decay.

Scales: one float membrane unit is ``K`` integer units, the largest ``K`` with thresholds below
2^14 (readout: the calibrated range below 2^14) and weights that fit 8 bits with a shift <= 7.
The synaptic weights keep each input's total charge: ``W_int << shift = K W_eff (1 - a_x) /
(a_x (1 - a_syn))`` with ``a_x = 1 - 2^-dash_syn``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.hardware_models.chips.integer import IntegerNetwork, saturate
from neuromorph.hardware_models.chips.quantize import FloatLayer
from neuromorph.hardware_models.chips.spec import ChipSpec

_MAX_SPIKES = 31


@dataclass
class XyloLayer:
    """One Xylo layer (``[N]`` / ``[N, M]`` int64 tensors)."""

    weight: Tensor
    rec_weight: Tensor | None
    weight_shift: int
    dash_syn: Tensor
    dash_mem: Tensor
    threshold: Tensor
    bias: Tensor
    spiking: bool
    scale: float
    delay: int = 0
    max_spikes: int = _MAX_SPIKES  # 31 for hidden neurons; output neurons emit at most 1


def xylo_decay(x: Tensor, dash: Tensor) -> Tensor:
    """``x - (x >> dash)``, losing at least 1 when ``x > 0`` (xylosim's bit-shift leak)."""
    dec = x >> dash
    dec = torch.where((x > 0) & (dec == 0), torch.ones_like(dec), dec)
    return x - dec


def xylo_step(layer: XyloLayer, n_in: Tensor, state: tuple[Tensor, Tensor],
              prev: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """One step of one layer (see the module docstring). Returns spike counts (or, for a
    readout, the membrane) ``[B, N]``."""
    i, v = state
    acc = n_in @ layer.weight.T
    if layer.rec_weight is not None:
        acc = acc + prev @ layer.rec_weight.T
    i = xylo_decay(saturate(i + (acc << layer.weight_shift), 16), layer.dash_syn)
    v = saturate(xylo_decay(v, layer.dash_mem) + i + layer.bias, 16)
    n = torch.where(v >= layer.threshold,
                    torch.clamp(torch.div(v, layer.threshold, rounding_mode="floor"),
                                max=layer.max_spikes), torch.zeros_like(v))
    v = v - n * layer.threshold
    return (n if layer.spiking else v), (i, v)


def _dash(a: Tensor) -> Tensor:
    """The bit shift whose decay ``1 - 2^-dash`` is nearest ``a`` (``a = 1``: 15)."""
    d = torch.round(-torch.log2((1 - a).clamp(min=2.0 ** -15)))
    return d.clamp(0, 15).to(torch.int64)


def _layer(fl: FloatLayer, first: bool, last: bool) -> tuple[XyloLayer, list[str]]:
    notes = []
    dash_syn = torch.where(fl.a_syn > 0, _dash(fl.a_syn), torch.ones_like(_dash(fl.a_syn)))
    dash_syn = dash_syn.clamp(min=1)  # dash 0 would discard every input
    a_x = 1 - 2.0 ** (-dash_syn.to(torch.float64))
    charge = ((1 - a_x) / (a_x * (1 - fl.a_syn)))[:, None]
    w_eff = fl.weight * charge
    r_eff = None if fl.rec_weight is None else fl.rec_weight * charge
    w_all = w_eff if r_eff is None else torch.cat([w_eff, r_eff], 1)
    k_w = 127 * 2 ** 7 / (float(w_all.abs().max()) or 1.0)
    if fl.spiking:
        k_v = (2 ** 14) / float(fl.theta.max())
    else:
        bound = fl.v_max or float(w_all.abs().sum(1).max())
        k_v = (2 ** 14) / (bound or 1.0)
    scale = min(k_w, k_v)
    units = w_all * scale
    shift = int(min(max(math.ceil(math.log2(float(units.abs().max()) / 127 or 1e-9)), 0), 7))
    w_int = torch.round(units / 2 ** shift).clamp(-128, 127).to(torch.int64)
    weight, rec = (w_int, None) if r_eff is None else (w_int[:, :w_eff.shape[1]],
                                                       w_int[:, w_eff.shape[1]:])
    if fl.spiking:
        thr = torch.round(fl.theta * scale).clamp(1, 32767).to(torch.int64)
    else:
        thr = torch.full((w_int.shape[0],), 32767, dtype=torch.int64)
    bias = torch.round(fl.bias_v * scale).clamp(-32768, 32767).to(torch.int64)
    if fl.kind in ("lif", "li"):
        notes.append(f"layer {fl.name}: {fl.kind} runs as a CuBa neuron with dash_syn = 1")
    if fl.spiking and fl.reset != "subtract":
        notes.append(f"layer {fl.name}: reset={fl.reset!r} runs as Xylo's subtractive reset")
    layer = XyloLayer(weight, rec, shift, dash_syn, _dash(fl.a_mem), thr, bias, fl.spiking,
                      scale, delay=0 if first else 1, max_spikes=1 if last else _MAX_SPIKES)
    return layer, notes


def quantize_xylo(layers: list[FloatLayer], spec: ChipSpec) -> IntegerNetwork:
    """The Xylo integer model of float layers (first layer = Xylo's input layer)."""
    out, notes = [], []
    for k, fl in enumerate(layers):
        layer, n = _layer(fl, k == 0, k == len(layers) - 1)
        out.append(layer)
        notes += n
    notes.append("hidden -> hidden and hidden -> output synapses deliver one step late")
    return IntegerNetwork(spec.name, out, xylo_step, max_input_events=spec.max_input_events,
                          notes=notes)


__all__ = ["XyloLayer", "quantize_xylo", "xylo_decay", "xylo_step"]
