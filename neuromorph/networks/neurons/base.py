"""Shared machinery of the neuron modules: parameters, shapes, fresh state, outputs.

Every neuron module maps a time-major input ``[T, B, *F]`` to spikes ``[T, B, *F]`` (LI: to its
membrane trace). State is explicit: ``forward(x, state=None)`` starts from a fresh (zero) state
unless a state is passed, so consecutive batches never leak into each other, and
``return_state=True`` hands the final state back for truncated BPTT / streaming.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from neuromorph.primitives.discretize import check_dt, check_method
from neuromorph.primitives.spike import get_surrogate, resolve_scale
from neuromorph.sim.kernels import BACKENDS
from neuromorph.sim.kernels.reference import check_reset
from neuromorph.specs import NeuronSpec, SpikeOptions

Shape = int | Sequence[int] | None


def feature_shape(shape: Shape) -> tuple[int, ...] | None:
    """Normalise a neuron-population shape (``int`` -> ``(n,)``; ``None`` -> shared scalars)."""
    if shape is None:
        return None
    out = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if not out or any(s <= 0 for s in out):
        raise ValueError(f"shape must be positive sizes, got {shape!r}")
    return out


def _broadcasts(shape: tuple[int, ...], feat: tuple[int, ...]) -> bool:
    try:
        return torch.broadcast_shapes(shape, feat) == feat
    except RuntimeError:
        return False


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
        surrogate: str = "fast_sigmoid",
        scale: float | None = None,
        reset: str = "subtract",
        reset_delay: bool = False,
        detach_reset: bool = False,
        v_reset: float = 0.0,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self.shape = feature_shape(shape)
        self.dt = check_dt(dt)
        check_method(method)
        self.method = method
        self.surrogate = get_surrogate(surrogate).name
        self.scale = resolve_scale(surrogate, scale)
        check_reset(reset)
        self.reset = reset
        self.reset_delay = bool(reset_delay)
        self.detach_reset = bool(detach_reset)
        self.v_reset = float(v_reset)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}")
        self.backend = backend

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

    #: the spec class this module runs (set by each neuron class)
    SPEC: ClassVar[type[NeuronSpec] | None] = None

    @property
    def options(self) -> SpikeOptions:
        """The spike and reset options as one :class:`~neuromorph.specs.SpikeOptions`."""
        return SpikeOptions(self.reset, self.v_reset, self.reset_delay, self.detach_reset,
                            self.surrogate, self.scale)

    @property
    def spec(self) -> NeuronSpec:
        """This layer as a neuron spec, with the current (e.g. trained) parameter values."""
        cls = type(self).SPEC
        if cls is None:
            raise TypeError(f"{type(self).__name__} has no neuron spec")
        values: dict[str, Any] = {name: getattr(self, name) for name, _ in cls.params}
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
        values: dict[str, Any] = {name: getattr(spec, name) for name, _ in spec.params}
        if spec.spiking:
            values.update(spec.options.kernel_kwargs())
        if "method" in spec.__dataclass_fields__:
            values["method"] = spec.method
        return cls(spec.shape, dt=dt, **values, **kwargs)

    def kernel_options(self) -> dict:
        """Keyword options shared by every kernel call."""
        return dict(v_reset=self.v_reset, reset=self.reset, reset_delay=self.reset_delay,
                    detach_reset=self.detach_reset, surrogate=self.surrogate, scale=self.scale)

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
        """``gain * x + bias``, skipped when it is exactly the identity (no extra pass/memory)."""
        if not (gain.requires_grad or bias.requires_grad):
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
        return (f"shape={self.shape}, dt={self.dt}, method={self.method!r}, reset={self.reset!r}, "
                f"reset_delay={self.reset_delay}, surrogate={self.surrogate!r}, "
                f"scale={self.scale}")


__all__ = ["NeuronBase", "NeuronOutput", "Shape", "feature_shape"]
