"""Conductance-based LIF neuron (COBA; spec :class:`~neuromorph.specs.neurons.CondLIF`; no NIR).

Continuous time (SI units: ``tau_*`` in s, ``v``, ``v_*``, ``e_*`` in V; the conductances
``g_e``, ``g_i`` are dimensionless, in units of the leak conductance)::

    tau_mem dv/dt = (v_leak - v) + g_e (e_exc - v) + g_i (e_inh - v)
    tau_exc dg_e/dt = -g_e,   tau_inh dg_i/dt = -g_i
    spike when v > v_threshold + theta, then v <- v_reset; refractory period

The inputs ``x_e``, ``x_i`` are conductance increments: an input spike through a synapse of
weight ``w`` adds ``w`` to ``g_e`` (``g_i``) in its step. ``theta`` is an optional per-neuron
threshold offset that the caller holds and updates (Diehl & Cook's adaptive threshold).

One step of ``dt`` (exponential Euler; the decays ``d = exp(-dt / tau)`` come from
:mod:`neuromorph.primitives.discretize`)::

    g_e <- d_exc g_e + x_e,     g_i <- d_inh g_i + x_i
    g_tot = 1 + g_e + g_i,      v_inf = (v_leak + g_e e_exc + g_i e_inh) / g_tot
    v <- v_inf + (v - v_inf) exp(-g_tot dt / tau_mem)        (kept while refractory)
    s = Heaviside(v - v_threshold - theta) (not while refractory);  v <- v_reset where s

Refractoriness is Brian2's (as the event engine's): after a spike in step ``m`` the neuron is
refractory in steps ``n`` with ``n - m < R``, ``R = int((refractory + 1e-3 dt) / dt)``; its ``v``
is held and it cannot spike, while its conductances keep integrating.

Relation to :class:`~neuromorph.sim.COBALIFGroup` (same equations, channels ``ge``, ``gi``):
the engine updates ``v`` with the conductances at the *start* of its step and adds the step's
input spikes after the threshold, so its step ``n + 1`` computes what this neuron's step ``n``
computes from the same input train (``tests/networks/test_coba_lif.py``).

The spike uses :func:`~neuromorph.primitives.spike.spike` (surrogate gradient from the options),
the reset the kernels' ``"zero"`` reset; the step loop runs under autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape
from neuromorph.primitives.discretize import check_time_constant, clamp_time_constant, decay_pair
from neuromorph.primitives.spike import spike
from neuromorph.sim.kernels.reference import RESETS
from neuromorph.sim.propagators import refractory_steps
from neuromorph.specs import SpikeOptions
from neuromorph.specs.neurons import COND_LIF_OPTIONS, check_cond_lif_options
from neuromorph.specs.neurons import CondLIF as CondLIFSpec

Num = float | Tensor

#: the conductance decays and the membrane rate are exact: ``tau`` only needs to be positive
_METHOD = "exact"


class CondLIFState(NamedTuple):
    """Membrane ``v`` (V), conductances ``g_exc``, ``g_inh`` (leak units), each ``[B, *F]``,
    and ``refractory``: the refractory steps still ahead of each neuron (int32)."""

    v: Tensor
    g_exc: Tensor
    g_inh: Tensor
    refractory: Tensor


class CondLIFCoefficients(NamedTuple):
    """Per-step numbers of a :class:`CondLIFParams` for one ``dt``."""

    decay_exc: Num  # exp(-dt / tau_exc)
    decay_inh: Num  # exp(-dt / tau_inh)
    rate: Num  # dt / tau_mem: v relaxes by exp(-g_tot * rate) per step
    refractory_steps: int  # Brian2's R


def _time_constant(tau: Num, dt: float, name: str) -> Num:
    if isinstance(tau, Tensor):  # checked at construction; clamped without a host sync
        return clamp_time_constant(tau, dt, _METHOD)
    return check_time_constant(float(tau), dt, _METHOD, name=name)


@dataclass(frozen=True)
class CondLIFParams:
    """The parameters of :func:`cond_lif_step` (module docstring; numbers or tensors that
    broadcast over the features). ``refractory`` in s; ``options``: reset to ``v_reset``.
    Defaults: the spec's (Diehl & Cook's excitatory neuron)."""

    tau_mem: Num = CondLIFSpec.tau_mem
    tau_exc: Num = CondLIFSpec.tau_exc
    tau_inh: Num = CondLIFSpec.tau_inh
    v_leak: Num = CondLIFSpec.v_leak
    v_threshold: Num = CondLIFSpec.v_threshold
    e_exc: Num = CondLIFSpec.e_exc
    e_inh: Num = CondLIFSpec.e_inh
    refractory: float = CondLIFSpec.refractory
    options: SpikeOptions = COND_LIF_OPTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "options",
                           check_cond_lif_options(SpikeOptions.coerce(self.options)))
        if not (self.refractory >= 0.0 and math.isfinite(self.refractory)):
            raise ValueError(f"refractory must be >= 0 seconds, got {self.refractory}")

    def coefficients(self, dt: float) -> CondLIFCoefficients:
        """The step's decays and rate for ``dt`` (s); a number ``tau`` is checked here, a
        tensor one is clamped (no host sync)."""
        d_exc = decay_pair(_time_constant(self.tau_exc, dt, "tau_exc"), dt, _METHOD)[0]
        d_inh = decay_pair(_time_constant(self.tau_inh, dt, "tau_inh"), dt, _METHOD)[0]
        rate = dt / _time_constant(self.tau_mem, dt, "tau_mem")
        return CondLIFCoefficients(d_exc, d_inh, rate, refractory_steps(self.refractory, dt))


def cond_lif_state(x: Tensor, p: CondLIFParams) -> CondLIFState:
    """The resting state for inputs shaped like ``x`` ``[B, *F]``: ``v = v_leak``, no
    conductance, not refractory."""
    zeros = torch.zeros_like(x)
    return CondLIFState(zeros + p.v_leak, zeros, zeros.clone(),
                        torch.zeros(x.shape, dtype=torch.int32, device=x.device))


def cond_lif_step(
    x: Tensor, state: CondLIFState | None, p: CondLIFParams, dt: float, *,
    x_inh: Tensor | None = None, theta: Tensor | None = None,
    coefficients: CondLIFCoefficients | None = None,
) -> tuple[Tensor, CondLIFState]:
    """One step (module docstring) on the excitatory increments ``x`` ``[B, *F]`` and the
    inhibitory ones ``x_inh`` (none when ``None``), with threshold offset ``theta`` (V,
    broadcasts to ``[B, *F]``). ``coefficients`` (:meth:`CondLIFParams.coefficients`) saves
    recomputing them in a loop. Returns ``(spikes, new state)``; no host sync."""
    c = p.coefficients(dt) if coefficients is None else coefficients
    st = cond_lif_state(x, p) if state is None else state
    g_e = st.g_exc * c.decay_exc + x
    g_i = st.g_inh * c.decay_inh
    if x_inh is not None:
        g_i = g_i + x_inh
    g_tot = 1.0 + g_e + g_i
    v_inf = (p.v_leak + g_e * p.e_exc + g_i * p.e_inh) / g_tot
    v_new = v_inf + (st.v - v_inf) * torch.exp(-g_tot * c.rate)
    free = st.refractory <= 0
    v = torch.where(free, v_new, st.v)
    threshold = p.v_threshold if theta is None else p.v_threshold + theta
    o = p.options
    if v.requires_grad or getattr(threshold, "requires_grad", False):
        s = spike(v - threshold, o.surrogate, o.scale) * free  # surrogate gradient
        v = RESETS["zero"](v, s.detach() if o.detach_reset else s, threshold, o.v_reset)
        spiked = s > 0
    else:  # nothing to differentiate: the same numbers in fewer operations
        spiked = (v > threshold) & free
        s = spiked.to(v.dtype)
        v = torch.where(spiked, o.v_reset, v)
    ahead = torch.where(spiked, max(c.refractory_steps - 1, 0),
                        (st.refractory - 1).clamp_(min=0))
    return s, CondLIFState(v, g_e, g_i, ahead)


def _broadcasts_to(t: Tensor, shape: tuple[int, ...]) -> bool:
    try:
        return torch.broadcast_shapes(tuple(t.shape), shape) == shape
    except RuntimeError:
        return False


class CondLIF(NeuronBase):
    """Conductance-based LIF layer over ``[T, B, *F]`` (module docstring).

    ``forward(x, state=None, *, x_inh=None, theta=None, return_v=False, return_state=False)``:
    ``x`` (and ``x_inh``, same shape) are the excitatory (inhibitory) conductance increments
    per step; returns the spikes, or a :class:`NeuronOutput` ``(spikes, v trace,
    CondLIFState)``. :meth:`step` runs one step (for loops with recurrent input).
    """

    SPEC = CondLIFSpec

    def __init__(
        self,
        shape: Shape = None,
        *,
        dt: float,
        tau_mem: Num = CondLIFSpec.tau_mem,
        tau_exc: Num = CondLIFSpec.tau_exc,
        tau_inh: Num = CondLIFSpec.tau_inh,
        v_leak: Num = CondLIFSpec.v_leak,
        v_threshold: Num = CondLIFSpec.v_threshold,
        e_exc: Num = CondLIFSpec.e_exc,
        e_inh: Num = CondLIFSpec.e_inh,
        refractory: float = CondLIFSpec.refractory,
        **options: Any,
    ) -> None:
        """Parameters as :class:`~neuromorph.specs.neurons.CondLIF` (defaults: Diehl & Cook's
        excitatory neuron); ``options``: the spike options (``v_reset``, ``surrogate``, ... or
        ``options=SpikeOptions(...)``), default ``reset="zero"``, ``v_reset=-65 mV``."""
        if options.pop("method", _METHOD) != _METHOD:
            raise ValueError("CondLIF integrates by exponential Euler only; drop method=")
        options.pop("backend", None)  # no fused kernel: always the step loop
        if "options" not in options:
            options.setdefault("reset", COND_LIF_OPTIONS.reset)
            options.setdefault("v_reset", COND_LIF_OPTIONS.v_reset)
        super().__init__(shape, dt=dt, method=_METHOD, **options)
        check_cond_lif_options(self.options)
        for name, tau in (("tau_mem", tau_mem), ("tau_exc", tau_exc), ("tau_inh", tau_inh)):
            self._add_time_constant(name, tau, learnable=False)
        for name, value in (("v_leak", v_leak), ("v_threshold", v_threshold),
                            ("e_exc", e_exc), ("e_inh", e_inh)):
            self._add(name, value)
        self.refractory = CondLIFParams(refractory=float(refractory)).refractory

    def params(self) -> CondLIFParams:
        """The functional parameters (tensors shared with this module)."""
        return CondLIFParams(self.tau_mem, self.tau_exc, self.tau_inh, self.v_leak,
                             self.v_threshold, self.e_exc, self.e_inh, self.refractory,
                             self.options)

    @property
    def spec(self) -> CondLIFSpec:
        """This layer as a :class:`~neuromorph.specs.neurons.CondLIF` spec."""
        return super().spec.replace(refractory=self.refractory)  # type: ignore[return-value]

    @classmethod
    def from_spec(cls, spec: specs.NeuronSpec, *, dt: float, **kwargs: Any) -> CondLIF:
        """The layer that runs ``spec`` with step ``dt`` (s), refractory period included."""
        if not isinstance(spec, CondLIFSpec):
            raise TypeError(f"CondLIF runs CondLIF specs, got {type(spec).__name__}")
        return super().from_spec(spec.replace(refractory=0.0), dt=dt,  # type: ignore[return-value]
                                 refractory=spec.refractory, **kwargs)

    def step(
        self, x: Tensor, state: CondLIFState | None = None, *, x_inh: Tensor | None = None,
        theta: Tensor | None = None, coefficients: CondLIFCoefficients | None = None,
    ) -> tuple[Tensor, CondLIFState]:
        """One step on ``x`` ``[B, *F]`` (:func:`cond_lif_step`)."""
        return cond_lif_step(x, state, self.params(), self.dt, x_inh=x_inh, theta=theta,
                             coefficients=coefficients)

    def forward(
        self, x: Tensor, state: CondLIFState | None = None, *, x_inh: Tensor | None = None,
        theta: Tensor | None = None, return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        self._flatten(x)
        if x_inh is not None and x_inh.shape != x.shape:
            raise ValueError(f"x_inh has shape {tuple(x_inh.shape)}, expected x's "
                             f"{tuple(x.shape)} (one inhibitory increment per input element)")
        if theta is not None and not _broadcasts_to(theta, tuple(x.shape[1:])):
            raise ValueError(f"theta has shape {tuple(theta.shape)}, which does not broadcast to "
                             f"the state [B, *F] = {list(x.shape[1:])}; pass one value per neuron")
        p = self.params()
        c = p.coefficients(self.dt)
        spikes, vs = [], []
        for t in range(x.shape[0]):
            s, state = cond_lif_step(x[t], state, p, self.dt, coefficients=c, theta=theta,
                                     x_inh=None if x_inh is None else x_inh[t])
            spikes.append(s)
            vs.append(state.v)
        v = torch.stack(vs) if return_v else None
        return self.output(torch.stack(spikes), v, state, return_v, return_state)


__all__ = ["CondLIF", "CondLIFCoefficients", "CondLIFParams", "CondLIFState", "cond_lif_state",
           "cond_lif_step"]
