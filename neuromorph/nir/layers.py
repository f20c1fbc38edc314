"""Small time-major layers for the NIR node types that have no home elsewhere in neuromorph.

All take ``[T, B, *F]`` and follow the neuron calling convention
``forward(x, state=None, *, return_v=False, return_state=False)`` (stateless ones ignore state):

=====================  ===========  ==========================================================
class                  NIR node     per step ``t`` (``dt`` in s, NIR continuous-time params)
=====================  ===========  ==========================================================
:class:`Scale`         ``Scale``    ``y = s * x``
:class:`Threshold`     ``Threshold`` ``y = Heaviside(x - theta)`` (strict ``>``; surrogate grad)
:class:`SumPool2d`     ``SumPool2d`` sum over each window (``avg_pool2d * kh * kw``)
:class:`Integrator`    ``I``        ``v[t] = v[t-1] + (r dt) x[t]`` (from ``dv/dt = r I``)
:class:`CubaLI`        ``CubaLI``   current-based leaky integrator, no spikes (see class)
:class:`Delay`         ``Delay``    ``y[t] = x[t - round(delay / dt)]`` (zeros before)
=====================  ===========  ==========================================================

:class:`Integrator` and :class:`CubaLI` live in :mod:`neuromorph.networks.neurons` (imported here
so that ``neuromorph.nir.layers`` keeps naming every NIR layer). They and :class:`Delay` subclass
:class:`~neuromorph.networks.neurons.NeuronBase`, so
:class:`~neuromorph.networks.spiking_layers.SpikingSequential` treats them as stateful.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.networks.neurons import (
    CubaLI,
    CubaLIState,
    Integrator,
    IntegratorState,
    NeuronBase,
    NeuronOutput,
)
from neuromorph.primitives.spike import get_surrogate, resolve_scale, spike


class Scale(nn.Module):
    """Elementwise ``y = scale * x`` (NIR ``Scale``); ``scale`` broadcasts over features."""

    def __init__(self, scale: Tensor | float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.get_default_dtype()))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class Threshold(nn.Module):
    """Heaviside ``y = 1 if x > threshold else 0`` (NIR ``Threshold``); surrogate gradient."""

    def __init__(self, threshold: Tensor | float, surrogate: str = "fast_sigmoid",
                 scale: float | None = None) -> None:
        super().__init__()
        self.register_buffer("threshold",
                             torch.as_tensor(threshold, dtype=torch.get_default_dtype()))
        self.surrogate = get_surrogate(surrogate).name
        self.slope = resolve_scale(surrogate, scale)

    def forward(self, x: Tensor) -> Tensor:
        return spike(x - self.threshold, self.surrogate, self.slope)


class SumPool2d(nn.Module):
    """Sum pooling over 2-D windows (NIR ``SumPool2d``), on ``[N, C, H, W]`` frames."""

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride) if stride is not None else self.kernel_size
        self.padding = _pair(padding)

    def forward(self, x: Tensor) -> Tensor:
        kh, kw = self.kernel_size
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                            count_include_pad=True) * (kh * kw)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    t = tuple(int(a) for a in v)
    if len(t) != 2:
        raise ValueError(f"expected an int or a pair of ints, got {v!r}")
    return t  # type: ignore[return-value]


class Delay(NeuronBase):
    """Pure delay ``y(t) = x(t - delay)`` (NIR ``Delay``) on a time grid of step ``dt``.

    ``delay`` (s, broadcast over features) must be a whole number of steps (within 1e-6 of one);
    the state is the last ``max_steps`` inputs, so delays also work step by step. (A
    :class:`~neuromorph.networks.neurons.NeuronBase` only so that containers keep its state.)
    """

    def __init__(self, delay: Tensor | float, *, dt: float) -> None:
        super().__init__(None, dt=dt)
        d = torch.as_tensor(delay, dtype=torch.float64)
        steps = d / self.dt
        if not torch.isfinite(steps).all() or (steps < 0).any():
            raise ValueError(f"delay must be finite and >= 0 seconds, got {delay!r}")
        rounded = torch.round(steps)
        if (torch.abs(steps - rounded) > 1e-6 * torch.clamp(rounded, min=1.0)).any():
            raise ValueError(
                f"delay {d.flatten()[:4].tolist()} s is not a whole number of steps of dt={dt} s;"
                " choose dt so that every delay is a multiple of it"
            )
        self.register_buffer("delay", torch.as_tensor(delay, dtype=torch.get_default_dtype()))
        self.register_buffer("steps", rounded.to(torch.int64))

    @property
    def max_steps(self) -> int:
        return int(self.steps.max()) if self.steps.numel() else 0

    def forward(self, x: Tensor, state: Tensor | None = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        self._flatten(x)
        T, B = x.shape[:2]
        feat = x.shape[2:]
        m = self.max_steps
        hist = x.new_zeros(m, B, *feat) if state is None else state
        full = torch.cat([hist, x], dim=0)  # [m + T, B, *F]
        steps = self.steps.expand(feat)
        t_idx = torch.arange(T, device=x.device).view(T, *([1] * len(feat))) + m - steps
        idx = t_idx.unsqueeze(1).expand(T, B, *feat)
        y = torch.gather(full, 0, idx)
        new_state = full[full.shape[0] - m:] if m else hist
        return NeuronBase.output(y, None, new_state, False, return_state)

    def extra_repr(self) -> str:
        return f"max_steps={self.max_steps}, dt={self.dt}"


__all__ = ["CubaLI", "CubaLIState", "Delay", "Integrator", "IntegratorState", "Scale",
           "SumPool2d", "Threshold"]
