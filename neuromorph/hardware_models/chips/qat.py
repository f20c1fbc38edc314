"""Quantisation-aware training (QAT) for the Loihi 2 and Xylo integer models.

:class:`ChipQAT` holds float "shadow" parameters per layer (``W_eff`` [N, M], ``bias_v`` [N],
``theta`` [N], in the float model's membrane units, see :mod:`.quantize`) and runs the
**chip's integer arithmetic** on them in float64 (integers below 2^53 are exact): every
rounding, shift and spike decision is the bit-accurate model's, so the forward equals
:meth:`IntegerNetwork.run` on :meth:`ChipQAT.to_integer` (flushed) value for value. Backward
passes through straight-through estimators::

    round_ste(x) = round(x) + x - sg(x)              (d/dx = 1; sg: stop-gradient)
    s_ste(v)     = s(v) + f(u) - sg(f(u)),  u = (v - thr) / thr,  f(u) = u / (1 + k |u|)

i.e. integer weights, state (the shifts of the decays) and thresholds are all straight-through,
and a spike's derivative is the fast-sigmoid surrogate ``1 / (1 + k |u|)^2`` (per threshold).
The integer scales (Loihi ``q``, ``weight_exp``, ``K``; Xylo ``K``, the weight shift, the
decay shifts) are the quantisers' own (:func:`quantize` on the float network) and stay fixed, so
training moves integer values inside a fixed representation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuromorph.hardware_models.chips.catalog import get_chip
from neuromorph.hardware_models.chips.integer import IntegerNetwork
from neuromorph.hardware_models.chips.loihi import LoihiLayer, _bias, loihi_step
from neuromorph.hardware_models.chips.quantize import (
    QUANTIZERS,
    FloatLayer,
    _register,
    calibrate,
    float_layers,
)
from neuromorph.hardware_models.chips.xylo import XyloLayer, xylo_step

F64 = torch.float64
_SURROGATE_K = 5.0
_UV = float(1 << 23)


def _sg(x: Tensor, exact: Tensor) -> Tensor:
    """``exact`` in the forward (bit for bit: ``x - sg(x)`` is exactly 0), the identity's
    gradient to ``x`` in the backward."""
    return exact.detach() + (x - x.detach())


def round_ste(x: Tensor) -> Tensor:
    return _sg(x, torch.round(x))


def _spike_ste(exact: Tensor, v: Tensor, thr: Tensor) -> Tensor:
    u = (v - thr) / thr
    f = u / (1 + _SURROGATE_K * u.abs())
    return exact + (f - f.detach())


class _QATLayer(nn.Module):
    """Shadow parameters of one layer (float units) and the fixed integer representation."""

    def __init__(self, fl: FloatLayer, spiking: bool, delay: int) -> None:
        super().__init__()
        if fl.rec_weight is not None:
            raise ValueError(f"layer {fl.name}: QAT takes feed-forward layers; train the "
                             "recurrent network in float and deploy it by PTQ (quantize)")
        self.name, self.spiking, self.delay = fl.name, spiking, delay
        self.weight = nn.Parameter(fl.weight.clone())
        self.bias_v = nn.Parameter(fl.bias_v.clone())
        theta = fl.theta if fl.theta is not None else torch.ones_like(fl.bias_v)
        self.theta = nn.Parameter(theta.clone(), requires_grad=spiking)

    def lsb(self) -> list[Tensor]:
        """One integer step of (weight, bias_v, theta), in float units (for in-loop rules)."""
        raise NotImplementedError


class LoihiQATLayer(_QATLayer):
    """Loihi 2 (Lava bit-accurate CUBA LIF); see :mod:`.loihi` for the arithmetic."""

    def __init__(self, fl: FloatLayer, il: LoihiLayer) -> None:
        super().__init__(fl, il.spiking, il.delay)
        self.weight_exp, self.scale = il.weight_exp, il.scale
        self.q = 2.0 ** (il.weight_exp + 7) / il.scale
        self.register_buffer("du", il.du.to(F64))
        self.register_buffer("dv", il.dv.to(F64))

    def integer_params(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(2 W_int, bias_mant << bias_exp, vth << 6)`` as float64 with STE gradients."""
        w = 2 * round_ste(self.weight / self.q).clamp(-128, 127)
        b_units = round_ste(self.bias_v * self.scale)
        mant, exp = _bias(b_units.detach())
        bias = _sg(b_units, (mant * 2 ** exp).to(F64))
        if not self.spiking:
            return w, bias, torch.full_like(bias, float(((1 << 17) - 1) << 6))
        vth = round_ste(self.theta * self.scale / 64).clamp(1, (1 << 17) - 1)
        return w, bias, 64 * vth

    def step(self, params: tuple[Tensor, Tensor, Tensor], s: Tensor,
             state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        w, bias, thr = params
        u, v = state
        acc = s @ w.T
        e = self.weight_exp
        a = acc * 2.0 ** e if e >= 0 else _sg(acc / 2.0 ** -e, torch.floor(acc / 2.0 ** -e))
        u_in = u * (4096 - (self.du + 1)) / 4096
        u = _sg(u_in, torch.trunc(u_in)) + a * 64
        u = u - (u > _UV).to(F64).detach() * 2 * _UV
        u = u + (u <= -_UV).to(F64).detach() * 2 * _UV
        v_in = v * (4096 - self.dv) / 4096
        v = (_sg(v_in, torch.trunc(v_in)) + u + bias).clamp(-_UV + 1, _UV - 1)
        if not self.spiking:
            return v, (u, v)
        s_out = _spike_ste((v > thr).to(F64), v, thr)
        return s_out, (u, v * (1 - s_out.detach()))

    def to_integer(self) -> LoihiLayer:
        with torch.no_grad():
            w, bias, thr = self.integer_params()
            mant, exp = _bias(torch.round(self.bias_v * self.scale))
        return LoihiLayer((w).to(torch.int64), None, self.weight_exp, self.du.to(torch.int64),
                          self.dv.to(torch.int64), mant, exp, (thr / 64).to(torch.int64),
                          self.spiking, self.scale, self.delay)

    def lsb(self) -> list[Tensor]:
        return [torch.full_like(self.weight, self.q), torch.full_like(self.bias_v, 1 / self.scale),
                torch.full_like(self.theta, 64 / self.scale)]


class XyloQATLayer(_QATLayer):
    """Xylo (xylosim arithmetic); see :mod:`.xylo`."""

    def __init__(self, fl: FloatLayer, il: XyloLayer) -> None:
        super().__init__(fl, il.spiking, il.delay)
        self.scale, self.shift, self.max_spikes = il.scale, il.weight_shift, il.max_spikes
        a_x = 1 - 2.0 ** (-il.dash_syn.to(F64))
        self.register_buffer("charge", ((1 - a_x) / (a_x * (1 - fl.a_syn)))[:, None])
        self.register_buffer("dash_syn", il.dash_syn.to(F64))
        self.register_buffer("dash_mem", il.dash_mem.to(F64))

    def integer_params(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(W_int, bias, threshold)`` as float64 with STE gradients."""
        w = round_ste(self.weight * self.charge * self.scale / 2 ** self.shift).clamp(-128, 127)
        bias = round_ste(self.bias_v * self.scale).clamp(-32768, 32767)
        if not self.spiking:
            return w, bias, torch.full_like(bias, 32767.0)
        return w, bias, round_ste(self.theta * self.scale).clamp(1, 32767)

    @staticmethod
    def _decay(x: Tensor, dash: Tensor) -> Tensor:
        dec_f = x / 2 ** dash
        dec = torch.floor(dec_f)
        dec = torch.where((x > 0) & (dec == 0), torch.ones_like(dec), dec)
        return x - _sg(dec_f, dec)

    def step(self, params: tuple[Tensor, Tensor, Tensor], n_in: Tensor,
             state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        w, bias, thr = params
        i, v = state
        i = self._decay((i + (n_in @ w.T) * 2 ** self.shift).clamp(-32768, 32767), self.dash_syn)
        v = (self._decay(v, self.dash_mem) + i + bias).clamp(-32768, 32767)
        exact = torch.where(v >= thr, torch.clamp(torch.floor(v / thr), max=self.max_spikes),
                            torch.zeros_like(v)).detach()
        n = _spike_ste(exact, v, thr)
        v = v - exact * thr
        return (n if self.spiking else v), (i, v)

    def to_integer(self) -> XyloLayer:
        with torch.no_grad():
            w, bias, thr = (t.to(torch.int64) for t in self.integer_params())
        return XyloLayer(w, None, self.shift, self.dash_syn.to(torch.int64),
                         self.dash_mem.to(torch.int64), thr, bias, self.spiking, self.scale,
                         self.delay, self.max_spikes)

    def lsb(self) -> list[Tensor]:
        w = (2 ** self.shift / (self.charge * self.scale)).expand_as(self.weight)
        return [w.clone(), torch.full_like(self.bias_v, 1 / self.scale),
                torch.full_like(self.theta, 1 / self.scale)]


_QAT_LAYERS = {"loihi2": (LoihiQATLayer, loihi_step), "xylo": (XyloQATLayer, xylo_step)}


class ChipQAT(nn.Module):
    """A feed-forward spiking network in a chip's integer arithmetic, trainable by STE."""

    def __init__(self, chip: str, layers: list[_QATLayer], template: IntegerNetwork) -> None:
        super().__init__()
        self.chip, self.layers = chip, nn.ModuleList(layers)
        self._template = template

    @classmethod
    def from_network(cls, network: nn.Module, chip: str,
                     calibration: Tensor | None = None) -> ChipQAT:
        """Start from a trained float network and the chip quantiser's integer representation."""
        spec = get_chip(chip)
        if spec.name not in _QAT_LAYERS:
            raise ValueError(f"no QAT model for {spec.full_name}; available: "
                             f"{sorted(_QAT_LAYERS)}")
        if not QUANTIZERS:
            _register()
        fls = float_layers(network)
        if calibration is not None:
            calibrate(network, fls, calibration)
        inet = QUANTIZERS[spec.name](fls, spec)
        kind = _QAT_LAYERS[spec.name][0]
        layers = [kind(fl, il) for fl, il in zip(fls, inet.layers, strict=True)]
        return cls(spec.name, layers, inet)

    def forward(self, x: Tensor) -> Tensor:
        """Readout ``[T, B, C]`` in float units, flushed (see :meth:`IntegerNetwork.run`)."""
        events = x.to(F64)
        if self._template.max_input_events is not None:
            events = events.clamp(max=self._template.max_input_events)
        depth = sum(layer.delay for layer in self.layers)
        events = torch.cat([events, events.new_zeros(depth, *events.shape[1:])])
        T, B = events.shape[:2]
        for layer in self.layers:
            if layer.delay:
                events = torch.cat([events.new_zeros(layer.delay, *events.shape[1:]),
                                    events[:-layer.delay]])
            params = layer.integer_params()
            n = params[0].shape[0]
            state = (events.new_zeros(B, n), events.new_zeros(B, n))
            out = []
            for t in range(T):
                y, state = layer.step(params, events[t], state)
                out.append(y)
            events = torch.stack(out)
        last = self.layers[-1]
        return (events if last.spiking else events / last.scale)[depth:]

    def to_integer(self) -> IntegerNetwork:
        """The bit-accurate integer network with the current integer values."""
        t = self._template
        return IntegerNetwork(t.chip, [layer.to_integer() for layer in self.layers], t.step,
                              t.max_input_events, list(t.notes))

    def lsb(self) -> list[Tensor]:
        """Per parameter (in :meth:`parameters` order of trainable ones) one integer step."""
        out = []
        for layer in self.layers:
            w, b, th = layer.lsb()
            out += [w, b] + ([th] if layer.theta.requires_grad else [])
        return out


__all__ = ["ChipQAT", "LoihiQATLayer", "XyloQATLayer", "round_ste"]
