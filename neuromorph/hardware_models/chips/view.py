"""A chip-agnostic view of a network: one :class:`LayerView` per synapse + neuron population.

A view is built in one place, :func:`make_view`, from specs and arrays: the population's neuron
spec (:mod:`neuromorph.specs`: ``tau`` s, ``v_threshold`` V, ``options``, ``method``, ``shape``),
its synapse spec (``Affine`` / ``Conv``), its weights, the step ``dt`` (s) and, for the event
engine, the current channels that filter its input (``LI`` specs). :func:`layer_views` reads
three kinds of network into views:

- a dense module (``SpikingSequential`` or one layer): ``module.spec`` of each neuron, the
  weights of its synapse (:mod:`.view_modules`);
- a spec :class:`~neuromorph.specs.Graph` with its ``weights`` (``{node: {"weight": W,
  "bias": b}}``, as :func:`neuromorph.nir.spec_nodes.nir_to_graph` and
  :func:`neuromorph.sim.spec_io.network_spec` give them) (:mod:`.view_graph`);
- an event-engine :class:`~neuromorph.sim.Network`, through
  :func:`~neuromorph.sim.spec_io.network_spec` (:mod:`.view_graph`).

:func:`neuromorph.hardware_models.chips.check` and ``quantize`` read the views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from neuromorph import specs
from neuromorph.networks.neurons import NEURONS
from neuromorph.sim.network import Network

#: neuron spec class -> its neuromorph name (the one neuron registry, read through each
#: module's ``SPEC``); spec classes without a layer name keep their spec kind
NEURON_NAMES: dict[type, str] = {cls.SPEC: name for name, cls in NEURONS.items()}


@dataclass
class LayerView:
    """What one layer asks of a chip (``n_out`` neurons fed by ``n_in`` inputs).

    ``channels``: the engine's current channels feeding the neuron (name -> ``LI`` spec: an
    exponential synaptic current each); a LIF with channels is a current-based LIF.
    ``from_input``: the synapse is fed by the network's input (chip input channels), not by
    another population.
    """

    name: str
    kind: str  # "dense" | "conv" | "recurrent" | "neuron" | "pool" | "flatten" | "delay" | ...
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    neuron: specs.NeuronSpec | None = None
    synapse: specs.Spec | None = None  # Affine / Conv (geometry)
    weight: Tensor | None = None  # dense [out, in] (recurrent: the input weights); conv kernel
    bias: Tensor | None = None
    rec_weight: Tensor | None = None
    dt: float | None = None  # s
    channels: dict[str, specs.LI] = field(default_factory=dict)
    fan_in: int = 0
    fan_out: int = 0
    synapses: int = 0
    delay_steps: int = 0
    from_input: bool = True

    @property
    def n_in(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return math.prod(self.out_shape) if self.neuron is not None else 0

    @property
    def neuron_kind(self) -> str | None:
        """The neuron's name (``"lif"``, ``"cuba_lif"``, ...); a LIF with current channels is a
        ``"cuba_lif"``."""
        if self.neuron is None:
            return None
        name = NEURON_NAMES.get(type(self.neuron), self.neuron.kind)
        return "cuba_lif" if name == "lif" and self.channels else name

    def time_constants(self) -> list[tuple[str, Tensor]]:
        """``(name, tau)`` of the neuron and its channels (s), as float64 tensors."""
        n = self.neuron
        out = [(k, torch.as_tensor(getattr(n, k), dtype=torch.float64))
               for k in ("tau", "tau_mem", "tau_syn") if hasattr(n, k)]
        for k, ch in self.channels.items():
            label = "tau_syn" if len(self.channels) == 1 else f"tau_syn[{k}]"
            out.append((label, torch.as_tensor(ch.tau, dtype=torch.float64)))
        return out


def _nnz_stats(w: Tensor) -> tuple[int, int, int]:
    """``(max fan-in, max fan-out, non-zero count)`` of a dense ``[out, in]`` weight."""
    nz = w.detach() != 0
    if nz.numel() == 0:
        return 0, 0, 0
    return int(nz.sum(1).max()), int(nz.sum(0).max()), int(nz.sum())


def _conv_fans(c: specs.Conv) -> tuple[int, int, int]:
    """``(fan-in, fan-out, weights)`` of a convolution from its geometry."""
    k = math.prod(c.kernel_size)
    fan_in = (c.in_channels // c.groups) * k
    fan_out = c.out_channels // c.groups * math.prod(
        math.ceil(kk / s) for kk, s in zip(c.kernel_size, c.stride, strict=True))
    return fan_in, fan_out, c.out_channels * fan_in


def make_view(name: str, neuron: specs.NeuronSpec | None, synapse: specs.Spec | None, *,
              in_shape: tuple[int, ...], out_shape: tuple[int, ...], dt: float | None = None,
              weight: Tensor | None = None, bias: Tensor | None = None,
              rec_weight: Tensor | None = None, channels: dict[str, specs.LI] | None = None,
              kind: str | None = None, from_input: bool = True,
              delay_steps: int = 0) -> LayerView:
    """The one place a :class:`LayerView` is made: from the neuron spec, the synapse spec and
    the weights (``[out, in]``; conv: the kernel). Fan-in / fan-out / synapse counts come from
    the non-zero weights (dense) or the kernel geometry (conv)."""
    def as_tensor(x: Any) -> Tensor | None:
        return None if x is None else torch.as_tensor(x).detach()

    weight, bias, rec_weight = as_tensor(weight), as_tensor(bias), as_tensor(rec_weight)
    if isinstance(synapse, specs.Conv):
        kind = kind or "conv"
        fan_in, fan_out, count = _conv_fans(synapse)
    elif weight is not None:
        kind = kind or ("recurrent" if rec_weight is not None else "dense")
        full = weight if rec_weight is None else torch.cat([weight, rec_weight.to(weight)], 1)
        fan_in, fan_out, count = _nnz_stats(full)
    else:
        kind = kind or ("neuron" if neuron is not None else "identity")
        fan_in = fan_out = count = 0
    return LayerView(name, kind, tuple(in_shape), tuple(out_shape), neuron, synapse, weight,
                     bias, rec_weight, dt, dict(channels or {}), fan_in, fan_out, count,
                     delay_steps, from_input)


def layer_views(network: Any, input_shape: tuple[int, ...] | None = None, *,
                weights: dict[str, dict[str, Any]] | None = None,
                dt: float | None = None) -> list[LayerView]:
    """One :class:`LayerView` per layer of ``network``, in order from the input.

    ``network``: a dense module (``SpikingSequential`` or one spiking layer; ``input_shape``
    for a first layer that does not fix it, e.g. a convolution), a spec ``Graph`` with its
    ``weights`` (``dt`` (s) when its metadata records none), or an engine ``Network``.
    """
    from neuromorph.hardware_models.chips.view_graph import engine_views, graph_views
    from neuromorph.hardware_models.chips.view_modules import module_views

    if isinstance(network, nn.Module):
        return module_views(network, input_shape)
    if isinstance(network, specs.Graph):
        return graph_views(network, weights, dt)
    if isinstance(network, Network):
        return engine_views(network)
    raise ValueError(f"cannot read a {type(network).__name__} as a network: give a dense module "
                    "(SpikingSequential or a spiking layer), a neuromorph.specs.Graph with "
                    "weights=, or an event-engine neuromorph.sim.Network")


__all__ = ["NEURON_NAMES", "LayerView", "layer_views", "make_view"]
