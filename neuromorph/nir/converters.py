"""Specs <-> neuromorph layers, the torch half of NIR import and export.

- Import: NIR node -> ``(spec, weights)`` (:func:`neuromorph.nir.spec_nodes.node_to_spec`) ->
  layer (:func:`spec_module`): neurons through ``Cls.from_spec(spec, dt=ctx.dt)``, synapses and
  shape layers built from their spec and weights.
- Export: layer -> ``(spec, weights)`` (:func:`module_spec`: a neuron's ``.spec``, or the spec of
  a torch / :mod:`neuromorph.nir.layers` layer) -> node
  (:func:`neuromorph.nir.spec_nodes.spec_to_node`).

Layer facts that neither the spec nor NIR holds travel as flat node metadata: ``learnable``
(names of the trained ``nn.Parameter`` s), ``int_args`` (an ``nn.AvgPool2d`` built from ints)
and ``module`` (the container layer, written by :mod:`neuromorph.nir.export`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from neuromorph import specs
from neuromorph.networks.neurons import IF, LI, LIF, CubaLI, CubaLIF, Integrator, NeuronBase
from neuromorph.nir.convention import metadata_get
from neuromorph.nir.layers import Delay, Scale, SumPool2d, Threshold
from neuromorph.nir.spec_codec import Weights, conv_padding
from neuromorph.nir.spec_nodes import spec_to_node
from neuromorph.specs.options import NON_NIR_OPTIONS

Shape = tuple[int, ...]
#: the spike options ``from_nir(...)`` may override for every neuron
OPTION_OVERRIDES = NON_NIR_OPTIONS


@dataclass
class ImportContext:
    """What import needs beyond the node: the step ``dt`` (s) and option overrides."""

    dt: float
    overrides: dict[str, Any] = field(default_factory=dict)


#: neuron spec class -> the layer that runs it
NEURON_MODULES: dict[type, type[NeuronBase]] = {
    cls.SPEC: cls for cls in (LIF, CubaLIF, IF, LI, CubaLI, Integrator)}
#: layer flag -> the parameters it makes learnable (recorded as ``learnable`` on export)
_LEARN: dict[type, dict[str, tuple[str, ...]]] = {
    LIF: {"learn_tau": ("tau",), "learn_threshold": ("v_threshold",)},
    CubaLIF: {"learn_tau": ("tau_syn", "tau_mem"), "learn_threshold": ("v_threshold",)},
    IF: {"learn_threshold": ("v_threshold",)},
    LI: {"learn_tau": ("tau",)},
}


def _tensor(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.array(value), dtype=torch.get_default_dtype())


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


# --------------------------------------------------------------------------- import
def apply_overrides(spec: specs.Spec, overrides: dict[str, Any]) -> specs.Spec:
    """``spec`` with ``from_nir``'s ``method`` / spike-option overrides applied. A new
    surrogate without a new ``scale`` takes that surrogate's default scale."""
    names = {f.name for f in dataclasses.fields(spec)}
    changes: dict[str, Any] = {}
    if "method" in overrides and "method" in names:
        changes["method"] = overrides["method"]
    opts = {k: overrides[k] for k in OPTION_OVERRIDES if k in overrides}
    if opts and "options" in names:
        surrogate = opts.get("surrogate")
        if surrogate is not None and "scale" not in opts and \
                specs.SpikeOptions(surrogate=surrogate).surrogate != spec.options.surrogate:
            opts["scale"] = None  # the recorded scale belongs to the recorded surrogate
        changes["options"] = dataclasses.replace(spec.options, **opts)
    return spec.replace(**changes) if changes else spec


def neuron_from_spec(cls: type[NeuronBase], spec: specs.NeuronSpec, dt: float,
                     **kwargs: Any) -> NeuronBase:
    """``cls.from_spec(spec, dt=dt)`` (per-neuron tuples are laid out over ``spec.shape``)."""
    return cls.from_spec(spec, dt=dt, **kwargs)


def _learn_flags(cls: type, node: Any) -> dict[str, bool]:
    learnable = set(str(metadata_get(node.metadata, "learnable", "")).split(","))
    return {flag: bool(learnable & set(names)) for flag, names in _LEARN.get(cls, {}).items()}


def _neuron(spec: specs.NeuronSpec, w: Weights | None, node: Any, ctx: ImportContext) -> nn.Module:
    cls = NEURON_MODULES[type(spec)]
    kwargs: dict[str, Any] = _learn_flags(cls, node)
    if spec.spiking and "backend" in ctx.overrides:
        kwargs["backend"] = ctx.overrides["backend"]
    return neuron_from_spec(cls, spec, ctx.dt, **kwargs)


