"""Shared machinery of the neuron modules: parameters, options, shapes, fresh state, outputs.

Every neuron module maps a time-major input ``[T, B, *F]`` to spikes ``[T, B, *F]`` (LI: to its
membrane trace). State is explicit: ``forward(x, state=None)`` starts from a fresh (zero) state
unless a state is passed, so consecutive batches never leak into each other, and
``return_state=True`` hands the final state back for truncated BPTT / streaming.

Validation happens once, at construction: ``dt``, ``method``, every time constant (positive,
and ``dt <= tau`` for Euler: :func:`~neuromorph.primitives.discretize.check_time_constant`) and
the spike options (one :class:`~neuromorph.specs.SpikeOptions` in ``self.options``). The forward
pass computes its step coefficients without checks or host syncs. Every time constant is
read through :func:`~neuromorph.primitives.discretize.clamp_time_constant` (the identity while
it is valid), so an optimiser step (or an in-place edit) cannot make the decay overshoot.

Defaults: a neuron built without ``r`` (and ``w_in`` for the current-based ones) gets unit step
gain, ``v <- alpha v + I`` (snnTorch's ``Leaky``): ``r = tau / dt`` for Euler. The resolved
number is a buffer like any given one, so ``.spec`` and NIR export carry it explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from neuromorph.primitives.discretize import (
    check_dt,
    check_method,
    check_time_constant,
    clamp_time_constant,
    tau_from_decay,
)
from neuromorph.sim.kernels import BACKENDS
from neuromorph.specs import NeuronSpec, SpikeOptions, as_shape

Shape = int | Sequence[int] | None


def feature_shape(shape: Shape) -> tuple[int, ...] | None:
    """Normalise a neuron-population shape (``int`` -> ``(n,)``; ``None`` -> shared scalars):
    the spec layer's rule (:func:`neuromorph.specs.as_shape`)."""
    return as_shape(shape)


def _broadcasts(shape: tuple[int, ...], feat: tuple[int, ...]) -> bool:
    try:
        return torch.broadcast_shapes(shape, feat) == feat
    except RuntimeError:
        return False


#: the spike-option fields a neuron constructor accepts as keywords (or as one ``options=``)
OPTION_FIELDS: tuple[str, ...] = tuple(SpikeOptions.__dataclass_fields__)


def make_options(options: SpikeOptions | dict | None, fields: dict[str, Any],
                 owner: str) -> SpikeOptions:
    """The one :class:`SpikeOptions` of a neuron from ``options=`` or the option keywords."""
    unknown = sorted(set(fields) - set(OPTION_FIELDS))
    if unknown:
        raise TypeError(f"{owner} got unexpected keyword(s) {unknown}; spike options are "
                        f"{list(OPTION_FIELDS)}")
    if options is not None and fields:
        raise ValueError(f"{owner}: give options= or the option keywords {sorted(fields)}, "
                         "not both")
    return SpikeOptions.coerce(options) if options is not None else SpikeOptions(**fields)


def tau_or_beta(tau: Any, beta: Any, dt: float, method: str, default: float,
                name: str = "tau") -> Any:
    """``tau`` (s), or the ``tau`` that gives snnTorch's per-step decay ``beta`` with step
    ``dt`` and ``method`` (:func:`~neuromorph.primitives.discretize.tau_from_decay`), or
    ``default`` when neither is given; both given raises one ``ValueError``."""
    if tau is not None and beta is not None:
        raise ValueError(f"give {name} (time constant, s) or beta (decay per step), not both")
    if beta is not None:
        if not isinstance(beta, (int, float, Tensor)):
            beta = torch.as_tensor(beta, dtype=torch.get_default_dtype())
        return tau_from_decay(beta, dt, method)
    return default if tau is None else tau


def _option(name: str) -> property:
    return property(lambda self: getattr(self.options, name),
                    doc=f"``options.{name}`` (read-only; build a new ``SpikeOptions`` to change)")


class NeuronOutput(NamedTuple):
    """What a neuron returns when asked for more than its spikes."""

    spikes: Tensor
    v: Tensor | None
    state: tuple | None


