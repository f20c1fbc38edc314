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

:class:`Integrator`, :class:`CubaLI` and :class:`Delay` subclass
:class:`~neuromorph.networks.neurons.NeuronBase`, so
:class:`~neuromorph.networks.spiking_layers.SpikingSequential` treats them as stateful.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph import specs
from neuromorph.networks.neurons import NeuronBase, NeuronOutput
from neuromorph.primitives.discretize import (
    integrator_gain,
    leaky_coefficients,
    synapse_coefficients,
)
from neuromorph.primitives.spike import get_surrogate, resolve_scale, spike
from neuromorph.sim.kernels.cpu_scan import linear_scan


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


class IntegratorState(NamedTuple):
    v: Tensor


class Integrator(NeuronBase):
    """Perfect integrator ``dv/dt = r I`` (NIR ``I``): ``v[t] = v[t-1] + (r dt) x[t]``.

    Returns the membrane trace ``[T, B, *F]`` (no spikes).
    """

    SPEC = specs.Integrator

    def __init__(self, shape=None, *, dt: float, r: Tensor | float = 1.0) -> None:
        super().__init__(shape, dt=dt)
        self._add("r", r)

    def forward(self, x: Tensor, state: IntegratorState | None = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        gain = self.per_neuron(integrator_gain(self.r, self.dt), feat, x3)
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        v = linear_scan(x3 * gain, v0, torch.ones_like(gain))
        out = v.reshape(x.shape)
        return self.output(out, out, IntegratorState(v[-1].reshape(x.shape[1], *feat)),
                           return_v, return_state)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, dt={self.dt}"


class CubaLIState(NamedTuple):
    i: Tensor
    v: Tensor


class CubaLI(NeuronBase):
    """Current-based leaky integrator (NIR ``CubaLI``), no spikes; returns the membrane trace.

    ``tau_syn dI/dt = -I + w_in x``, ``tau_mem dv/dt = (v_leak - v) + r I``; discretised by
    :mod:`neuromorph.primitives.discretize` as ``I <- a_syn I + g_syn x`` and
    ``v <- a_mem v + g_mem I + b_mem`` (the membrane sees the new current, as in CubaLIF).
    """

    SPEC = specs.CubaLI

    def __init__(self, shape=None, *, dt: float, tau_syn: Tensor | float = 5e-3,
                 tau_mem: Tensor | float = 20e-3, r: Tensor | float = 1.0,
                 v_leak: Tensor | float = 0.0, w_in: Tensor | float = 1.0,
                 method: str = "euler") -> None:
        super().__init__(shape, dt=dt, method=method)
        self._add("tau_syn", tau_syn, positive=True)
        self._add("tau_mem", tau_mem, positive=True)
        self._add("r", r)
        self._add("v_leak", v_leak)
        self._add("w_in", w_in)

    def forward(self, x: Tensor, state: CubaLIState | None = None, *, return_v: bool = False,
                return_state: bool = False) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        a_syn, g_syn = synapse_coefficients(self.tau_syn, self.dt, self.method, self.w_in)
        a_mem, g_mem, b_mem = leaky_coefficients(self.tau_mem, self.r, self.v_leak, self.dt,
                                                 self.method, name="tau_mem")
        a_syn, g_syn, a_mem, g_mem, b_mem = (self.per_neuron(q, feat, x3)
                                             for q in (a_syn, g_syn, a_mem, g_mem, b_mem))
        i0 = self.state_in(None if state is None else state.i, x3, "i")
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        i = linear_scan(x3 * g_syn, i0, a_syn)
        v = linear_scan(i * g_mem + b_mem, v0, a_mem)
        B = x.shape[1]
        st = CubaLIState(i[-1].reshape(B, *feat), v[-1].reshape(B, *feat))
        out = v.reshape(x.shape)
        return self.output(out, out, st, return_v, return_state)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, dt={self.dt}, method={self.method!r}"


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