def _loaded(layer: nn.Linear | nn.Conv1d | nn.Conv2d, w: Weights) -> nn.Module:
    """``layer`` with its weight (and bias, if it has one) copied from ``w``."""
    with torch.no_grad():
        layer.weight.copy_(_tensor(w["weight"]))
        if layer.bias is not None:
            layer.bias.copy_(_tensor(w["bias"]))
    return layer


def _affine(spec: specs.Affine, w: Weights, node: Any, ctx: ImportContext) -> nn.Module:
    return _loaded(nn.Linear(spec.in_features, spec.out_features, bias=spec.bias), w)


def _conv(spec: specs.Conv, w: Weights, node: Any, ctx: ImportContext) -> nn.Module:
    cls = nn.Conv1d if spec.nd == 1 else nn.Conv2d
    return _loaded(cls(spec.in_channels, spec.out_channels, spec.kernel_size, stride=spec.stride,
                       padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
                       bias=spec.bias), w)


def _flatten(spec: specs.Flatten, w: None, node: Any, ctx: ImportContext) -> nn.Module:
    start, end = spec.start_dim, spec.end_dim  # NIR / spec dims exclude the batch axis
    return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)


def _pool(spec: specs.Pool2d, w: None, node: Any, ctx: ImportContext) -> nn.Module:
    if spec.mode == "sum":
        return SumPool2d(spec.kernel_size, spec.stride, spec.padding)
    args = {"kernel_size": spec.kernel_size, "stride": spec.stride, "padding": spec.padding}
    if metadata_get(node.metadata, "int_args", 0):  # nn.AvgPool2d(2) was built from ints
        args = {k: v[0] for k, v in args.items()}
    return nn.AvgPool2d(**args)


def _laid_out(value: specs.Param, node: Any, fld: str) -> torch.Tensor:
    """A per-feature parameter as a tensor of the node array's shape (a float stays 0-d)."""
    if isinstance(value, tuple):
        return _tensor(value).reshape(np.shape(getattr(node, fld)))
    return _tensor(value)


def _scale(spec: specs.Scale, w: None, node: Any, ctx: ImportContext) -> nn.Module:
    return Scale(_laid_out(spec.scale, node, "scale"))


def _threshold(spec: specs.Threshold, w: None, node: Any, ctx: ImportContext) -> nn.Module:
    return Threshold(_laid_out(spec.threshold, node, "threshold"),
                     surrogate=spec.options.surrogate, scale=spec.options.scale)


def _delay(spec: specs.Delay, w: None, node: Any, ctx: ImportContext) -> nn.Module:
    return Delay(_laid_out(spec.delay, node, "delay"), dt=ctx.dt)


_BUILDERS: dict[type, Callable[..., nn.Module]] = {
    **{cls: _neuron for cls in NEURON_MODULES}, specs.Affine: _affine, specs.Conv: _conv,
    specs.Flatten: _flatten, specs.Pool2d: _pool, specs.Scale: _scale,
    specs.Threshold: _threshold, specs.Delay: _delay,
}


def spec_module(spec: specs.Spec, weights: Weights | None, node: Any,
                ctx: ImportContext) -> nn.Module | None:
    """The layer for ``spec`` (read from ``node``), with ``ctx``'s step and overrides; ``None``
    for Input / Output (pass-through)."""
    if isinstance(spec, specs.Input | specs.Output):
        return None
    return _BUILDERS[type(spec)](apply_overrides(spec, ctx.overrides), weights, node, ctx)


# --------------------------------------------------------------------------- export
Exported = tuple[specs.Spec, Weights | None, dict[str, Any]]


def _param(t: torch.Tensor, shape: Shape) -> specs.Param:
    """A per-feature buffer as a spec parameter over the feature ``shape`` (0-d: one float)."""
    if t.dim() == 0:
        return float(t)
    return tuple(np.broadcast_to(_numpy(t), shape).reshape(-1).tolist())


def _weights(m: nn.Linear | nn.Conv1d | nn.Conv2d) -> Weights:
    w = {"weight": _numpy(m.weight)}
    if m.bias is not None:
        w["bias"] = _numpy(m.bias)
    return w


def _linear_spec(m: nn.Linear, shape: Shape) -> Exported:
    spec = specs.Affine(m.in_features, m.out_features, bias=m.bias is not None)
    return spec, _weights(m), {"module": "Linear"}