class NeuronBase(nn.Module):
    """Base of the neuron shells: owns parameters (``nn.Parameter`` when learnable, else buffers).

    Parameters are per neuron when ``shape`` is given (shape ``shape``), otherwise scalars shared
    by all neurons. ``dt`` (seconds) and the discretisation ``method`` are explicit.
    """

    def __init__(
        self,
        shape: Shape,
        *,
        dt: float,
        method: str = "euler",
        options: SpikeOptions | dict | None = None,
        backend: str = "auto",
        **option_fields: Any,
    ) -> None:
        super().__init__()
        self.shape = feature_shape(shape)
        self.dt = check_dt(dt)
        check_method(method)
        self.method = method
        #: the spike and reset options (validated once; kernels take this object)
        self.options = make_options(options, option_fields, type(self).__name__)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}")
        self.backend = backend
        self._time_constants: tuple[str, ...] = ()

    reset = _option("reset")
    v_reset = _option("v_reset")
    reset_delay = _option("reset_delay")
    detach_reset = _option("detach_reset")
    surrogate = _option("surrogate")
    scale = _option("scale")

    # ---------------------------------------------------------------- parameters
    def _add(self, name: str, value: float | Tensor, learnable: bool = False,
             positive: bool = False) -> None:
        t = torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()
        if self.shape is not None:
            try:
                t = t.expand(self.shape).clone()
            except RuntimeError as err:
                raise ValueError(
                    f"{name} of shape {tuple(t.shape)} does not broadcast to the neuron shape "
                    f"{self.shape}"
                ) from err
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} must be finite, got {value!r}")
        if positive and not (t > 0).all():
            raise ValueError(f"{name} must be positive, got {value!r}")
        if learnable:
            self.register_parameter(name, nn.Parameter(t))
        else:
            self.register_buffer(name, t)

    def _add_time_constant(self, name: str, value: float | Tensor,
                           learnable: bool) -> float | Tensor:
        """Register time constant ``name`` (s) after checking it against ``dt`` and ``method``
        (once: one host read of its minimum). Returns ``value`` as given (detached), so that
        defaults derived from it (``r = tau / dt``) are computed before rounding to the
        parameter dtype."""
        self._add(name, value, learnable, positive=True)
        check_time_constant(getattr(self, name).detach(), self.dt, self.method, name=name)
        self._time_constants += (name,)
        if isinstance(value, Tensor):
            return value.detach()
        if isinstance(value, (int, float)):
            return float(value)
        return torch.as_tensor(value, dtype=torch.float64)  # a sequence, one per neuron

    def time_constant(self, name: str) -> Tensor:
        """Time constant ``name`` as the kernels use it: checked at construction, then read
        through :func:`~neuromorph.primitives.discretize.clamp_time_constant` (the identity
        while valid; keeps a trained value valid without a host sync)."""
        return clamp_time_constant(getattr(self, name), self.dt, self.method)

    #: the spec class this module runs (set by each neuron class)
    SPEC: ClassVar[type[NeuronSpec] | None] = None

    @property
    def spec(self) -> NeuronSpec:
        """This layer as a neuron spec, with the current (e.g. trained) parameter values."""
        cls = type(self).SPEC
        if cls is None:
            raise TypeError(f"{type(self).__name__} has no neuron spec")
        values: dict[str, Any] = {
            name: self.time_constant(name) if name in self._time_constants else getattr(self, name)
            for name, _ in cls.params}
        if cls.spiking:
            values["options"] = self.options
        if "method" in cls.__dataclass_fields__:
            values["method"] = self.method
        return cls(shape=self.shape, **values)

    @classmethod
    def from_spec(cls, spec: NeuronSpec, *, dt: float, **kwargs: Any) -> NeuronBase:
        """The layer that runs ``spec`` with step ``dt`` (s); ``kwargs``: layer-only options
        such as ``backend``, ``learn_tau``."""
        if cls.SPEC is None or not isinstance(spec, cls.SPEC):
            raise TypeError(f"{cls.__name__} runs {getattr(cls.SPEC, 'kind', 'no')} specs, "
                            f"got {type(spec).__name__}")
        if getattr(spec, "refractory", 0.0) > 0.0:
            raise ValueError(f"{cls.__name__} has no refractory period (spec asks "
                             f"{spec.refractory} s); run the spec in the event engine instead")
        values: dict[str, Any] = {}
        for name, _ in spec.params:  # per-neuron tuples are laid out over the spec's shape
            v = getattr(spec, name)
            values[name] = (torch.tensor(v, dtype=torch.float64).reshape(spec.shape)
                            if isinstance(v, tuple) and spec.shape is not None else v)
        if spec.spiking:
            values["options"] = spec.options
        if "method" in spec.__dataclass_fields__:
            values["method"] = spec.method
        return cls(spec.shape, dt=dt, **values, **kwargs)

    # ---------------------------------------------------------------- shapes
    def _flatten(self, x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        """``[T, B, *F] -> [T, B, N]`` with checks that say what was wrong."""
        if not isinstance(x, Tensor) or x.dim() < 3:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"{type(self).__name__} expects a time-major input [T, B, *features], got {got}; "
                "add the time axis first (e.g. x.unsqueeze(0) for one step)"
            )
        if not x.is_floating_point():
            raise ValueError(f"input must be floating point, got {x.dtype}")
        feat = tuple(x.shape[2:])
        if self.shape is not None and not _broadcasts(self.shape, feat):
            raise ValueError(
                f"{type(self).__name__} was built for features {self.shape}, got input "
                f"{tuple(x.shape)} (features {feat})"
            )
        return x.reshape(x.shape[0], x.shape[1], -1), feat

    @staticmethod
    def per_neuron(p: Tensor | float, feat: tuple[int, ...], like: Tensor) -> Tensor:
        """A parameter (scalar or shaped) as a contiguous ``[N]`` tensor of ``like``'s dtype."""
        n = math.prod(feat)
        p = torch.as_tensor(p, device=like.device).to(like.dtype)
        return p.expand(feat).reshape(n).contiguous() if p.dim() else p.expand(n).contiguous()

    @staticmethod
    def fresh(x3: Tensor) -> Tensor:
        """A zero state ``[B, N]`` for a ``[T, B, N]`` input."""
        return x3.new_zeros(x3.shape[1], x3.shape[2])

    @staticmethod
    def state_in(s: Tensor | None, x3: Tensor, name: str) -> Tensor:
        """A passed state ``[B, *F]`` as ``[B, N]`` (or a fresh zero state when ``None``)."""
        if s is None:
            return NeuronBase.fresh(x3)
        if s.numel() != x3.shape[1] * x3.shape[2] or s.shape[0] != x3.shape[1]:
            raise ValueError(
                f"state {name} has shape {tuple(s.shape)}, expected [B, *features] with "
                f"B={x3.shape[1]} and {x3.shape[2]} neurons; pass state=None for a fresh state"
            )
        return s.reshape(x3.shape[1], x3.shape[2]).to(x3.dtype)

    @staticmethod
    def maybe_affine(x3: Tensor, gain: Tensor, bias: Tensor) -> Tensor:
        """``gain * x + bias``, skipped when it is exactly the identity (no extra pass/memory).

        The identity test reads the values on the host, so it runs only for CPU tensors (on an
        accelerator it would sync every forward; ``1 * x + 0`` gives the same numbers).
        """
        if not (gain.requires_grad or bias.requires_grad or gain.device.type != "cpu"):
            unit = bool((gain == 1).all()) and bool((bias == 0).all())
            if unit:
                return x3
        return torch.addcmul(bias, x3, gain)

    @staticmethod
    def output(
        spikes: Tensor, v: Tensor | None, state: tuple | None, return_v: bool, return_state: bool
    ) -> Tensor | NeuronOutput:
        if not (return_v or return_state):
            return spikes
        return NeuronOutput(spikes, v if return_v else None, state if return_state else None)

    def extra_repr(self) -> str:
        o = self.options
        return (f"shape={self.shape}, dt={self.dt}, method={self.method!r}, reset={o.reset!r}, "
                f"reset_delay={o.reset_delay}, surrogate={o.surrogate!r}, scale={o.scale}")


__all__ = ["OPTION_FIELDS", "NeuronBase", "NeuronOutput", "Shape", "feature_shape",
           "make_options", "tau_or_beta"]
