"""``quantize(network, chip) -> IntegerNetwork``: the network as the chip represents it.

Each dense spiking layer is first reduced to its per-step float dynamics (:class:`FloatLayer`,
computed through :mod:`neuromorph.primitives.discretize`, the one discretisation):

    i[t] = a_syn i[t-1] + W_eff s_in[t]          (CuBa; a_syn = 0 for LIF / IF / LI)
    v[t] = a_mem v[t-1] + i[t] + bias_v          spike when v > theta

with ``W_eff`` the synaptic weights times the input gains (``r dt / tau``, ``w_in dt / tau_syn``)
and ``bias_v`` the constant drive (Affine bias and leak ``v_leak``; for CuBa neurons its
steady-state value, since chips add a bias to the membrane, not to the current). The chip's
quantizer (:data:`QUANTIZERS`) then picks integer weights, shifts, decays and thresholds and
returns an :class:`~neuromorph.hardware_models.chips.integer.IntegerNetwork` whose ``run`` is
the chip's arithmetic, so accuracy after quantisation is measured by running it.

``calibration`` (input spikes ``[T, B, N_in]``) sets the integer range of non-spiking readout
layers from their observed float membranes; without it a bound from the weights is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from neuromorph.hardware_models.chips.catalog import get_chip
from neuromorph.hardware_models.chips.integer import IntegerNetwork
from neuromorph.hardware_models.chips.spec import ChipSpec
from neuromorph.hardware_models.chips.view import LayerView, layer_views
from neuromorph.primitives.discretize import leaky_coefficients, synapse_coefficients
from neuromorph.specs import NeuronSpec

F64 = torch.float64


@dataclass
class FloatLayer:
    """One dense layer's per-step float dynamics (see the module docstring); ``[N]`` tensors."""

    name: str
    kind: str
    weight: Tensor  # W_eff [N, M]
    rec_weight: Tensor | None
    bias_v: Tensor
    a_mem: Tensor
    a_syn: Tensor  # zeros for neurons without a synaptic current
    theta: Tensor | None  # None: non-spiking readout
    reset: str
    v_max: float | None = None  # largest |v| seen on calibration data (readouts)

    @property
    def spiking(self) -> bool:
        return self.theta is not None


def _vec(q: Tensor | float, n: int) -> Tensor:
    return torch.as_tensor(q, dtype=F64).detach().expand(n).clone()


def _param(spec: NeuronSpec, name: str) -> Tensor:
    """Spec parameter ``name`` (a float, or one per neuron) as a float64 tensor."""
    return torch.as_tensor(getattr(spec, name), dtype=F64)


def _coefficients(kind: str, spec: NeuronSpec, dt: float,
                  n: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(a_mem, a_syn, gain, leak_bias)`` per neuron from the neuron's spec and step ``dt``
    (s); ``gain`` maps a synaptic input to the membrane drive (through the synapse for CuBa)."""
    p = partial(_param, spec)
    if kind == "cuba_lif":
        a_s, g_s = synapse_coefficients(p("tau_syn"), dt, spec.method, p("w_in"))
        a_m, g_m, b_m = leaky_coefficients(p("tau_mem"), p("r"), p("v_leak"), dt, spec.method,
                                           name="tau_mem")
        a_syn = _vec(a_s, n)
        # the kernel adds (1 - a_syn) b_mem to the current, i.e. b_mem per step at steady state
        return _vec(a_m, n), a_syn, _vec(g_m * g_s, n), _vec(b_m, n) * (1 - a_syn)
    if kind == "if":
        return _vec(1.0, n), _vec(0.0, n), _vec(p("r") * dt, n), _vec(0.0, n)
    a, g, b = leaky_coefficients(p("tau"), p("r"), p("v_leak"), dt, spec.method)
    return _vec(a, n), _vec(0.0, n), _vec(g, n), _vec(b, n)


def float_layers(network: nn.Module) -> list[FloatLayer]:
    """The per-step float dynamics of every layer of a dense spiking network."""
    out = []
    for v in layer_views(network):
        if v.kind not in ("dense", "recurrent") or v.neuron is None:
            raise ValueError(
                f"layer {v.name} ({v.kind}) cannot be quantized: the integer chip models take "
                "dense or recurrent spiking layers (SpikingLinear / RecurrentSpiking with LIF, "
                "CubaLIF, IF or LI neurons)"
            )
        out.append(_float_layer(v))
    return out


def _float_layer(v: LayerView) -> FloatLayer:
    kind = v.neuron_kind
    if kind not in ("lif", "cuba_lif", "if", "li"):
        raise ValueError(f"layer {v.name}: no integer model for neuron {kind!r}; use lif, "
                         "cuba_lif, if or li")
    n = v.n_out
    if v.channels:
        raise ValueError(f"layer {v.name}: no integer model for a neuron with engine current "
                         "channels; quantize takes dense spiking layers")
    a_mem, a_syn, gain, leak = _coefficients(kind, v.neuron, v.dt, n)
    w = v.weight.to(F64) * gain[:, None]
    rec = None if v.rec_weight is None else v.rec_weight.to(F64) * gain[:, None]
    b = torch.zeros(n, dtype=F64) if v.bias is None else v.bias.to(F64)
    bias_v = (gain * b + leak) / (1 - a_syn)  # CuBa: steady-state drive of the membrane
    spiking = v.neuron.spiking
    theta = _vec(_param(v.neuron, "v_threshold"), n) if spiking else None
    return FloatLayer(v.name, kind, w, rec, bias_v, a_mem, a_syn, theta,
                      v.neuron.options.reset if spiking else "zero")


def calibrate(network: nn.Module, layers: list[FloatLayer], x: Tensor) -> None:
    """Record each non-spiking layer's largest |membrane| on input ``x`` (float model)."""
    from neuromorph.networks.spiking_layers import SpikingSequential

    seq = network.layers if isinstance(network, SpikingSequential) else [network]
    h = x
    with torch.no_grad():
        for layer, fl in zip(seq, layers, strict=True):
            h = layer(h)
            if not fl.spiking:
                fl.v_max = float(h.abs().max())


#: chip name -> quantizer. The one place a chip's integer model is chosen.
QUANTIZERS: dict[str, Callable[[list[FloatLayer], ChipSpec], IntegerNetwork]] = {}


def _register() -> None:
    from neuromorph.hardware_models.chips.loihi import quantize_loihi2
    from neuromorph.hardware_models.chips.xylo import quantize_xylo

    QUANTIZERS.update({"loihi2": quantize_loihi2, "xylo": quantize_xylo})


def quantize(network: nn.Module, chip: str | ChipSpec,
             calibration: Tensor | None = None) -> IntegerNetwork:
    """The integer model of ``network`` on ``chip`` (``"loihi2"`` or ``"xylo"``)."""
    spec = get_chip(chip)
    if not QUANTIZERS:
        _register()
    if spec.name not in QUANTIZERS:
        raise ValueError(f"no integer model for {spec.full_name}; available: "
                         f"{sorted(QUANTIZERS)} (use check() for the constraints)")
    layers = float_layers(network)
    if calibration is not None:
        calibrate(network, layers, calibration)
    return QUANTIZERS[spec.name](layers, spec)


__all__ = ["QUANTIZERS", "FloatLayer", "calibrate", "float_layers", "quantize"]
