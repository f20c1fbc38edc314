"""Pure-torch reference kernels: multi-step LIF, CuBa-LIF and IF as plain step loops under autograd.

These define the numbers every fast kernel (CPU fused path, Triton) must reproduce, for values
and gradients w.r.t. ``x``, ``v0`` (``i0``), ``alpha`` (``alpha_syn``, ``alpha_mem``) and ``theta``.

Shapes: ``x`` is ``[T, B, N]``; ``v0``/``i0`` are ``[B, N]``; ``alpha*``/``theta`` are ``[N]``
(per neuron). The input ``x`` already contains the gain ``r dt / tau`` and the leak bias
``(1 - alpha) v_leak`` (folded in by the caller, see :mod:`neuromorph.primitives.discretize`).

LIF dynamics per step ``t`` (dimensionless discrete time; ``v`` in volts if ``x`` is):

    h[t] = alpha * v[t-1] + x[t]                       (charge)
    s[t] = Heaviside(h[t] - theta)  (strict ``>``)     backward: surrogate'(h[t] - theta)

Reset, ``reset_delay=False`` (the spike resets the membrane in the same step; s_r = s[t], or
``s[t].detach()`` when ``detach_reset``):

    "subtract":  v[t] = h[t] - s_r * theta
    "zero":      v[t] = h[t] * (1 - s_r) + s_r * v_reset

Reset, ``reset_delay=True`` (snnTorch's default): ``v[t] = h[t]`` (not reset); the reset caused
by a spike enters the next step, with ``p[t] = Heaviside(v[t-1] - theta)`` (= ``s[t-1]``; for
``t = 0`` it is computed from ``v0``; detached when ``detach_reset``):

    "subtract":  h[t] = alpha * v[t-1] + x[t] - p[t] * theta
    "zero":      h[t] = alpha * (v[t-1] * (1 - p[t]) + p[t] * v_reset) + x[t]

snnTorch ``Leaky``: ``reset_delay=True`` <-> snnTorch's default (``reset_delay=True``; snnTorch
always detaches the delayed reset, so use ``detach_reset=True``) reproduces it exactly.
``reset_delay=False, detach_reset=False`` <-> snnTorch ``reset_delay=False`` reproduces it exactly
*while every membrane value after a reset stays at or below the threshold* (``v[t] <= theta``;
with the subtract reset that means no spiking step with ``h[t] > 2 theta``). snnTorch's spike test
subtracts the threshold once more after a step that left ``v > theta`` (and its reset adds it
back), so beyond that limit it spikes where

    s[t] = Heaviside(alpha * v[t-1] + x[t] - theta * Heaviside(v[t-1] - theta) - theta)

while both keep ``v[t] = h[t] - s[t] * theta``: snnTorch skips the spike that follows a step left
above threshold when ``h[t] <= 2 theta``. The boundary is tested against snnTorch itself in
``tests/networks/test_snntorch_equivalence.py``.

CuBa-LIF (snnTorch ``Synaptic``): ``i[t] = alpha_syn * i[t-1] + x[t]``, then LIF with ``x -> i``
and ``alpha -> alpha_mem``; the synaptic current is never reset. IF: LIF with ``alpha = 1``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from neuromorph.primitives.spike import spike
from neuromorph.specs.options import RESET_KINDS, SpikeOptions

ResetFn = Callable[[Tensor, Tensor, Tensor, float], Tensor]

#: the spike and reset options of a kernel call when none are given (subtract reset, same step,
#: fast-sigmoid surrogate); every kernel takes one validated :class:`SpikeOptions`.
DEFAULT_OPTIONS = SpikeOptions()


def _reset_subtract(h: Tensor, s: Tensor, theta: Tensor, v_reset: float) -> Tensor:
    return h - s * theta


def _reset_zero(h: Tensor, s: Tensor, theta: Tensor, v_reset: float) -> Tensor:
    return h * (1.0 - s) + s * v_reset


#: reset kind (:data:`neuromorph.specs.RESET_KINDS`) -> ``v_after = f(v_before, s, theta,
#: v_reset)``. The kinds are validated by :class:`SpikeOptions`; this maps each to its equation.
RESETS: dict[str, ResetFn] = {"subtract": _reset_subtract, "zero": _reset_zero}
if tuple(RESETS) != RESET_KINDS:  # a reset kind added to the specs needs its equation here
    raise ImportError(f"kernels implement resets {sorted(RESETS)}, specs name {RESET_KINDS}")


def options_of(options: SpikeOptions | dict | None) -> SpikeOptions:
    """``options`` as a :class:`SpikeOptions` (``None``: the defaults; a dict is validated)."""
    return DEFAULT_OPTIONS if options is None else SpikeOptions.coerce(options)


def check_kernel_inputs(
    x: Tensor, states: dict[str, Tensor], per_neuron: dict[str, Tensor]
) -> tuple[int, int, int]:
    """Validate kernel inputs: ``x [T,B,N]``, states ``[B,N]``, per-neuron ``[N]``, same dtype.

    Returns ``(T, B, N)``. Raises ``ValueError`` saying which tensor is wrong and what is expected.
    """
    if not isinstance(x, Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f"x must be a [T, B, N] tensor, got {shape}; flatten feature dims to N "
            "(e.g. x.flatten(2)) before calling a kernel"
        )
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    T, B, N = x.shape
    for name, t in states.items():
        if tuple(t.shape) != (B, N):
            raise ValueError(f"{name} must have shape [B, N] = {[B, N]}, got {list(t.shape)}")
    for name, t in per_neuron.items():
        if tuple(t.shape) != (N,):
            raise ValueError(
                f"{name} must be a per-neuron tensor of shape [N] = [{N}], got {list(t.shape)}; "
                f"expand a scalar with torch.full(({N},), value)"
            )
    for name, t in {**states, **per_neuron}.items():
        if t.dtype != x.dtype:
            raise ValueError(f"{name} has dtype {t.dtype} but x has {x.dtype}; cast it to match")
        if t.device != x.device:
            raise ValueError(f"{name} is on {t.device} but x is on {x.device}; move it there")
    return T, B, N


def _step(xt: Tensor, v: Tensor, alpha: Tensor, theta: Tensor,
          o: SpikeOptions) -> tuple[Tensor, Tensor]:
    reset_fn = RESETS[o.reset]
    if o.reset_delay:
        p = spike(v - theta, o.surrogate, o.scale)
        if o.detach_reset:
            p = p.detach()
        if o.reset == "subtract":
            h = alpha * v + xt - p * theta
        else:
            h = alpha * reset_fn(v, p, theta, o.v_reset) + xt
        return spike(h - theta, o.surrogate, o.scale), h
    h = alpha * v + xt
    s = spike(h - theta, o.surrogate, o.scale)
    return s, reset_fn(h, s.detach() if o.detach_reset else s, theta, o.v_reset)


def lif_step_reference(
    x: Tensor, v: Tensor, alpha: Tensor, theta: Tensor,
    options: SpikeOptions | None = None,
) -> tuple[Tensor, Tensor]:
    """One LIF step ``(x[t], v[t-1]) -> (s[t], v[t])`` (any broadcastable shapes; same equations
    as :func:`lif_multistep_reference`, which is this step applied T times). No checks: a step
    loop calls it every step."""
    return _step(x, v, alpha, theta, options_of(options))


def _lif_scan(x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
              o: SpikeOptions) -> tuple[Tensor, Tensor]:
    """The LIF step loop over time on a ``[T, B, N]`` input ``x`` (already validated)."""
    spikes: list[Tensor] = []
    vs: list[Tensor] = []
    v = v0
    for t in range(x.shape[0]):
        s, v = _step(x[t], v, alpha, theta, o)
        spikes.append(s)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs)


def lif_multistep_reference(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
    options: SpikeOptions | None = None,
) -> tuple[Tensor, Tensor]:
    """Multi-step LIF (see module docstring). Returns ``(spikes, v)``, both ``[T, B, N]``."""
    check_kernel_inputs(x, {"v0": v0}, {"alpha": alpha, "theta": theta})
    return _lif_scan(x, v0, alpha, theta, options_of(options))


def cuba_lif_multistep_reference(
    x: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    options: SpikeOptions | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Multi-step current-based LIF. Returns ``(spikes, i, v)``, each ``[T, B, N]``.

    ``i[t] = alpha_syn * i[t-1] + x[t]``; the membrane is the LIF of the module docstring driven
    by ``i`` with leak ``alpha_mem``.
    """
    check_kernel_inputs(
        x, {"i0": i0, "v0": v0}, {"alpha_syn": alpha_syn, "alpha_mem": alpha_mem, "theta": theta}
    )
    o = options_of(options)
    currents: list[Tensor] = []
    i = i0
    for t in range(x.shape[0]):
        i = alpha_syn * i + x[t]
        currents.append(i)
    cur = torch.stack(currents)
    s, v = _lif_scan(cur, v0, alpha_mem, theta, o)
    return s, cur, v


def if_multistep_reference(
    x: Tensor, v0: Tensor, theta: Tensor, options: SpikeOptions | None = None,
) -> tuple[Tensor, Tensor]:
    """Multi-step integrate-and-fire (LIF with ``alpha = 1``). Returns ``(spikes, v)``."""
    check_kernel_inputs(x, {"v0": v0}, {"theta": theta})
    return _lif_scan(x, v0, torch.ones_like(theta), theta, options_of(options))


__all__ = [
    "DEFAULT_OPTIONS",
    "RESETS",
    "check_kernel_inputs",
    "options_of",
    "cuba_lif_multistep_reference",
    "if_multistep_reference",
    "lif_multistep_reference",
    "lif_step_reference",
]
