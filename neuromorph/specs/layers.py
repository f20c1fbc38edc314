"""Specs of the stateless layers and synapses (NIR's connection and shape nodes).

Weights are state, not spec: an :class:`Affine` spec says ``out_features x in_features`` and
whether there is a bias; the trained values travel in the ``state_dict`` beside it (and in the
NIR node's arrays on export).

==================  ============  =========================================================
spec                NIR node      per step (``x`` input, ``y`` output)
==================  ============  =========================================================
:class:`Affine`     ``Affine``    ``y = W x + b`` (``Linear`` in NIR when ``bias=False``)
:class:`Conv`       ``Conv1d/2d`` ``y = W * x + b`` (cross-correlation, torch geometry)
:class:`Flatten`    ``Flatten``   reshape dims ``start_dim..end_dim`` (batch excluded) to one
:class:`Scale`      ``Scale``     ``y = scale x``
:class:`Threshold`  ``Threshold`` ``y = Heaviside(x - threshold)`` (strict ``>``)
:class:`Pool2d`     ``SumPool2d`` / ``AvgPool2d``  window sum or mean
:class:`Delay`      ``Delay``     ``y[t] = x[t - round(delay / dt)]`` (delay in s)
:class:`Channel`    (LI filter)   exponential synapse ``dx/dt = -x / tau`` (event engine)
==================  ============  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neuromorph.specs.base import Param, Shape, Spec, as_param, as_shape, register
from neuromorph.specs.options import SpikeOptions
from neuromorph.units import as_seconds, as_si


def _positive_ints(value: int | tuple[int, ...], name: str, nd: int) -> tuple[int, ...]:
    vals = (int(value),) * nd if isinstance(value, int) else tuple(int(v) for v in value)
    if len(vals) != nd or any(v < 0 for v in vals):
        raise ValueError(f"{name} must be {nd} non-negative ints, got {value!r}")
    return vals


@register
@dataclass(frozen=True)
class Affine(Spec):
    """Dense synapses ``y = W x + b`` with ``W`` of shape ``[out_features, in_features]``."""

    kind = "Affine"
    in_features: int = 1
    out_features: int = 1
    bias: bool = True

    def __post_init__(self) -> None:
        if self.in_features < 1 or self.out_features < 1:
            raise ValueError(f"Affine needs positive sizes, got {self.in_features} -> "
                             f"{self.out_features}")


@register
@dataclass(frozen=True)
class Conv(Spec):
    """Convolution over ``nd`` (1 or 2) spatial dims, torch's geometry and weight layout."""

    kind = "Conv"
    in_channels: int = 1
    out_channels: int = 1
    kernel_size: tuple[int, ...] = (3, 3)
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1
    bias: bool = True

    @property
    def nd(self) -> int:
        return len(self.kernel_size)

    def __post_init__(self) -> None:
        nd = len(self.kernel_size) if not isinstance(self.kernel_size, int) else 2
        if nd not in (1, 2):
            raise ValueError(f"Conv supports 1 or 2 spatial dims, got kernel {self.kernel_size}")
        for name in ("kernel_size", "stride", "padding", "dilation"):
            self._set(name, _positive_ints(getattr(self, name), name, nd))
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"channels ({self.in_channels}, {self.out_channels}) must divide "
                             f"by groups={self.groups}")


@register
@dataclass(frozen=True)
class Flatten(Spec):
    """Flatten dims ``start_dim..end_dim`` of a sample (batch and time excluded, 0-based)."""

    kind = "Flatten"
    start_dim: int = 0
    end_dim: int = -1


@register
@dataclass(frozen=True)
class Scale(Spec):
    """Elementwise ``y = scale x``."""

    kind = "Scale"
    scale: Param = 1.0

    def __post_init__(self) -> None:
        self._set("scale", as_param(self.scale, "scale"))


@register
@dataclass(frozen=True)
class Threshold(Spec):
    """Heaviside ``y = 1[x > threshold]``, surrogate gradient from ``options``."""

    kind = "Threshold"
    threshold: Param = 1.0
    options: SpikeOptions = field(default_factory=SpikeOptions)

    def __post_init__(self) -> None:
        self._set("threshold", as_param(self.threshold, "threshold"))
        self._set("options", SpikeOptions.coerce(self.options))


@register
@dataclass(frozen=True)
class Pool2d(Spec):
    """2-d pooling: ``mode="sum"`` (NIR ``SumPool2d``) or ``"avg"`` (NIR ``AvgPool2d``)."""

    kind = "Pool2d"
    kernel_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)
    mode: str = "sum"

    def __post_init__(self) -> None:
        if self.mode not in ("sum", "avg"):
            raise ValueError(f"pool mode must be 'sum' or 'avg', got {self.mode!r}")
        self._set("kernel_size", _positive_ints(self.kernel_size, "kernel_size", 2))
        stride = self.kernel_size if self.stride is None else self.stride
        self._set("stride", _positive_ints(stride, "stride", 2))
        self._set("padding", _positive_ints(self.padding, "padding", 2))


@register
@dataclass(frozen=True)
class Delay(Spec):
    """Transmission delay (seconds), per feature or shared."""

    kind = "Delay"
    delay: Param = 0.0

    def __post_init__(self) -> None:
        self._set("delay", as_param(self.delay, "delay"))
        vals = self.delay if isinstance(self.delay, tuple) else (self.delay,)
        if any(d < 0 for d in vals):
            raise ValueError(f"delay must be >= 0 seconds, got {self.delay}")


@register
@dataclass(frozen=True)
class Channel(Spec):
    """Exponential synaptic variable ``dx/dt = -x / tau`` (s); spikes add their weight to ``x``.

    ``scale`` multiplies ``x`` in a current-based membrane equation; ``e_rev`` (V) makes it a
    conductance with reversal potential (conductance-based groups). ``tau`` and ``e_rev`` also
    take Brian2 ``Quantity`` values (``5*ms``, ``0*mV``).
    """

    kind = "Channel"
    no_nir_node = 'an engine synapse variable; export the neuron group it feeds'
    tau: float = 5e-3
    scale: float = 1.0
    e_rev: float | None = None

    def __post_init__(self) -> None:
        self._set("tau", as_seconds(self.tau, "tau"))
        if not self.tau > 0:
            raise ValueError(f"a channel needs tau > 0 (seconds), got {self.tau}")
        self._set("scale", as_param(self.scale, "channel scale"))
        if self.e_rev is not None:
            self._set("e_rev", as_si(self.e_rev, "e_rev", "V"))


@register
@dataclass(frozen=True)
class Input(Spec):
    """A graph input of per-sample ``shape``."""

    kind = "Input"
    shape: Shape = (1,)

    def __post_init__(self) -> None:
        self._set("shape", as_shape(self.shape))


@register
@dataclass(frozen=True)
class Output(Spec):
    """A graph output of per-sample ``shape``."""

    kind = "Output"
    shape: Shape = (1,)

    def __post_init__(self) -> None:
        self._set("shape", as_shape(self.shape))


__all__ = ["Affine", "Channel", "Conv", "Delay", "Flatten", "Input", "Output", "Pool2d", "Scale",
           "Threshold"]
