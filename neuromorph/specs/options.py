"""The spike and reset options of every spiking neuron, in one validated object.

A spiking neuron fires ``s = Heaviside(v - v_threshold)`` (strict ``>``) and then resets:

- ``reset="subtract"``: ``v <- v - s * v_threshold`` (keeps the overshoot; snnTorch's default);
- ``reset="zero"``: ``v <- (1 - s) * v + s * v_reset`` (volts; NIR's and Brian2's reset).

``reset_delay=True`` applies the reset of step ``t`` at step ``t + 1`` (snnTorch's ordering),
``detach_reset=True`` stops the surrogate gradient through the reset term, and ``surrogate`` /
``scale`` choose the backward pass of the Heaviside (:mod:`neuromorph.primitives.spike`). Every
kernel, neuron module, engine group, NIR converter and chip check reads these options from a
:class:`SpikeOptions`; the option strings are validated once, here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from neuromorph.primitives.spike import get_surrogate, resolve_scale

#: the reset kinds (the kernels implement each in :data:`neuromorph.sim.kernels.reference.RESETS`)
RESET_KINDS: tuple[str, ...] = ("subtract", "zero")


def check_reset_kind(reset: str) -> str:
    """``reset`` if it names a reset kind; otherwise one clear ``ValueError``."""
    if reset not in RESET_KINDS:
        raise ValueError(f"unknown reset {reset!r}; choose one of {sorted(RESET_KINDS)}")
    return reset


@dataclass(frozen=True)
class SpikeOptions:
    """How a neuron spikes and resets (module docstring). ``v_reset`` in volts.

    ``scale=None`` becomes the surrogate's default scale, and surrogate aliases (``"atan"``)
    become their canonical names, so two equal option sets compare and hash equal.
    """

    reset: str = "subtract"
    v_reset: float = 0.0
    reset_delay: bool = False
    detach_reset: bool = False
    surrogate: str = "fast_sigmoid"
    scale: float | None = None

    def __post_init__(self) -> None:
        check_reset_kind(self.reset)
        v_reset = float(self.v_reset)
        if not math.isfinite(v_reset):
            raise ValueError(f"v_reset must be finite (volts), got {self.v_reset}")
        object.__setattr__(self, "v_reset", v_reset)
        object.__setattr__(self, "reset_delay", bool(self.reset_delay))
        object.__setattr__(self, "detach_reset", bool(self.detach_reset))
        object.__setattr__(self, "scale", resolve_scale(self.surrogate, self.scale))
        object.__setattr__(self, "surrogate", get_surrogate(self.surrogate).name)

    def kernel_kwargs(self) -> dict[str, Any]:
        """The options as the keyword arguments of the multi-step kernels."""
        return asdict(self)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "SpikeOptions", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpikeOptions:
        d = {k: v for k, v in d.items() if k != "kind"}
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown spike options {unknown}; known: "
                             f"{sorted(cls.__dataclass_fields__)}")
        return cls(**d)

    @classmethod
    def coerce(cls, options: SpikeOptions | dict[str, Any] | None) -> SpikeOptions:
        """A :class:`SpikeOptions` from itself, a dict of its fields, or ``None`` (defaults)."""
        if options is None:
            return cls()
        if isinstance(options, SpikeOptions):
            return options
        if isinstance(options, dict):
            return cls.from_dict(options)
        raise TypeError(f"options must be a SpikeOptions or a dict, got {type(options).__name__}")


#: the option names NIR has no field for (``v_reset`` is NIR's own per-neuron array)
NON_NIR_OPTIONS: tuple[str, ...] = tuple(
    name for name in SpikeOptions.__dataclass_fields__ if name != "v_reset")

__all__ = ["NON_NIR_OPTIONS", "RESET_KINDS", "SpikeOptions", "check_reset_kind"]