def _conv_spec(m: nn.Conv1d | nn.Conv2d, shape: Shape) -> Exported:
    if m.padding_mode != "zeros":
        raise ValueError(f"padding_mode={m.padding_mode!r} has no NIR equivalent; use 'zeros'")
    padding = conv_padding(m.padding, m.kernel_size, m.dilation, m.stride)
    spec = specs.Conv(m.in_channels, m.out_channels, m.kernel_size, m.stride, padding,
                      m.dilation, m.groups, bias=m.bias is not None)
    return spec, _weights(m), {}


def _flatten_spec(m: nn.Flatten, shape: Shape) -> Exported:
    if m.start_dim == 0 or m.end_dim == 0:
        raise ValueError("a Flatten over the batch axis has no NIR equivalent; use start_dim >= 1")
    start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
    end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
    return specs.Flatten(start, end), None, {}


def _sumpool_spec(m: SumPool2d, shape: Shape) -> Exported:
    return specs.Pool2d(m.kernel_size, m.stride, m.padding, mode="sum"), None, {}


def _avgpool_spec(m: nn.AvgPool2d, shape: Shape) -> Exported:
    if m.ceil_mode or not m.count_include_pad or m.divisor_override is not None:
        raise ValueError("AvgPool2d with ceil_mode, count_include_pad=False or divisor_override "
                         "has no NIR equivalent")
    stride = m.stride if m.stride is not None else m.kernel_size
    ints = all(isinstance(v, int) for v in (m.kernel_size, stride, m.padding))
    spec = specs.Pool2d(m.kernel_size, stride, m.padding, mode="avg")
    return spec, None, {"int_args": int(ints)}


def _scale_spec(m: Scale, shape: Shape) -> Exported:
    return specs.Scale(_param(m.scale, shape)), None, {}


def _threshold_spec(m: Threshold, shape: Shape) -> Exported:
    options = specs.SpikeOptions(surrogate=m.surrogate, scale=m.slope)
    return specs.Threshold(_param(m.threshold, shape), options=options), None, {}


def _delay_spec(m: Delay, shape: Shape) -> Exported:
    return specs.Delay(_param(m.delay, shape)), None, {}


_EXPORTERS: dict[type, Callable[[Any, Shape], Exported]] = {
    nn.Linear: _linear_spec, nn.Conv1d: _conv_spec, nn.Conv2d: _conv_spec,
    nn.Flatten: _flatten_spec, SumPool2d: _sumpool_spec, nn.AvgPool2d: _avgpool_spec,
    Scale: _scale_spec, Threshold: _threshold_spec, Delay: _delay_spec,
}


def exportable_layers() -> list[str]:
    """The layer class names :func:`module_spec` handles."""
    return sorted({c.__name__ for c in _EXPORTERS} | {c.__name__ for c in NEURON_MODULES.values()})


def module_spec(module: nn.Module, shape: Shape) -> Exported | None:
    """``(spec, weights, layer metadata)`` of a single layer with input features ``shape``;
    ``None`` when the layer has no spec (the caller says which layers do)."""
    if isinstance(module, NeuronBase) and type(module).SPEC is not None:
        learnable = [n for n, _ in module.named_parameters(recurse=False)]
        return module.spec, None, ({"learnable": ",".join(learnable)} if learnable else {})
    fn = _EXPORTERS.get(type(module))
    return None if fn is None else fn(module, shape)


def _array_dtype(module: nn.Module) -> np.dtype:
    """The numpy dtype of the layer's floating tensors (NIR arrays are written in it)."""
    for t in (*module.parameters(recurse=False), *module.buffers(recurse=False)):
        if t.is_floating_point():
            return np.dtype(str(t.dtype).removeprefix("torch."))
    return np.dtype(str(torch.get_default_dtype()).removeprefix("torch."))


def module_node(module: nn.Module, shape: Shape) -> Any | None:
    """The NIR node of a single layer (``None`` if it has no spec)."""
    exported = module_spec(module, shape)
    if exported is None:
        return None
    spec, weights, extras = exported
    node = spec_to_node(spec, weights, shape=shape, dtype=_array_dtype(module))
    node.metadata.update(extras)
    return node


__all__ = ["NEURON_MODULES", "OPTION_OVERRIDES", "ImportContext", "apply_overrides",
           "exportable_layers", "module_node", "module_spec", "neuron_from_spec", "spec_module"]
