"""Which surrogate the attacker differentiates through, and a potential-dependent one (PDSG).

A spiking network's forward pass never uses its surrogate: the spike is a Heaviside step of
``u = h - theta`` (pre-reset membrane ``h`` minus threshold). The surrogate only shapes the
gradient, so an attacker may pick any (:func:`use_surrogate` swaps it in every neuron of a
model, for the duration of a ``with`` block; the forward pass is unchanged).

**Potential-dependent surrogate** (:func:`use_potential_dependent_surrogate`), after Lun et al.,
"Towards Effective and Sparse Adversarial Attack on Spiking Neural Networks via Breaking
Invisible Surrogate Gradients" (CVPR 2025, arXiv:2503.03272). A fixed surrogate is blind to
where the victim's potentials actually lie: too narrow and most neurons pass no gradient, too
wide and the gradient is mostly from neurons nowhere near threshold. PDSG ties the surrogate's
width to the potential distribution of each layer. Our formulation (the network has no batch
norm, whose parameters PDSG reads, so the distribution is measured): for spiking layer ``l`` on
the current input, take all pre-spike potentials ``u_l`` (every step, sample, neuron) and their
standard deviation ``sigma_l``; the layer's surrogate is the logistic density centred on the
threshold with that standard deviation,

    g_l(u) = k_l sig(k_l u) (1 - sig(k_l u)),    k_l = pi / (sqrt(3) sigma_l)

(the library's ``"sigmoid"`` surrogate with scale ``k_l``; a logistic of scale ``1/k`` has
variance ``pi^2 / (3 k^2)``). Re-measuring ``sigma_l`` before every gradient makes the
surrogate follow the potentials as the attack moves them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import torch
from torch import Tensor, nn

from neuromorph.networks.neurons import IF, LI, LIF, NeuronBase
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential
from neuromorph.primitives.spike import get_surrogate, resolve_scale

__all__ = [
    "logistic_scale",
    "potential_dependent_scales",
    "pre_spike_potentials",
    "use_potential_dependent_surrogate",
    "use_surrogate",
]


def _neurons(model: nn.Module) -> list[NeuronBase]:
    found = [m for m in model.modules() if isinstance(m, NeuronBase)]
    if not found:
        raise ValueError(f"{type(model).__name__} holds no spiking neuron whose surrogate could "
                         "be set; pass a network built from neuromorph's spiking layers")
    return found


@contextmanager
def _swapped(pairs: list[tuple[NeuronBase, str, float]]) -> Iterator[None]:
    """Give each neuron a copy of its :class:`~neuromorph.specs.SpikeOptions` with another
    surrogate and scale (validated once here); the original options come back afterwards."""
    saved = [(n, n.options) for n, _, _ in pairs]
    try:
        for n, name, scale in pairs:
            n.options = replace(n.options, surrogate=name, scale=scale)
        yield
    finally:
        for n, options in saved:
            n.options = options


@contextmanager
def use_surrogate(model: nn.Module, name: str, scale: float | None = None) -> Iterator[None]:
    """Inside the block every neuron of ``model`` differentiates through surrogate ``name``
    (scale ``scale``, default: the surrogate's own); restored afterwards."""
    key = get_surrogate(name).name
    k = resolve_scale(key, scale)
    with _swapped([(n, key, k) for n in _neurons(model)]):
        yield


def _layers(model: nn.Module) -> list[nn.Module]:
    if isinstance(model, SpikingSequential):
        return list(model.layers)
    return [model]


def _pre_spike(layer: SpikingLinear, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(spikes, u = h - theta)`` of one LIF / IF layer on input ``x [T, B, M]``."""
    n = layer.neuron
    out = layer(x, return_v=True)
    cur = layer.synapse(x)
    alpha, gain, bias, theta = n.kernel_coefficients((cur.shape[2],), cur)
    if n.options.reset_delay:  # the trace is not reset within the step: it is h itself
        h = out.v
    else:  # h[t] = alpha v[t-1] + gain I[t] + bias, v[-1] = 0 (a fresh state)
        v_prev = torch.cat([torch.zeros_like(out.v[:1]), out.v[:-1]])
        h = alpha * v_prev + gain * cur + bias
    return out.spikes, h - theta


def pre_spike_potentials(model: nn.Module, x: Tensor) -> list[Tensor]:
    """``u = h - theta`` ``[T, B, N]`` of every spiking layer of ``model`` on ``x [T, B, M]``.

    Spiking layers are :class:`SpikingLinear` with LIF or IF neurons (fresh state); other
    layers (the leaky-integrator readout) pass their output on and contribute nothing.
    """
    potentials = []
    with torch.no_grad():
        for layer in _layers(model):
            neuron = getattr(layer, "neuron", None)
            if isinstance(layer, SpikingLinear) and isinstance(neuron, (LIF, IF)):
                x, u = _pre_spike(layer, x)
                potentials.append(u)
            elif isinstance(neuron, NeuronBase) and not isinstance(neuron, LI):
                raise ValueError(f"potential-dependent surrogates need SpikingLinear layers "
                                 f"with LIF or IF neurons, got {type(layer).__name__} with "
                                 f"{type(neuron).__name__}")
            else:
                x = layer(x)
    if not potentials:
        raise ValueError("the model has no spiking layer (SpikingLinear with LIF or IF)")
    return potentials


def logistic_scale(sigma: float) -> float:
    """``k = pi / (sqrt(3) sigma)``: the ``"sigmoid"`` surrogate whose derivative is the
    logistic density with standard deviation ``sigma``."""
    if not sigma > 0 or not math.isfinite(sigma):
        raise ValueError(f"the potential spread sigma must be finite and > 0, got {sigma}")
    return math.pi / (math.sqrt(3.0) * sigma)


def potential_dependent_scales(model: nn.Module, x: Tensor) -> list[float]:
    """Per spiking layer, ``k_l = pi / (sqrt(3) std(u_l))`` on input ``x`` (module docstring).

    A layer whose potentials do not vary (``std = 0``) keeps a tiny spread (``1e-6``), i.e. a
    very sharp surrogate, rather than failing.
    """
    return [logistic_scale(max(float(u.std()), 1e-6)) for u in pre_spike_potentials(model, x)]


@contextmanager
def use_potential_dependent_surrogate(model: nn.Module, x: Tensor) -> Iterator[list[float]]:
    """Inside the block, spiking layer ``l`` of ``model`` differentiates through the
    ``"sigmoid"`` surrogate with scale :func:`potential_dependent_scales` measured on ``x``;
    yields the scales. Forward passes are unchanged."""
    scales = potential_dependent_scales(model, x)
    spiking = [layer.neuron for layer in _layers(model)
               if isinstance(getattr(layer, "neuron", None), (LIF, IF))]
    with _swapped([(n, "sigmoid", k) for n, k in zip(spiking, scales, strict=True)]):
        yield scales
