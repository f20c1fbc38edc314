"""A trained dense spiking network runs event-driven in the engine.

:func:`network_from_dense` maps a :class:`~neuromorph.networks.spiking_layers.SpikingSequential`
of :class:`~neuromorph.networks.spiking_layers.SpikingLinear` LIF layers (``method="exact"``,
``reset="zero"``, ``reset_delay=False``) onto engine :class:`~neuromorph.sim.LIFGroup`\\ s
``layer0, layer1, ...`` joined by delta projections ``W0, W1, ...`` onto ``v``.

Dense layer (step ``dt``; ``a = exp(-dt / tau)``, ``g = r (1 - a)``; ``s`` the layer's input
spikes, ``W`` (A per spike) and ``b`` (A) its ``nn.Linear``)::

    h[t] = a v[t-1] + g (W s[t] + b) + (1 - a) v_leak,   spike if h[t] > v_threshold,
    v[t] = v_reset where it spiked, else h[t]

Engine (Brian2's schedule: update, threshold, synapses, reset): a spike of step ``t`` is
delivered in the synapses slot, after that step's threshold. Delivered straight onto ``v`` it
would be overwritten when the neuron resets in that same step, where the dense layer keeps it
(it resets first, then adds the next step's input). So each group gets one current channel
``syn`` with ``tau_syn = dt / 1000``: its one-step decay ``exp(-1000)`` is exactly 0 in float32
and float64, so the channel hands its whole value to ``v`` in the next update and is empty
after it (a delta synapse that outlives the reset), with ``scale = 1 / P`` (``P`` the channel's
one-step gain onto ``v``, :func:`~neuromorph.sim.propagators.exp_kernel_gain`) and the synapse
weight ``w = g W`` (V). The next update is then ``v <- a v + g W s + (1 - a)(v_rest + r_m I)``,
and the bias is the constant injected current ``I = b`` (A) with ``r_m = r``,
``v_rest = v_leak``: ``(1 - a) r_m I = g b``. Each layer lags its dense twin by one step: the
spikes of layer ``L`` (counted from 1) at engine step ``t + L`` are the dense ones of step ``t``.
The engine's step 0 stands for the dense step -1 (``v = 0``), so every group starts from the
``v`` whose first update gives 0. In float64 the trains agree spike for spike (the products
``g W`` and the sums are rounded in another order than the dense kernel's, which could split
an exact threshold tie; none was seen in the tests).
Per-neuron parameters, learnable ``tau`` values that differ
between neurons, and other neurons or resets are refused by name.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neuromorph.networks.neurons import LIF
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential
from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.groups import LIFGroup, SpikeSource
from neuromorph.sim.network import Network
from neuromorph.sim.propagators import exp_kernel_gain
from neuromorph.specs import Channel

#: the channel's time constant is dt / this: its one-step decay exp(-1000) is exactly 0
SYN_TAU_DIVISOR = 1000.0


class NotConvertibleError(ValueError):
    """A dense layer the engine cannot run as LIF groups; the message says which and why."""


def _scalar(value: Any, name: str, layer: int) -> float:
    t = torch.as_tensor(value, dtype=torch.float64).detach().flatten()
    if t.numel() > 1 and not bool((t == t[0]).all()):
        raise NotConvertibleError(f"layer {layer}: {name} varies per neuron; an engine group has "
                                  "one value per group (split the layer)")
    return float(t[0])


def _lif_layer(layer: nn.Module, k: int) -> tuple[nn.Linear, LIF]:
    if not isinstance(layer, SpikingLinear) or type(layer.neuron) is not LIF:
        what = type(getattr(layer, "neuron", layer)).__name__
        raise NotConvertibleError(f"layer {k} is a {what}; only SpikingLinear layers of LIF "
                                  "neurons run in the engine")
    n, o = layer.neuron, layer.neuron.options
    if n.method != "exact" or o.reset != "zero" or o.reset_delay:
        raise NotConvertibleError(
            f"layer {k}: the engine integrates exactly and resets to v_reset in the spike's "
            f"step; this layer has method={n.method!r}, reset={o.reset!r}, "
            f"reset_delay={o.reset_delay}; build it with method='exact', reset='zero'")
    return layer.synapse, n


def network_from_dense(model: SpikingSequential | SpikingLinear, source: SpikeSource,
                       **network_kwargs: Any) -> Network:
    """The engine network running ``model`` (see the module docstring) driven by ``source``
    (a :class:`~neuromorph.sim.SpikeGeneratorGroup` or :class:`~neuromorph.sim.PoissonGroup`
    of ``in_features`` neurons, added first), with the layers' step ``dt``;
    ``network_kwargs`` go to :class:`Network` (dtype, seed, device...). Groups are named
    ``layer0, layer1, ...``, projections ``W0, W1, ...``."""
    layers = list(model.layers) if isinstance(model, SpikingSequential) else [model]
    pairs = [_lif_layer(m, k) for k, m in enumerate(layers)]
    steps = {float(n.dt) for _, n in pairs}
    if len(steps) != 1:
        raise NotConvertibleError(f"the layers run at different steps {sorted(steps)} s")
    dt = steps.pop()
    if source.n != pairs[0][0].in_features:
        raise NotConvertibleError(f"the source has {source.n} neurons, the first layer takes "
                                  f"{pairs[0][0].in_features} inputs")
    net = Network(dt, **network_kwargs)
    prev = net.add(source)
    for k, (lin, n) in enumerate(pairs):
        tau, r = _scalar(n.tau, "tau", k), _scalar(n.r, "r", k)
        a = exact_decay(tau, dt)
        tau_syn = dt / SYN_TAU_DIVISOR
        group = net.add(LIFGroup(
            lin.out_features, tau_m=tau, r_m=r, v_rest=_scalar(n.v_leak, "v_leak", k),
            v_threshold=_scalar(n.v_threshold, "v_threshold", k), v_reset=n.options.v_reset,
            channels={"syn": Channel(tau_syn, scale=1.0 / exp_kernel_gain(tau_syn, tau, dt))},
            name=f"layer{k}"))
        w = lin.weight.detach().double().cpu() * (r * (1.0 - a))  # g W [post, pre], volts
        pre, post = torch.nonzero(w.T, as_tuple=True)  # pre-major (the engine's CSR order)
        net.connect(prev, group, "syn", (pre, post), weight=w[post, pre], name=f"W{k}")
        bias = torch.zeros(lin.out_features, dtype=torch.float64)
        if lin.bias is not None:
            bias = lin.bias.detach().double().cpu()
            group.set("I", bias)  # held over the run: no CurrentInput writes it
        # the engine's step 0 is the dense step -1, where v = 0: start from the v whose first
        # update gives 0, a v + (1 - a)(v_rest + r I) = 0
        group.set("v", -(1.0 - a) * (group.v_rest + r * bias) / a)
        prev = group
    return net


__all__ = ["NotConvertibleError", "network_from_dense"]
