"""Converters between single NIR nodes and neuromorph layers (used by :mod:`.registry`).

``*_in(name, node, ctx)`` builds the layer for a node; ``*_out(module, shape)`` builds the node
for a layer whose per-sample feature shape is ``shape``. Neuron options that NIR has no field for
travel in the node metadata (see :mod:`neuromorph.nir.convention`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from neuromorph.networks.neurons import IF, LI, LIF, CubaLIF
from neuromorph.nir.convention import (
    decode_shape,
    encode_shape,
    metadata_get,
    node_error,
    shrink,
)
from neuromorph.nir.layers import CubaLI, Delay, Integrator, Scale, SumPool2d, Threshold

Shape = tuple[int, ...]

#: neuron options that live in node metadata (NIR has no field for them)
NEURON_OPTIONS = ("method", "reset", "reset_delay", "detach_reset", "surrogate", "scale")


@dataclass
class ImportContext:
    """What import needs beyond the node: the step ``dt`` (s) and option overrides."""

    dt: float
    overrides: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
def _array(name: str, node: Any, fld: str) -> np.ndarray:
    value = getattr(node, fld, None)
    if value is None:
        raise node_error(name, node, f"field {fld!r} is missing")
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.number):
        raise node_error(name, node, f"field {fld!r} must be numeric, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise node_error(name, node, f"field {fld!r} contains NaN or infinity")
    return arr


def _tensor(arr: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.array(arr), dtype=torch.get_default_dtype())


def _params(name: str, node: Any, fields: tuple[str, ...]) -> tuple[Shape | None, dict]:
    """Per-neuron arrays of a neuron node, shrunk back to their exported shapes if recorded."""
    md = node.metadata
    arrays = {f: _array(name, node, f) for f in fields}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise node_error(name, node, f"parameter shapes differ: "
                         f"{ {f: a.shape for f, a in arrays.items()} }; all must be the neuron "
                         "shape")
    node_shape = shapes.pop()
    out = {}
    for f, a in arrays.items():
        recorded = metadata_get(md, f"shape_{f}")
        try:
            out[f] = _tensor(shrink(a, decode_shape(recorded)) if recorded is not None else a)
        except ValueError as err:
            raise node_error(name, node, f"field {f!r}: {err}") from err
    if metadata_get(md, "shape") is not None:
        shape = decode_shape(metadata_get(md, "shape"))
    else:
        shape = node_shape if node_shape else None
    return shape, out


def _scalar(name: str, node: Any, fld: str) -> float:
    arr = _array(name, node, fld)
    if arr.size and not np.all(arr == arr.flat[0]):
        raise node_error(name, node, f"per-neuron {fld} is not supported by neuromorph neurons "
                         f"(values {np.unique(arr)[:4]}); use one value for the population")
    return float(arr.flat[0]) if arr.size else 0.0


def _options(node: Any, ctx: ImportContext, spiking: bool = True) -> dict:
    md = node.metadata
    defaults = {"method": "euler", "reset": "zero", "reset_delay": 0, "detach_reset": 0,
                "surrogate": "fast_sigmoid", "scale": None}
    keys = NEURON_OPTIONS if spiking else ("method",)
    opts = {k: metadata_get(md, k, defaults[k]) for k in keys}
    opts.update({k: v for k, v in ctx.overrides.items() if k in keys})
    for k in ("reset_delay", "detach_reset"):
        if k in opts:
            opts[k] = bool(opts[k])
    if spiking and "scale" not in ctx.overrides \
            and opts.get("surrogate") != metadata_get(md, "surrogate", opts.get("surrogate")):
        opts["scale"] = None  # a recorded scale belongs to the recorded surrogate
    if "backend" in ctx.overrides and spiking:
        opts["backend"] = ctx.overrides["backend"]
    return opts


def _learn(node: Any, *names: str) -> bool:
    learnable = str(metadata_get(node.metadata, "learnable", "")).split(",")
    return any(n in learnable for n in names)


def _neuron_metadata(module: nn.Module, fields: tuple[str, ...], spiking: bool = True) -> dict:
    md: dict[str, Any] = {"shape": encode_shape(module.shape), "method": module.method}
    if spiking:
        md.update(reset=module.reset, reset_delay=int(module.reset_delay),
                  detach_reset=int(module.detach_reset), surrogate=module.surrogate,
                  scale=float(module.scale))
    for f in fields:
        md[f"shape_{f}"] = encode_shape(tuple(getattr(module, f).shape))
    learnable = [n for n, p in module.named_parameters(recurse=False)]
    if learnable:
        md["learnable"] = ",".join(learnable)
    return md


def _broadcast(t: torch.Tensor | float, shape: Shape) -> np.ndarray:
    arr = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return np.broadcast_to(arr, shape).copy()


def _fields(module: nn.Module, fields: tuple[str, ...], shape: Shape) -> dict[str, np.ndarray]:
    return {f: _broadcast(getattr(module, f), shape) for f in fields}


def _v_reset(module: nn.Module, shape: Shape) -> np.ndarray:
    return np.full(shape, module.v_reset, dtype=np.float64)


# --------------------------------------------------------------------------- neurons
def lif_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    shape, p = _params(name, node, ("tau", "r", "v_leak", "v_threshold"))
    return LIF(shape, dt=ctx.dt, **p, v_reset=_scalar(name, node, "v_reset"),
               learn_tau=_learn(node, "tau"), learn_threshold=_learn(node, "v_threshold"),
               **_options(node, ctx))


def lif_out(m: LIF, shape: Shape) -> Any:
    f = ("tau", "r", "v_leak", "v_threshold")
    return nir.LIF(**_fields(m, f, shape), v_reset=_v_reset(m, shape),
                   metadata=_neuron_metadata(m, f))


def cuba_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    shape, p = _params(name, node, ("tau_syn", "tau_mem", "r", "w_in", "v_leak", "v_threshold"))
    return CubaLIF(shape, dt=ctx.dt, **p, v_reset=_scalar(name, node, "v_reset"),
                   learn_tau=_learn(node, "tau_syn", "tau_mem"),
                   learn_threshold=_learn(node, "v_threshold"), **_options(node, ctx))


def cuba_out(m: CubaLIF, shape: Shape) -> Any:
    f = ("tau_syn", "tau_mem", "r", "w_in", "v_leak", "v_threshold")
    return nir.CubaLIF(**_fields(m, f, shape), v_reset=_v_reset(m, shape),
                       metadata=_neuron_metadata(m, f))


def if_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    shape, p = _params(name, node, ("r", "v_threshold"))
    return IF(shape, dt=ctx.dt, **p, v_reset=_scalar(name, node, "v_reset"),
              learn_threshold=_learn(node, "v_threshold"), **_options(node, ctx))


def if_out(m: IF, shape: Shape) -> Any:
    f = ("r", "v_threshold")
    return nir.IF(**_fields(m, f, shape), v_reset=_v_reset(m, shape),
                  metadata=_neuron_metadata(m, f))


def li_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    shape, p = _params(name, node, ("tau", "r", "v_leak"))
    return LI(shape, dt=ctx.dt, **p, learn_tau=_learn(node, "tau"),
              **_options(node, ctx, spiking=False))


def li_out(m: LI, shape: Shape) -> Any:
    f = ("tau", "r", "v_leak")
    return nir.LI(**_fields(m, f, shape), metadata=_neuron_metadata(m, f, spiking=False))


def cubali_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    shape, p = _params(name, node, ("tau_syn", "tau_mem", "r", "v_leak", "w_in"))
    return CubaLI(shape, dt=ctx.dt, **p, **_options(node, ctx, spiking=False))


def cubali_out(m: CubaLI, shape: Shape) -> Any:
    f = ("tau_syn", "tau_mem", "r", "v_leak", "w_in")
    return nir.CubaLI(**_fields(m, f, shape), metadata=_neuron_metadata(m, f, spiking=False))


def i_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    shape, p = _params(name, node, ("r",))
    return Integrator(shape, dt=ctx.dt, **p)


def i_out(m: Integrator, shape: Shape) -> Any:
    return nir.I(r=_broadcast(m.r, shape),
                 metadata={"shape": encode_shape(m.shape),
                           "shape_r": encode_shape(tuple(m.r.shape))})


# --------------------------------------------------------------------------- synapses
def affine_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    w = _array(name, node, "weight")
    if w.ndim != 2:
        raise node_error(name, node, f"weight must be 2-D [out, in], got shape {w.shape}")
    has_bias = isinstance(node, nir.Affine)
    lin = nn.Linear(w.shape[1], w.shape[0], bias=has_bias)
    with torch.no_grad():
        lin.weight.copy_(_tensor(w))
        if has_bias:
            b = _array(name, node, "bias")
            if b.shape != (w.shape[0],):
                raise node_error(name, node, f"bias shape {b.shape} does not match the weight "
                                 f"rows {w.shape[0]}")
            lin.bias.copy_(_tensor(b))
    return lin


def affine_out(m: nn.Linear, shape: Shape) -> Any:
    w = m.weight.detach().cpu().numpy().copy()
    if m.bias is None:
        return nir.Linear(weight=w, metadata={"module": "Linear"})
    return nir.Affine(weight=w, bias=m.bias.detach().cpu().numpy().copy(),
                      metadata={"module": "Linear"})


def _conv_geometry(node: Any, nd: int) -> dict:
    def tup(v: Any) -> Any:
        if isinstance(v, str | bytes):
            return v.decode() if isinstance(v, bytes) else v
        a = np.atleast_1d(np.asarray(v)).astype(int)
        return int(a[0]) if nd == 1 else tuple(int(x) for x in np.broadcast_to(a, (nd,)))
    return dict(stride=tup(node.stride), padding=tup(node.padding), dilation=tup(node.dilation),
                groups=int(np.asarray(node.groups)))


def conv_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    nd = 1 if isinstance(node, nir.Conv1d) else 2
    w = _array(name, node, "weight")
    if w.ndim != nd + 2:
        raise node_error(name, node, f"weight must be [C_out, C_in/groups, *kernel] with "
                         f"{nd + 2} dims, got shape {w.shape}")
    geo = _conv_geometry(node, nd)
    bias = _array(name, node, "bias")
    has_bias = bool(metadata_get(node.metadata, "bias", 1)) or bool(np.any(bias != 0))
    cls = nn.Conv1d if nd == 1 else nn.Conv2d
    conv = cls(w.shape[1] * geo["groups"], w.shape[0], w.shape[2:], bias=has_bias, **geo)
    with torch.no_grad():
        conv.weight.copy_(_tensor(w))
        if has_bias:
            conv.bias.copy_(_tensor(bias))
    return conv


def conv_out(m: nn.Conv1d | nn.Conv2d, shape: Shape) -> Any:
    if m.padding_mode != "zeros":
        raise ValueError(f"padding_mode={m.padding_mode!r} has no NIR equivalent; use 'zeros'")
    w = m.weight.detach().cpu().numpy().copy()
    b = (m.bias.detach().cpu().numpy().copy() if m.bias is not None
         else np.zeros(w.shape[0], dtype=w.dtype))
    md = {"bias": int(m.bias is not None)}
    if isinstance(m, nn.Conv1d):
        return nir.Conv1d(input_shape=int(shape[-1]), weight=w, stride=int(m.stride[0]),
                          padding=m.padding if isinstance(m.padding, str) else int(m.padding[0]),
                          dilation=int(m.dilation[0]), groups=m.groups, bias=b, metadata=md)
    return nir.Conv2d(input_shape=tuple(int(s) for s in shape[-2:]), weight=w, stride=m.stride,
                      padding=m.padding, dilation=m.dilation, groups=m.groups, bias=b,
                      metadata=md)


def scale_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    arr = _array(name, node, "scale")
    rec = metadata_get(node.metadata, "shape_scale")
    return Scale(_tensor(shrink(arr, decode_shape(rec)) if rec is not None else arr))


def scale_out(m: Scale, shape: Shape) -> Any:
    return nir.Scale(scale=_broadcast(m.scale, shape),
                     metadata={"shape_scale": encode_shape(tuple(m.scale.shape))})


def threshold_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    arr = _array(name, node, "threshold")
    rec = metadata_get(node.metadata, "shape_threshold")
    opts = _options(node, ctx)
    return Threshold(_tensor(shrink(arr, decode_shape(rec)) if rec is not None else arr),
                     surrogate=opts["surrogate"], scale=opts["scale"])


def threshold_out(m: Threshold, shape: Shape) -> Any:
    return nir.Threshold(threshold=_broadcast(m.threshold, shape),
                         metadata={"shape_threshold": encode_shape(tuple(m.threshold.shape)),
                                   "surrogate": m.surrogate, "scale": float(m.slope)})


def delay_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    arr = _array(name, node, "delay")
    rec = metadata_get(node.metadata, "shape_delay")
    try:
        return Delay(_tensor(shrink(arr, decode_shape(rec)) if rec is not None else arr),
                     dt=ctx.dt)
    except ValueError as err:
        raise node_error(name, node, str(err)) from err


def delay_out(m: Delay, shape: Shape) -> Any:
    return nir.Delay(delay=_broadcast(m.delay, shape),
                     metadata={"shape_delay": encode_shape(tuple(m.delay.shape))})


def flatten_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    start, end = int(node.start_dim), int(node.end_dim)
    return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)


def flatten_out(m: nn.Flatten, shape: Shape) -> Any:
    if m.start_dim == 0 or m.end_dim == 0:
        raise ValueError("a Flatten over the batch axis has no NIR equivalent; use start_dim >= 1")
    start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
    end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end)


def _pool_arrays(node: Any) -> dict:
    return {k: tuple(int(v) for v in np.broadcast_to(np.asarray(getattr(node, k)), (2,)))
            for k in ("kernel_size", "stride", "padding")}


def avgpool_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    args = _pool_arrays(node)
    if metadata_get(node.metadata, "int_args", 0):  # nn.AvgPool2d(2) was built from ints
        args = {k: v[0] for k, v in args.items()}
    return nn.AvgPool2d(**args)


def avgpool_out(m: nn.AvgPool2d, shape: Shape) -> Any:
    if m.ceil_mode or not m.count_include_pad or m.divisor_override is not None:
        raise ValueError("AvgPool2d with ceil_mode, count_include_pad=False or divisor_override "
                         "has no NIR equivalent")
    pair = lambda v: np.array(v if isinstance(v, tuple) else (v, v))  # noqa: E731
    stride = m.stride if m.stride is not None else m.kernel_size
    ints = all(isinstance(v, int) for v in (m.kernel_size, stride, m.padding))
    return nir.AvgPool2d(kernel_size=pair(m.kernel_size), stride=pair(stride),
                         padding=pair(m.padding), metadata={"int_args": int(ints)})


def sumpool_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    return SumPool2d(**_pool_arrays(node))


def sumpool_out(m: SumPool2d, shape: Shape) -> Any:
    return nir.SumPool2d(kernel_size=np.array(m.kernel_size), stride=np.array(m.stride),
                         padding=np.array(m.padding))


def io_in(name: str, node: Any, ctx: ImportContext) -> None:
    return None


def subgraph_in(name: str, node: Any, ctx: ImportContext) -> nn.Module:
    from neuromorph.nir.import_ import subgraph_module

    return subgraph_module(node, ctx, name)
