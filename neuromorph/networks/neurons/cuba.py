"""Current-based LIF neuron (NIR ``CubaLIF``; snnTorch ``Synaptic``).

Continuous time (SI units; ``tau_syn``, ``tau_mem`` in s):

    tau_syn dI/dt = -I + w_in x
    tau_mem dv/dt = (v_leak - v) + r I,    spike when v > v_threshold, then reset

Discretised (:mod:`neuromorph.primitives.discretize`) as ``I <- alpha_syn I + g_syn x`` and
``v <- alpha_mem v + g_mem I + b_mem`` (the membrane uses the *new* current, as snnTorch does).
The kernels integrate the scaled current ``i_k = g_mem I + b_mem`` (exact rewrite), so the
state handed in and out is the physical current ``I``.

snnTorch mapping: ``Synaptic(alpha, beta)`` == ``CubaLIF.from_snntorch(alpha, beta)``, i.e.
``dt = 1``, ``tau_syn = 1/(1-alpha)``, ``w_in = tau_syn``, ``tau_mem = 1/(1-beta)``,
``r = tau_mem``, ``v_leak = 0``. Exception: snnTorch's *zero* reset with ``reset_delay=True``
also discards the input of the step after a spike (``mem = (1 - reset) (beta mem + syn)``);
here the delayed zero reset acts on the previous membrane only, as in ``Leaky``. With
``reset_delay=False`` the mapping has ``Leaky``'s limit: exact while the membrane after each reset
stays ``<= threshold`` (:mod:`neuromorph.sim.kernels.reference` gives snnTorch's rule beyond it).

Defaults: ``w_in`` and ``r`` not given mean unit step gains (``I <- alpha_syn I + x``,
``v <- alpha_mem v + I``, as ``Synaptic``); ``beta=`` may replace ``tau_mem``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor

from neuromorph import specs
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput, Shape, tau_or_beta
from neuromorph.primitives.discretize import (
    leaky_coefficients_unchecked,
    synapse_coefficients_unchecked,
    tau_from_decay,
    unit_gain_r,
)
from neuromorph.sim.kernels import cuba_lif_multistep

Num = float | Tensor


class CubaLIFState(NamedTuple):
    """Synaptic current ``i`` and membrane ``v``, each ``[B, *F]``."""

    i: Tensor
    v: Tensor


class CubaLIF(NeuronBase):
    """Current-based LIF layer over ``[T, B, *F]`` (see the module docstring).

    ``learn_tau`` makes ``tau_syn`` and ``tau_mem`` trainable; ``learn_threshold`` the threshold.
    """

    SPEC = specs.CubaLIF

    def __init__(
        self,
        shape: Shape = None,
        *,
        dt: float,
        tau_syn: Num = 5e-3,
        tau_mem: Num | None = None,
        beta: Num | None = None,
        r: Num | None = None,
        w_in: Num | None = None,
        v_leak: Num = 0.0,
        v_threshold: Num = 1.0,
        learn_tau: bool = False,
        learn_threshold: bool = False,
        **options: Any,
    ) -> None:
        """``tau_syn`` (s); ``tau_mem`` (s, default 20 ms) or ``beta`` (membrane decay per
        step); ``w_in`` and ``r`` default to unit step gains; ``options``: ``method``,
        ``backend`` and the spike options (or one ``options=SpikeOptions(...)``)."""
        super().__init__(shape, dt=dt, **options)
        t_syn = self._add_time_constant("tau_syn", tau_syn, learn_tau)
        t_mem = self._add_time_constant(
            "tau_mem", tau_or_beta(tau_mem, beta, self.dt, self.method, 20e-3, "tau_mem"),
            learn_tau)
        self._add("r", unit_gain_r(t_mem, self.dt, self.method) if r is None else r)
        self._add("w_in", unit_gain_r(t_syn, self.dt, self.method) if w_in is None else w_in)
        self._add("v_leak", v_leak)
        self._add("v_threshold", v_threshold, learn_threshold)

    def forward(
        self, x: Tensor, state: CubaLIFState | None = None, *,
        return_v: bool = False, return_state: bool = False,
    ) -> Tensor | NeuronOutput:
        x3, feat = self._flatten(x)
        a_syn, g_syn = synapse_coefficients_unchecked(self.time_constant("tau_syn"), self.dt,
                                                      self.method, self.w_in)
        a_mem, g_mem, b_mem = leaky_coefficients_unchecked(
            self.time_constant("tau_mem"), self.r, self.v_leak, self.dt, self.method)
        a_syn, g_syn, a_mem, g_mem, b_mem, theta = (
            self.per_neuron(q, feat, x3) for q in (a_syn, g_syn, a_mem, g_mem, b_mem,
                                                 self.v_threshold)
        )
        xin = self.maybe_affine(x3, g_mem * g_syn, (1.0 - a_syn) * b_mem)
        i0 = self.state_in(None if state is None else state.i, x3, "i")
        i0 = i0 * g_mem + b_mem
        v0 = self.state_in(None if state is None else state.v, x3, "v")
        s, i, v = cuba_lif_multistep(xin, i0, v0, a_syn, a_mem, theta, self.options,
                                     trace=return_v, backend=self.backend)
        B = x.shape[1]
        i_last = i[-1] if return_v else i
        v_last = v[-1] if return_v else v
        st = CubaLIFState(((i_last - b_mem) / g_mem).reshape(B, *feat), v_last.reshape(B, *feat))
        return self.output(s.reshape(x.shape), v.reshape(x.shape) if return_v else None, st,
                           return_v, return_state)

    @classmethod
    def from_snntorch(
        cls, alpha: float, beta: float, shape: Shape = None, *, threshold: float = 1.0,
        reset_mechanism: str = "subtract", reset_delay: bool = True,
        surrogate: str = "arctan", scale: float | None = None, **kwargs,
    ) -> CubaLIF:
        """The CuBa-LIF that reproduces ``snntorch.Synaptic(alpha, beta, ...)``."""
        tau_syn, tau_mem = tau_from_decay(alpha, 1.0), tau_from_decay(beta, 1.0)
        return cls(shape, dt=1.0, tau_syn=tau_syn, w_in=tau_syn, tau_mem=tau_mem, r=tau_mem,
                   v_threshold=threshold, reset=reset_mechanism, reset_delay=reset_delay,
                   detach_reset=reset_delay, surrogate=surrogate, scale=scale, **kwargs)


__all__ = ["CubaLIF", "CubaLIFState"]
