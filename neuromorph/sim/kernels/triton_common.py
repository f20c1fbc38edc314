"""Shared pieces of the Triton neuron kernels: option tables, launch geometry, device functions.

Every Triton neuron kernel (:mod:`.triton_lif`, :mod:`.triton_cuba`, :mod:`.triton_if`) runs one
program per block of the ``B*N`` neurons and loops over all ``T`` steps inside the program
(forward in time, backward in reverse), keeping the state in fp32 registers. Tensors are
contiguous ``[T, B, N]``: element ``(t, b, n)`` lives at ``t*B*N + b*N + n``, so a block reads
consecutive addresses along ``N`` (coalesced) and per-neuron parameters are indexed by
``offs % N``.

The dynamics mirror :mod:`neuromorph.sim.kernels.reference` exactly (see its docstring):

    non-delayed:  h = alpha*v + x;  s = H(h - theta);  v' = reset(h, s)
    delayed:      p = H(v - theta) (= previous spike);  h = alpha*v + x - p*theta   ("subtract")
                                                        h = alpha*(v(1-p) + p*v_reset) + x ("zero")
                  s = H(h - theta);  v' = h

The surrogate formulas mirror :mod:`neuromorph.primitives.spike`. The public wrappers take one
validated :class:`~neuromorph.specs.SpikeOptions` and unpack it to kernel constants in exactly
one place (:func:`kernel_constants`, with :data:`SURROGATE_IDS` and :data:`RESET_IS_ZERO`).
"""

from __future__ import annotations

from dataclasses import dataclass

import triton
import triton.language as tl
from torch import Tensor

from neuromorph.sim.kernels.reference import options_of
from neuromorph.specs.options import RESET_KINDS, SpikeOptions

#: canonical surrogate name -> the ``SURR`` constant of :func:`surrogate_grad`.
SURROGATE_IDS: dict[str, int] = {
    "fast_sigmoid": 0,
    "arctan": 1,
    "sigmoid": 2,
    "triangular": 3,
    "straight_through": 4,
}

#: reset kind -> the ``RESET_ZERO`` constant of the kernels.
RESET_IS_ZERO: dict[str, bool] = {"subtract": False, "zero": True}
if tuple(RESET_IS_ZERO) != RESET_KINDS:  # a reset kind added to the specs needs a kernel
    raise ImportError(f"Triton kernels implement resets {sorted(RESET_IS_ZERO)}, specs name "
                      f"{RESET_KINDS}")


@dataclass(frozen=True)
class KernelConstants:
    """A :class:`SpikeOptions` unpacked to the scalar arguments of the kernels and custom ops."""

    v_reset: float
    surr: int
    scale: float
    reset_zero: bool
    reset_delay: bool
    detach: bool

    def op_args(self) -> tuple[float, int, float, bool, bool, bool]:
        """``(v_reset, surr, scale, reset_zero, reset_delay, detach)``: the order every custom
        op takes them in."""
        return (self.v_reset, self.surr, self.scale, self.reset_zero, self.reset_delay,
                self.detach)


def kernel_constants(options: SpikeOptions | dict | None) -> KernelConstants:
    """The kernel constants of ``options`` (already validated by :class:`SpikeOptions`)."""
    o = options_of(options)
    if o.surrogate not in SURROGATE_IDS:  # a surrogate in the registry but not in the kernels
        raise ValueError(f"surrogate {o.surrogate!r} has no Triton implementation; known: "
                         f"{sorted(SURROGATE_IDS)}")
    return KernelConstants(o.v_reset, SURROGATE_IDS[o.surrogate], float(o.scale),  # type: ignore[arg-type]
                           RESET_IS_ZERO[o.reset], o.reset_delay, o.detach_reset)


