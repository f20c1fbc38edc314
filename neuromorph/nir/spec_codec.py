"""One NIR node type <-> one spec, field by field (the entries of :mod:`.registry`).

Each node type has a reader ``*_spec(node) -> (spec, weights | None)`` and a writer
``*_node(spec, weights, shape, dtype) -> node``; :mod:`neuromorph.nir.spec_nodes` dispatches to
them. NIR's arrays carry what NIR has a field for (time constants in s, ``r`` in ohm, voltages
in V, weights); everything else of the spec travels as JSON text in ``metadata["neuromorph"]``
(:data:`META_KEY`): the spike options (without ``v_reset``, which is NIR's own field), ``method``,
``refractory``, the neuron ``shape``, a Conv's ``bias`` flag, and ``shared``: the parameters that
are one value for the whole population (written broadcast, read back as one float). Files
written before that key existed record the same facts as flat keys (``reset``, ``method``,
``shape``, ``shape_tau``, ...); they are still read. A node without either is read with NIR's
meaning: reset to ``v_reset`` in the step of the spike, Euler, one parameter per array element.

Depends on numpy, ``nir`` and :mod:`neuromorph.specs` only (no torch), so the event engine can
use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import nir
import numpy as np

from neuromorph import specs
from neuromorph.nir.convention import decode_shape, metadata_get, shrink

Shape = tuple[int, ...]
Weights = dict[str, np.ndarray]

#: node-metadata key of the spec fields NIR has no field for (JSON text; see module docstring)
META_KEY = "neuromorph"
#: legacy flat metadata keys of the spike options / discretisation (files before META_KEY)
_LEGACY_OPTIONS = specs.options.NON_NIR_OPTIONS


# --------------------------------------------------------------------------- arrays
def node_array(node: Any, fld: str) -> np.ndarray:
    """Field ``fld`` of ``node`` as a finite numeric array (one ``ValueError`` naming it)."""
    value = getattr(node, fld, None)
    if value is None:
        raise ValueError(f"field {fld!r} is missing")
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"field {fld!r} must be numeric, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"field {fld!r} contains NaN or infinity")
    return arr


def _write_param(value: specs.Param, name: str, layout: Shape | None, target: Shape | None,
                 dtype: Any) -> np.ndarray:
    """A spec parameter as a NIR array: per-neuron values laid out over ``layout`` (default
    ``target``), then broadcast to the feature shape ``target``; a float fills ``target``."""
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim:
        lay = layout if layout is not None else target
        if lay is not None and int(np.prod(lay)) == arr.size:
            arr = arr.reshape(lay)
    if target is None:
        return arr.copy()
    try:
        return np.broadcast_to(arr, target).copy()
    except ValueError:
        raise ValueError(f"{name} has {arr.size} values, which do not fit the feature shape "
                         f"{target}; give the spec a shape") from None


def _read_param(arr: np.ndarray, name: str, layout: Shape | None, shared: bool) -> Any:
    """A NIR array as a spec parameter: one float if ``shared``, else values over ``layout``."""
    try:
        if shared:
            return shrink(arr, ())  # float32 stays float32: the spec reads its shortest decimal
        return shrink(arr, layout) if layout is not None and arr.ndim else arr
    except ValueError as err:
        raise ValueError(f"field {name!r}: {err}") from None


# --------------------------------------------------------------------------- metadata
def read_extra(node: Any) -> dict[str, Any] | None:
    """The spec fields recorded under :data:`META_KEY` (``None`` for a node without them)."""
    text = metadata_get(getattr(node, "metadata", None), META_KEY)
    if text is None:
        return None
    try:
        extra = json.loads(text)
    except (TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"metadata[{META_KEY!r}] is not JSON text: {err}") from None
    if not isinstance(extra, dict):
        raise ValueError(f"metadata[{META_KEY!r}] must be a JSON object, got {text!r:.60}")
    return extra


def write_extra(spec: specs.Spec, carried: tuple[str, ...], shared: list[str],
                drop_v_reset: bool = False) -> dict[str, str]:
    """``{META_KEY: JSON}`` of the fields of ``spec`` not in ``carried`` (NIR's own fields)."""
    extra = {k: v for k, v in spec.to_dict().items() if k not in carried}
    if drop_v_reset and "options" in extra:
        extra["options"] = {k: v for k, v in extra["options"].items() if k != "v_reset"}
    if shared:
        extra["shared"] = shared
    return {META_KEY: json.dumps(extra, sort_keys=True)}


def _check_kind(extra: Mapping[str, Any], cls: type[specs.Spec]) -> None:
    kind = extra.get("kind", cls.kind)
    if kind != cls.kind:
        raise ValueError(f"metadata[{META_KEY!r}] describes a {kind} spec, but the node is a "
                         f"{cls.kind}; the file was edited inconsistently")


def _legacy_options(md: Any, spiking: bool) -> dict[str, Any]:
    """Spike options and method from the flat keys of older files (NIR's meaning by default)."""
    out: dict[str, Any] = {}
    if metadata_get(md, "method") is not None:
        out["method"] = metadata_get(md, "method")
    if spiking:
        opts = {k: metadata_get(md, k) for k in _LEGACY_OPTIONS}
        opts = {k: v for k, v in opts.items() if v is not None}
        out["options"] = {"reset": "zero", **opts}
    return out


def _options_dict(value: Any) -> dict[str, Any]:
    return dict(value.to_dict()) if isinstance(value, specs.SpikeOptions) else dict(value)


# --------------------------------------------------------------------------- neurons
def neuron_node(spec: specs.NeuronSpec, weights: Weights | None, shape: Shape | None,
                dtype: Any) -> Any:
    """A neuron spec as its NIR node; ``shape`` (features) defaults to the spec's shape."""
    target = shape if shape is not None else spec.shape
    names = [name for name, _ in spec.params]
    arrays = {n: _write_param(getattr(spec, n), n, spec.shape, target, dtype) for n in names}
    if spec.spiking:
        arrays["v_reset"] = np.full(target if target is not None else (),
                                    spec.options.v_reset, dtype=np.float64)
    shared = [n for n in names if not isinstance(getattr(spec, n), tuple)]
    md = write_extra(spec, tuple(names), shared, drop_v_reset=spec.spiking)
    return _NEURON_NODES[type(spec)](**arrays, metadata=md)


def neuron_spec(node: Any) -> tuple[specs.NeuronSpec, None]:
    """The neuron spec of a NIR neuron node (see the module docstring for the metadata)."""
    cls = _NEURON_SPECS[type(node)]
    names = [name for name, _ in cls.params]
    arrays = {n: node_array(node, n) for n in names}
    try:
        common = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        raise ValueError(f"parameter shapes { {n: a.shape for n, a in arrays.items()} } do not "
                         "broadcast to one neuron shape") from None
    md = node.metadata
    extra = read_extra(node)
    if extra is not None:
        _check_kind(extra, cls)
        shared = set(extra.get("shared", ()))
        layout = extra.get("shape", common or None)
        kept = {k: v for k, v in extra.items() if k not in ("kind", "shared", "shape")}
    else:
        shared = {n for n in names if metadata_get(md, f"shape_{n}") == "scalar"}
        recorded = metadata_get(md, "shape")
        layout = decode_shape(recorded) if recorded is not None else (common or None)
        kept = _legacy_options(md, cls.spiking)
    layout = tuple(layout) if layout is not None else None
    params = {n: _read_param(np.broadcast_to(a, common), n, layout, n in shared)
              for n, a in arrays.items()}
    field_names = {f.name for f in fields(cls)}
    kept = {k: v for k, v in kept.items() if k in field_names}
    if cls.spiking:
        kept["options"] = {**_options_dict(kept.get("options", {"reset": "zero"})),
                           "v_reset": _v_reset(node)}
    return cls(shape=layout, **params, **kept), None


def _v_reset(node: Any) -> float:
    if getattr(node, "v_reset", None) is None:
        return 0.0
    arr = node_array(node, "v_reset")
    if arr.size and not np.all(arr == arr.flat[0]):
        raise ValueError(f"per-neuron v_reset is not supported by neuromorph neurons (values "
                         f"{np.unique(arr)[:4]}); use one value for the population")
    return float(arr.flat[0]) if arr.size else 0.0


_NEURON_NODES: dict[type, type] = {specs.LIF: nir.LIF, specs.CubaLIF: nir.CubaLIF,
                                   specs.IF: nir.IF, specs.LI: nir.LI, specs.CubaLI: nir.CubaLI,
                                   specs.Integrator: nir.I}
_NEURON_SPECS: dict[type, type] = {v: k for k, v in _NEURON_NODES.items()}


# --------------------------------------------------------------------------- elementwise
def _elementwise(fld: str, spec_cls: type[specs.Spec], node_cls: type):
    """Writer and reader of a spec with one per-feature parameter ``fld`` (Scale, ...)."""
    def to_node(spec: specs.Spec, weights: Weights | None, shape: Shape | None,
                dtype: Any) -> Any:
        value = getattr(spec, fld)
        shared = [] if isinstance(value, tuple) else [fld]
        md = write_extra(spec, (fld,), shared)
        if set(json.loads(md[META_KEY])) == {"kind"}:
            md = {}
        return node_cls(**{fld: _write_param(value, fld, None, shape, dtype)}, metadata=md)

    def to_spec(node: Any) -> tuple[specs.Spec, None]:
        arr = node_array(node, fld)
        extra = read_extra(node)
        if extra is not None:
            _check_kind(extra, spec_cls)
            shared = fld in extra.get("shared", ())
            kept = {k: v for k, v in extra.items() if k not in ("kind", "shared")}
        else:
            shared = metadata_get(node.metadata, f"shape_{fld}") == "scalar"
            kept = {}
            if spec_cls is specs.Threshold:
                opts = {k: metadata_get(node.metadata, k) for k in ("surrogate", "scale")}
                kept["options"] = {k: v for k, v in opts.items() if v is not None}
        return spec_cls(**{fld: _read_param(arr, fld, None, shared)}, **kept), None

    return to_node, to_spec


scale_node, scale_spec = _elementwise("scale", specs.Scale, nir.Scale)
threshold_node, threshold_spec = _elementwise("threshold", specs.Threshold, nir.Threshold)
delay_node, delay_spec = _elementwise("delay", specs.Delay, nir.Delay)


# --------------------------------------------------------------------------- synapses
def _weight(weights: Weights | None, key: str, kind: str) -> np.ndarray:
    if not weights or weights.get(key) is None:
        raise ValueError(f"a {kind} node needs its trained values: pass weights={{{key!r}: "
                         "array, ...}")
    return np.asarray(weights[key])


def affine_node(spec: specs.Affine, weights: Weights | None, shape: Shape | None,
                dtype: Any) -> Any:
    """``Affine`` (``Linear`` when ``bias=False``); ``weights["weight"]`` is ``[out, in]``."""
    w = _weight(weights, "weight", "Affine")
    if w.shape != (spec.out_features, spec.in_features):
        raise ValueError(f"weight shape {w.shape} does not match the Affine spec "
                         f"[out={spec.out_features}, in={spec.in_features}]")
    if not spec.bias:
        return nir.Linear(weight=w.copy())
    b = _weight(weights, "bias", "Affine")
    if b.shape != (spec.out_features,):
        raise ValueError(f"bias shape {b.shape} does not match out_features={spec.out_features}")
    return nir.Affine(weight=w.copy(), bias=b.copy())


def affine_spec(node: Any) -> tuple[specs.Affine, Weights]:
    w = node_array(node, "weight")
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D [out, in], got shape {w.shape}")
    if isinstance(node, nir.Linear):
        return specs.Affine(w.shape[1], w.shape[0], bias=False), {"weight": w}
    b = node_array(node, "bias")
    if b.shape != (w.shape[0],):
        raise ValueError(f"bias shape {b.shape} does not match the weight rows {w.shape[0]}")
    return specs.Affine(w.shape[1], w.shape[0], bias=True), {"weight": w, "bias": b}


_GEOMETRY = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
             "groups")


