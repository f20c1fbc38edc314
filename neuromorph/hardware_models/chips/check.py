"""``check(network, chip) -> list[Violation]``: every way a network does not fit a chip.

``network`` is a dense module, a spec :class:`~neuromorph.specs.Graph` with its weights, or an
event-engine :class:`~neuromorph.sim.Network`: each is read into
:func:`~neuromorph.hardware_models.chips.view.layer_views`, whose neurons are specs. Each rule
of :data:`RULES` reads those views (spec fields: ``tau`` s, ``method``, ``options.reset``,
``v_threshold``, ``refractory``, ``shape``; weights; the step ``dt``) and the chip's
:class:`~neuromorph.hardware_models.chips.spec.ChipSpec`, and returns violations that say what
is wrong and what to change. ``"error"``: the network cannot be
mapped as trained; ``"warning"``: it maps, but the chip computes something measurably different
(quantised decays, an approximated neuron model, weights lost below one LSB).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from neuromorph import specs
from neuromorph.hardware_models.chips.catalog import get_chip
from neuromorph.hardware_models.chips.spec import ChipSpec, Violation
from neuromorph.hardware_models.chips.view import LayerView, layer_views
from neuromorph.primitives.discretize import decay

Views = list[LayerView]

#: (chip, neuron kind) -> how the chip approximates a neuron it has no native model for
APPROXIMATIONS: dict[tuple[str, str], str] = {
    ("xylo", "lif"): "Xylo neurons are current-based; a LIF maps to a CuBa-LIF with the fastest "
                     "synapse (dash_syn = 1: tau_syn = 1.44 dt), which spreads each input over "
                     "a few steps",
    ("xylo", "li"): "read out the membrane (Vmem) of a non-spiking Xylo output neuron, which "
                    "also has a synaptic current (dash_syn = 1)",
}


def _neuron_layers(views: Views) -> list[LayerView]:
    return [v for v in views if v.neuron is not None]


def _mapped(views: Views, chip: ChipSpec) -> list[LayerView]:
    """Neuron layers the chip runs natively or approximates (the others are reported once, as
    unsupported neuron types)."""
    return [v for v in _neuron_layers(views) if v.neuron_kind in chip.neuron_types
            or (chip.name, v.neuron_kind or "") in APPROXIMATIONS]


def _neuron_types(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    for v in _neuron_layers(views):
        kind = v.neuron_kind
        if kind in chip.neuron_types:
            continue
        approx = APPROXIMATIONS.get((chip.name, kind or ""))
        if approx:
            out.append(Violation("neuron_type", v.name, f"{kind} is not native on "
                                 f"{chip.full_name}: {approx}", "train with "
                                 f"neuron={chip.neuron_types[0]!r} to match exactly", "warning"))
            continue
        supported = ", ".join(chip.neuron_types) or "none (no LIF dynamics)"
        fix = ("convert to a quantized ANN with BrainChip's cnn2snn" if not chip.neuron_types
               else f"use one of: {supported}")
        out.append(Violation("neuron_type", v.name, f"neuron {kind!r} is not supported by "
                             f"{chip.full_name} (supports: {supported})", fix))
    return out


def _resets(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    for v in _neuron_layers(views):
        if not v.neuron.spiking or not chip.reset_types:
            continue
        options = v.neuron.options
        reset = options.reset
        if reset not in chip.reset_types:
            out.append(Violation("reset", v.name, f"reset={reset!r} is not available; "
                                 f"{chip.full_name} resets by {'/'.join(chip.reset_types)}",
                                 f"retrain with reset={chip.reset_types[0]!r} (quantize() "
                                 "simulates the chip's reset, so the accuracy cost is measured)"))
        if options.reset_delay:
            out.append(Violation("reset_delay", v.name, "the delayed (snnTorch-style) reset "
                                 "has no hardware equivalent; chips reset in the spike's step",
                                 "retrain with reset_delay=False"))
    return out


def _capacity(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    layers = _neuron_layers(views)
    if not layers:
        return out
    if chip.max_outputs is not None:  # a separate output population (Xylo)
        hidden, last = layers[:-1], layers[-1]
        if last.n_out > chip.max_outputs:
            out.append(Violation("outputs", last.name, f"{last.n_out} output neurons > "
                                 f"{chip.max_outputs}", f"use at most {chip.max_outputs} "
                                 "outputs (e.g. group classes, or read out hidden neurons)"))
    else:
        hidden = layers
    total = sum(v.n_out for v in hidden)
    if chip.max_neurons is not None and total > chip.max_neurons:
        out.append(Violation("neurons", "network", f"{total} neurons > {chip.max_neurons}",
                             f"remove {total - chip.max_neurons} neurons (narrower layers)"))
    if chip.neurons_per_core and chip.cores:
        cores = sum(math.ceil(v.n_out / chip.neurons_per_core) for v in layers)
        if chip.name == "speck":
            cores = len([v for v in layers])  # one layer per core
        if cores > chip.cores:
            out.append(Violation("cores", "network", f"needs {cores} cores > {chip.cores}",
                                 "use fewer or smaller layers"))
    syn = sum(v.synapses for v in views)
    if chip.max_synapses is not None and syn > chip.max_synapses:
        out.append(Violation("synapses", "network", f"{syn} synapses > {chip.max_synapses}",
                             "prune weights or narrow the layers"))
    if chip.synapses_per_core:
        for v in views:
            if v.synapses > chip.synapses_per_core:
                out.append(Violation("synapses_per_core", v.name, f"{v.synapses} weights > "
                                     f"{chip.synapses_per_core} per core", "split or shrink it"))
    first = next((v for v in views if v.synapses), None)
    if chip.max_inputs is not None and first is not None and first.n_in > chip.max_inputs:
        out.append(Violation("inputs", first.name, f"{first.n_in} input channels > "
                             f"{chip.max_inputs}", f"reduce the input to {chip.max_inputs} "
                             "channels (e.g. pool or select features)"))
    return out


def _fan(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    for v in views:
        if chip.max_fan_in is not None and v.fan_in > chip.max_fan_in:
            out.append(Violation("fan_in", v.name, f"fan-in {v.fan_in} > {chip.max_fan_in}",
                                 "prune each neuron's inputs or split the layer"))
        # chip inputs are not fan-out limited
        hidden_source = not v.from_input or v.kind == "recurrent"
        if chip.max_fan_out is not None and hidden_source and chip.name != "speck" \
                and v.fan_out > chip.max_fan_out:
            out.append(Violation("fan_out", v.name, f"a presynaptic neuron reaches {v.fan_out} "
                                 f"targets > {chip.max_fan_out}", "prune outgoing weights "
                                 f"to at most {chip.max_fan_out} per neuron"))
    return out


def _topology(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    for v in views:
        if v.kind == "conv" and not chip.conv:
            out.append(Violation("conv", v.name, f"{chip.full_name} has no convolution",
                                 "replace it by a dense layer (unrolled weights)"))
        if v.kind == "recurrent" and not chip.recurrent:
            out.append(Violation("recurrent", v.name, f"{chip.full_name} has no recurrent "
                                 "connections", "use a feed-forward layer"))
        if v.kind == "delay":
            out.append(Violation("delay", v.name, "synaptic delays are not modelled for "
                                 f"{chip.full_name}", "remove the Delay layer", "warning"))
        conv = v.synapse if isinstance(v.synapse, specs.Conv) else None
        if conv is not None and chip.max_kernel and max(conv.kernel_size) > chip.max_kernel:
            out.append(Violation("kernel", v.name, f"kernel {conv.kernel_size} > "
                                 f"{chip.max_kernel}", f"use kernels <= {chip.max_kernel}"))
        if chip.max_channels and v.out_shape and v.kind == "conv" \
                and v.out_shape[0] > chip.max_channels:
            out.append(Violation("channels", v.name, f"{v.out_shape[0]} channels > "
                                 f"{chip.max_channels}", "use fewer feature maps"))
    return out


def _weights(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    if chip.weight_bits is None:
        return out
    for v in views:
        w = v.weight
        if w is None or w.numel() == 0:
            continue
        w = w.detach().abs()
        lsb = float(w.max()) / (2 ** (chip.weight_bits - 1) - 1)
        lost = float(((w < lsb / 2) & (w > 0)).float().mean())
        if lost > 0.25:
            out.append(Violation("weight_precision", v.name, f"{100 * lost:.0f}% of the weights "
                                 f"round to 0 at {chip.weight_bits} bits", "train with weight "
                                 "quantization (or a weight-magnitude regulariser)", "warning"))
    return out


def _decays(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    for v in _mapped(views, chip):
        for name, tau in v.time_constants():
            a = torch.as_tensor(decay(tau, v.dt, v.neuron.method), dtype=torch.float64)
            if chip.decay == "bitshift":
                d = torch.clamp(torch.round(-torch.log2(1 - a)), 1, 15)
                a_hw = 1 - 2.0 ** (-d)
            elif chip.decay == "mult12":
                a_hw = 1 - torch.clamp(torch.round(4096 * (1 - a)), 0, 4096) / 4096
            elif chip.decay == "none":
                out.append(Violation("decay", v.name, f"{name} leak cannot be represented "
                                     f"(no membrane decay on {chip.full_name})",
                                     "use neuron='if'"))
                break
            else:
                continue
            err = float(((1 - a_hw) / (1 - a) - 1).abs().max())
            if err > 0.1:
                grid = "a power of 2" if chip.decay == "bitshift" else "a multiple of 1/4096"
                out.append(Violation("decay", v.name, f"{name}: the chip's nearest decay "
                                     f"changes the leak rate by {100 * err:.0f}%",
                                     f"choose {name} so that 1 - decay is {grid}", "warning"))
    return out


def _refractory(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    for v in _mapped(views, chip):
        t_ref = getattr(v.neuron, "refractory", 0.0)
        if t_ref > 0 and not chip.refractory:
            steps = f" ({t_ref / v.dt:.3g} steps)" if v.dt else ""
            out.append(Violation("refractory", v.name, f"a refractory period of "
                                 f"{1e3 * t_ref:.3g} ms{steps} has no equivalent on "
                                 f"{chip.full_name}: its neurons integrate again in the step "
                                 "after a spike", "set refractory=0 and re-tune the network, "
                                 "or deploy on a chip with refractory neurons (loihi2)"))
    return out


def _synaptic_currents(views: Views, chip: ChipSpec) -> list[Violation]:
    out = []
    if chip.synaptic_currents is None:
        return out
    for v in _mapped(views, chip):
        taus = sorted({float(t) for k, tau in v.time_constants() if k.startswith("tau_syn")
                       for t in tau.flatten().unique()})
        if len(taus) > chip.synaptic_currents:
            listed = ", ".join(f"{1e3 * t:.3g}" for t in taus)
            out.append(Violation("synaptic_currents", v.name, f"{len(taus)} synaptic currents "
                                 f"(tau_syn = {listed} ms) > {chip.synaptic_currents} per neuron "
                                 f"on {chip.full_name}", "give the channels one time constant "
                                 "(they then sum into one current)"))
    return out


#: rule name -> rule. The one place check rules are listed.
RULES: dict[str, Callable[[Views, ChipSpec], list[Violation]]] = {
    "neuron_type": _neuron_types,
    "reset": _resets,
    "capacity": _capacity,
    "fan": _fan,
    "topology": _topology,
    "weights": _weights,
    "decay": _decays,
    "refractory": _refractory,
    "synaptic_currents": _synaptic_currents,
}


def check(network: Any, chip: str | ChipSpec, input_shape: tuple[int, ...] | None = None, *,
          weights: dict[str, dict[str, Any]] | None = None,
          dt: float | None = None) -> list[Violation]:
    """All violations of ``network`` on ``chip`` (errors first); empty when it fits.

    ``network``: a dense module (``input_shape`` when its first layer does not fix it), a spec
    ``Graph`` with ``weights`` (``{node: {"weight": W, "bias": b}}``; ``dt`` in s when its
    metadata records none), or an event-engine ``Network``.
    """
    spec = get_chip(chip)
    views = layer_views(network, input_shape, weights=weights, dt=dt)
    found = [v for rule in RULES.values() for v in rule(views, spec)]
    return sorted(found, key=lambda v: v.severity != "error")


__all__ = ["APPROXIMATIONS", "RULES", "check"]
