"""Leaky integrate-and-fire neuron (NIR ``LIF``).

Continuous time (SI units: ``tau`` in s, ``v`` in V, ``r`` in ohm, ``I`` in A):

    tau dv/dt = (v_leak - v) + r I,    spike when v > v_threshold, then reset

Discretised with step ``dt`` by :mod:`neuromorph.primitives.discretize`
(``v <- alpha v + gain I + bias``), then run by the multi-step kernels of
:mod:`neuromorph.sim.kernels` (see there for the reset variants and their exact equations).

Defaults: ``r`` not given means unit step gain (``r = tau / dt`` for Euler: ``v <- alpha v + I``,
as snnTorch's ``Leaky``), so a unit input reaches the unit threshold; ``beta=`` (snnTorch's
per-step decay) may replace ``tau``: ``tau = dt / (1 - beta)`` (Euler).

snnTorch mapping: ``snntorch.Leaky(beta, threshold, reset_mechanism, reset_delay)`` equals
``LIF.from_snntorch(...)``, i.e. ``dt = 1``, ``tau = 1 / (1 - beta)``, ``r = tau`` (unit gain),
``v_leak = 0``, Euler, and ``detach_reset = reset_delay`` (snnTorch detaches the delayed reset).
Exact for ``reset_delay=True``; for ``reset_delay=False`` exact while the membrane after each
reset stays ``<= threshold`` (subtract reset: no spiking step with ``v > 2 threshold``); beyond
it snnTorch re-subtracts the threshold in its next spike test (equation in
:mod:`neuromorph.sim.kernels.reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape, tau_or_beta
from neuromorph.primitives.discretize import (
    check_method,
    check_time_constant,
    clamp_time_constant,
    leaky_coefficients_unchecked,
    tau_from_decay,
    unit_gain_r,
)
from neuromorph.sim.kernels import lif_multistep
from neuromorph.sim.kernels.reference import lif_step_reference
from neuromorph.specs import SpikeOptions

Num = float | Tensor


class LIFState(NamedTuple):
    """Membrane potential ``v`` ``[B, *F]`` (V)."""

    v: Tensor


@dataclass(frozen=True)
class LIFParams:
    """NIR LIF parameters plus the discretisation ``method`` and the spike ``options``.

    Built per call (cheap): ``__post_init__`` checks ``method`` and the options, and a number
    ``tau``; a tensor ``tau`` is not re-checked (that would sync the device): :class:`LIF`
    checks it at construction, and the functional core clamps it to a valid value
    (:func:`~neuromorph.primitives.discretize.clamp_time_constant`).
    """

    tau: Num = 20e-3
    r: Num = 1.0
    v_leak: Num = 0.0
    v_threshold: Num = 1.0
    method: str = "euler"
    options: SpikeOptions = field(default_factory=SpikeOptions)

    def __post_init__(self) -> None:
        check_method(self.method)
        object.__setattr__(self, "options", SpikeOptions.coerce(self.options))

    def coefficients(self, dt: float) -> tuple[Num, Num, Num]:
        """``(alpha, gain, bias)`` for step ``dt`` (s), without a host sync."""
        if isinstance(self.tau, Tensor):
            tau: Num = clamp_time_constant(self.tau, dt, self.method)
        else:
            tau = check_time_constant(self.tau, dt, self.method)
        return leaky_coefficients_unchecked(tau, self.r, self.v_leak, dt, self.method)


def _coefficients(
    p: LIFParams, dt: float, feat: tuple[int, ...], like: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return tuple(NeuronBase.per_neuron(q, feat, like)
                 for q in (*p.coefficients(dt), p.v_threshold))  # type: ignore[return-value]


def lif_forward(
    x: Tensor, state: LIFState | None, p: LIFParams, dt: float, *,
    return_v: bool = False, backend: str = "auto",
) -> tuple[Tensor, LIFState, Tensor | None]:
    """Functional multi-step LIF on ``x`` ``[T, B, *F]``. Returns ``(spikes, final state, v)``
    where ``v`` is the membrane trace ``[T, B, *F]`` when ``return_v`` else ``None``.
    A NaN input raises ``ValueError`` (one device sync per call on CUDA)."""
    T, B, feat = x.shape[0], x.shape[1], x.shape[2:]
    x3 = x.reshape(T, B, -1)
    alpha, gain, bias, theta = _coefficients(p, dt, tuple(feat), x3)
    xin = NeuronBase.maybe_affine(x3, gain, bias)
    v0 = NeuronBase.state_in(None if state is None else state.v, x3, "v")
    s, v = lif_multistep(xin, v0, alpha, theta, p.options, trace=return_v, backend=backend)
    v_last = v[-1] if return_v else v
    return (s.reshape(x.shape), LIFState(v_last.reshape(B, *feat)),
            v.reshape(x.shape) if return_v else None)


def lif_step(
    x: Tensor, state: LIFState | None, p: LIFParams, dt: float
) -> tuple[Tensor, LIFState]:
    """One LIF step on ``x`` ``[B, *F]`` (plain autograd; used inside recurrent loops; no
    checks and no host sync)."""
    alpha, gain, bias = p.coefficients(dt)
    v = torch.zeros_like(x) if state is None else state.v
    s, v = lif_step_reference(gain * x + bias, v, alpha, torch.as_tensor(p.v_threshold).to(x),
                              p.options)
    return s, LIFState(v)


class LIF(NeuronBase):
    """LIF neuron layer over ``[T, B, *F]``; ``shape`` = ``F`` for per-neuron parameters.

    ``learn_tau`` / ``learn_threshold`` make ``tau`` / ``v_threshold`` trainable parameters.
    ``forward(x, state=None, return_v=False, return_state=False)`` returns the spikes, or a
    :class:`NeuronOutput` ``(spikes, v trace, LIFState)`` when asked for more.
    """

    SPEC = specs.LIF

    def __init__(
        self,
        shape: Shape = None,
        *,
        dt: float,
        tau: Num | None = None,
        beta: Num | None = None,
        r: Num | None = None,
        v_leak: Num = 0.0,
        v_threshold: Num = 1.0,
        learn_tau: bool = False,
        learn_threshold: bool = False,
        **options: Any,
    ) -> None:
        """``tau`` (s, default 20 ms) or ``beta`` (decay per step); ``r`` (ohm, default: unit
        step gain); ``options``: ``method``, ``backend`` and the spike options (``reset``,
        ``v_reset``, ... or one ``options=SpikeOptions(...)``)."""
        super().__init__(shape, dt=dt, **options)
        tau = self._add_time_constant(
            "tau", tau_or_beta(tau, beta, self.dt, self.method, 20e-3), learn_tau)
        self._add("r", unit_gain_r(tau, self.dt, self.method) if r is None else r)
        self._add("v_leak", v_leak)
        self._add("v_threshold", v_threshold, learn_threshold)

    def kernel_coefficients(
        self, feat: tuple[int, ...], like: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(alpha, gain, bias, theta)`` as ``[N]`` tensors (``like``'s dtype and device) for
        features ``feat`` (``N = prod(feat)``); no checks, no host sync."""
        return _coefficients(self.params(), self.dt, feat, like)

    def params(self) -> LIFParams:
        """The functional parameters (tensors shared with this module; ``tau`` is clamped when
        the coefficients are computed)."""
        return LIFParams(self.tau, self.r, self.v_leak, self.v_threshold, self.method,
                         self.options)

    def forward(
        self, x: Tensor, state: LIFState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        self._flatten(x)
        s, st, v = lif_forward(x, state, self.params(), self.dt, return_v=return_v,
                               backend=self.backend)
        return self.output(s, v, st, return_v, return_state)

    def step(self, x: Tensor, state: LIFState | None = None) -> tuple[Tensor, LIFState]:
        """One step on ``x`` ``[B, *F]`` (for recurrent loops)."""
        return lif_step(x, state, self.params(), self.dt)

    @classmethod
    def from_snntorch(
        cls, beta: float, shape: Shape = None, *, threshold: float = 1.0,
        reset_mechanism: str = "subtract", reset_delay: bool = True,
        surrogate: str = "arctan", scale: float | None = None, **kwargs,
    ) -> LIF:
        """The LIF that reproduces ``snntorch.Leaky(beta, threshold, ...)``: exactly for
        ``reset_delay=True``; for ``reset_delay=False`` while the membrane after each reset stays
        ``<= threshold`` (see the module docstring for the limit)."""
        tau = tau_from_decay(beta, 1.0)
        return cls(shape, dt=1.0, tau=tau, r=tau, v_threshold=threshold, reset=reset_mechanism,
                   reset_delay=reset_delay, detach_reset=reset_delay, surrogate=surrogate,
                   scale=scale, **kwargs)


__all__ = ["LIF", "LIFParams", "LIFState", "lif_forward", "lif_step"]