def conv_node(spec: specs.Conv, weights: Weights | None, shape: Shape | None,
              dtype: Any) -> Any:
    """``Conv1d`` / ``Conv2d`` in torch's layout; a spec without bias writes a zero bias."""
    w = _weight(weights, "weight", "Conv")
    expected = (spec.out_channels, spec.in_channels // spec.groups, *spec.kernel_size)
    if w.shape != expected:
        raise ValueError(f"weight shape {w.shape} does not match the Conv spec {expected}")
    b = (_weight(weights, "bias", "Conv") if spec.bias
         else np.zeros(spec.out_channels, dtype=w.dtype))
    md = write_extra(spec, _GEOMETRY, [])
    spatial = None if shape is None else tuple(int(s) for s in shape[-spec.nd:])
    if spec.nd == 1:
        return nir.Conv1d(input_shape=None if spatial is None else spatial[0], weight=w.copy(),
                          stride=spec.stride[0], padding=spec.padding[0],
                          dilation=spec.dilation[0], groups=spec.groups, bias=b.copy(),
                          metadata=md)
    return nir.Conv2d(input_shape=spatial, weight=w.copy(), stride=spec.stride,
                      padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
                      bias=b.copy(), metadata=md)


def conv_padding(value: Any, kernel: tuple[int, ...], dilation: tuple[int, ...],
             stride: tuple[int, ...]) -> tuple[int, ...]:
    """NIR padding (ints, or ``"valid"`` / ``"same"``) as explicit ints per spatial dim."""
    if isinstance(value, bytes | np.bytes_):
        value = value.decode()
    if isinstance(value, str | np.str_) and value == "valid":
        return (0,) * len(kernel)
    if isinstance(value, str | np.str_) and value == "same":
        span = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if any(s != 1 for s in stride) or any(p % 2 for p in span):
            raise ValueError(f"padding='same' with kernel {kernel}, dilation {dilation}, stride "
                             f"{stride} is not symmetric; give explicit padding")
        return tuple(p // 2 for p in span)
    return tuple(int(v) for v in np.broadcast_to(np.asarray(value), (len(kernel),)))


def conv_spec(node: Any) -> tuple[specs.Conv, Weights]:
    nd = 1 if isinstance(node, nir.Conv1d) else 2
    w = node_array(node, "weight")
    if w.ndim != nd + 2:
        raise ValueError(f"weight must be [C_out, C_in/groups, *kernel] with {nd + 2} dims, "
                         f"got shape {w.shape}")
    ints = lambda v: tuple(int(a) for a in np.broadcast_to(np.asarray(v), (nd,)))  # noqa: E731
    kernel, stride, dilation = tuple(w.shape[2:]), ints(node.stride), ints(node.dilation)
    groups = int(np.asarray(node.groups))
    b = node_array(node, "bias")
    extra = read_extra(node)
    if extra is not None:
        _check_kind(extra, specs.Conv)
        recorded = bool(extra.get("bias", True))
    else:
        recorded = bool(metadata_get(node.metadata, "bias", 1))
    has_bias = recorded or bool(np.any(b != 0))
    spec = specs.Conv(w.shape[1] * groups, w.shape[0], kernel_size=kernel, stride=stride,
                      padding=conv_padding(node.padding, kernel, dilation, stride),
                      dilation=dilation, groups=groups, bias=has_bias)
    return spec, ({"weight": w, "bias": b} if has_bias else {"weight": w})


# --------------------------------------------------------------------------- shape nodes
def flatten_node(spec: specs.Flatten, weights: Weights | None, shape: Shape | None,
                 dtype: Any) -> Any:
    if shape is None:
        raise ValueError("a Flatten node needs its input feature shape; pass shape=(C, H, W)")
    return nir.Flatten(input_type={"input": np.array(shape, dtype=np.int64)},
                       start_dim=spec.start_dim, end_dim=spec.end_dim)


def flatten_spec(node: Any) -> tuple[specs.Flatten, None]:
    return specs.Flatten(int(node.start_dim), int(node.end_dim)), None


def pool_node(spec: specs.Pool2d, weights: Weights | None, shape: Shape | None,
              dtype: Any) -> Any:
    cls = nir.SumPool2d if spec.mode == "sum" else nir.AvgPool2d
    return cls(kernel_size=np.array(spec.kernel_size), stride=np.array(spec.stride),
               padding=np.array(spec.padding))


def pool_spec(node: Any) -> tuple[specs.Pool2d, None]:
    pair = lambda k: tuple(int(v) for v in np.broadcast_to(np.asarray(getattr(node, k)),  # noqa
                                                            (2,)))
    mode = "sum" if isinstance(node, nir.SumPool2d) else "avg"
    return specs.Pool2d(pair("kernel_size"), pair("stride"), pair("padding"), mode=mode), None


def _io_shape(types: Any, key: str) -> Shape | None:
    shape = None if types is None else types.get(key)
    return None if shape is None else tuple(int(s) for s in np.asarray(shape).reshape(-1))


def input_node(spec: specs.Input, weights: Weights | None, shape: Shape | None,
               dtype: Any) -> Any:
    if spec.shape is None:
        raise ValueError("an Input node needs a shape; give the Input spec shape=(...)")
    return nir.Input(input_type={"input": np.array(spec.shape, dtype=np.int64)})


def input_spec(node: Any) -> tuple[specs.Input, None]:
    return specs.Input(_io_shape(node.input_type, "input")), None


def output_node(spec: specs.Output, weights: Weights | None, shape: Shape | None,
                dtype: Any) -> Any:
    out = spec.shape if spec.shape is not None else shape
    if out is None:
        raise ValueError("an Output node needs a shape; give the Output spec shape=(...)")
    return nir.Output(output_type={"output": np.array(out, dtype=np.int64)})


def output_spec(node: Any) -> tuple[specs.Output, None]:
    return specs.Output(_io_shape(node.output_type, "output")), None