def launch_geometry(bn: int, block: int | None = None) -> tuple[int, int, tuple[int]]:
    """``(BLOCK, num_warps, grid)`` for ``bn = B*N`` neurons.

    One element per thread (BLOCK = 32*num_warps) keeps the most programs in flight for the
    sequential time loop; very large layers use 4 elements per thread (vectorised 16-byte
    accesses). ``block`` overrides the choice (tests use small blocks to exercise masking).
    """
    if block is None:
        block = 128 if bn <= (1 << 21) else 512
        if bn <= 64:
            block = 64
    num_warps = 4 if block >= 128 else max(1, block // 32)
    return block, num_warps, (triton.cdiv(bn, block),)


def check_launchable(kernel: object, x: Tensor) -> None:
    """Raise if ``x`` lives where the Triton ``kernel`` cannot run (CPU without the interpreter)."""
    from triton.runtime.interpreter import InterpretedFunction

    if x.is_cuda or isinstance(kernel, InterpretedFunction):
        return
    raise RuntimeError(
        f"Triton neuron kernels need CUDA tensors, got device {x.device}; use the CPU path "
        "(neuromorph.sim.kernels) or set TRITON_INTERPRET=1 before importing triton"
    )


# ----------------------------------------------------------------------------- device functions


@triton.jit
def surrogate_grad(u, k, SURR: tl.constexpr):
    """``ds/du`` of the surrogate ``SURR`` (see :data:`SURROGATE_IDS`) at ``u`` (fp32)."""
    if SURR == 0:  # fast_sigmoid: 1 / (k|u| + 1)^2
        d = k * tl.abs(u) + 1.0
        g = 1.0 / (d * d)
    elif SURR == 1:  # arctan: (k/2) / (1 + (pi/2 k u)^2)
        z = 1.5707963267948966 * k * u
        g = (0.5 * k) / (1.0 + z * z)
    elif SURR == 2:  # sigmoid: k sig(ku) (1 - sig(ku)) = k e / (1 + e)^2 with e = exp(-k|u|)
        e = tl.exp(-k * tl.abs(u))
        g = k * e / ((1.0 + e) * (1.0 + e))
    elif SURR == 3:  # triangular (snnTorch): k below threshold, -k at or above
        g = tl.where(u < 0.0, k, -k)
    else:  # straight_through
        g = tl.full(u.shape, 1.0, tl.float32)
    return g


@triton.jit
def reset_value(h, s, theta, v_reset, RESET_ZERO: tl.constexpr):
    """Membrane after the reset: ``h - s*theta`` (subtract) or ``h(1-s) + s*v_reset`` (zero)."""
    if RESET_ZERO:  # noqa: SIM108 (constexpr branch, kept explicit for the Triton compiler)
        v = h * (1.0 - s) + s * v_reset
    else:
        v = h - s * theta
    return v


@triton.jit
def lif_forward_step(v, p, xin, alpha, theta, v_reset,
                     RESET_ZERO: tl.constexpr, RESET_DELAY: tl.constexpr):
    """One LIF step from membrane ``v`` (and pending reset ``p`` when delayed).

    Returns ``(h, s, v_new)``; with a delayed reset ``v_new = h`` and the caller passes ``s``
    as the next ``p``.
    """
    if RESET_DELAY:
        if RESET_ZERO:
            h = alpha * (v * (1.0 - p) + p * v_reset) + xin
        else:
            h = alpha * v + xin - p * theta
        s = (h - theta > 0.0).to(tl.float32)
        v_new = h
    else:
        h = alpha * v + xin
        s = (h - theta > 0.0).to(tl.float32)
        v_new = reset_value(h, s, theta, v_reset, RESET_ZERO)
    return h, s, v_new


@triton.jit
def lif_backward_step(G, gs, gv, h, s, v_prev, p, alpha, theta, v_reset, k,
                      SURR: tl.constexpr, RESET_ZERO: tl.constexpr,
                      RESET_DELAY: tl.constexpr, DETACH: tl.constexpr):
    """Reverse of :func:`lif_forward_step` at one step.

    ``G`` is dL/dv[t] from the future, ``gs``/``gv`` the output gradients at ``t``, ``h``/``s``
    the step's charge and spike, ``v_prev`` the membrane entering the step (``p`` its pending
    reset when delayed). Returns ``(gh, G_prev, dtheta, dalpha)``: dL/dh[t] (= dL/dx[t] of the
    membrane input), dL/dv[t-1], and this step's contributions to dL/dtheta and dL/dalpha.
    """
    sg = surrogate_grad(h - theta, k, SURR)
    if RESET_DELAY:
        gh = gv + G + gs * sg
        dtheta = -gs * sg
        if RESET_ZERO:
            keep = 1.0 - p
            G_prev = gh * alpha * keep
            dalpha = gh * (v_prev * keep + p * v_reset)
            if not DETACH:
                c = gh * alpha * (v_reset - v_prev) * surrogate_grad(v_prev - theta, k, SURR)
                G_prev += c
                dtheta -= c
        else:
            G_prev = gh * alpha
            dtheta -= gh * p
            dalpha = gh * v_prev
            if not DETACH:
                c = gh * theta * surrogate_grad(v_prev - theta, k, SURR)
                G_prev -= c
                dtheta += c
    else:
        gvt = gv + G
        if RESET_ZERO:
            gst = gs
            if not DETACH:
                gst += gvt * (v_reset - h)
            gh = gvt * (1.0 - s) + gst * sg
            dtheta = -gst * sg
        else:
            gst = gs
            if not DETACH:
                gst -= gvt * theta
            gh = gvt + gst * sg
            dtheta = -gst * sg - gvt * s
        G_prev = gh * alpha
        dalpha = gh * v_prev
    return gh, G_prev, dtheta, dalpha


__all__ = [
    "RESET_IS_ZERO",
    "SURROGATE_IDS",
    "KernelConstants",
    "check_launchable",
    "kernel_constants",
    "launch_geometry",
    "lif_backward_step",
    "lif_forward_step",
    "reset_value",
    "surrogate_grad",
]
