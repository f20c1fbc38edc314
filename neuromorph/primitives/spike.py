"""Surrogate gradients for the spike non-linearity.

The forward pass is always the strict Heaviside step of ``u = h - theta`` (membrane minus
threshold): ``s = 1 if u > 0 else 0``. The backward pass replaces the Dirac delta by a smooth
surrogate derivative ``ds/du = g(u; scale)``:

====================  =======  ==============================  ================================
name                  scale k  ``g(u; k)``                     snnTorch equivalent
====================  =======  ==============================  ================================
``fast_sigmoid``      25       ``1 / (k |u| + 1)^2``           ``fast_sigmoid(slope=k)``
``arctan``            2        ``(k/2) / (1 + (pi/2 k u)^2)``  ``atan(alpha=k)``
``sigmoid``           25       ``k sig(k u) (1 - sig(k u))``   ``sigmoid(slope=k)``
``triangular``        1        ``k if u < 0 else -k``          ``triangular(threshold=k)``
``straight_through``  (none)   ``1``                           ``straight_through_estimator()``
====================  =======  ==============================  ================================

``triangular`` reproduces snnTorch's definition exactly (the *slope* of a triangle of height
``k``, positive below threshold and negative at or above it). ``atan`` is an alias of
``arctan``. The names are dispatched in exactly one place, :data:`SURROGATES`; every kernel
(torch reference, CPU fast path, Triton) uses :func:`surrogate_grad` or mirrors its formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

GradFn = Callable[[Tensor, float], Tensor]


def _fast_sigmoid(u: Tensor, k: float) -> Tensor:
    return 1.0 / (k * u.abs() + 1.0) ** 2


def _arctan(u: Tensor, k: float) -> Tensor:
    return (k / 2.0) / (1.0 + (math.pi / 2.0 * k * u) ** 2)


def _sigmoid(u: Tensor, k: float) -> Tensor:
    ku = k * u
    return k * torch.sigmoid(ku) * torch.sigmoid(-ku)  # = k sig (1 - sig), without cancellation


def _triangular(u: Tensor, k: float) -> Tensor:
    return torch.where(u < 0, k, -k).to(u.dtype)


def _straight_through(u: Tensor, k: float) -> Tensor:
    return torch.ones_like(u)


# In-place forms ``grad_(u, k, g=None)``: overwrite ``u`` with ``g * ds/du`` (``ds/du`` when ``g``
# is None) in as few passes over memory as possible and with no temporaries of u's size. Used by
# the fused CPU path, where ``u`` is a [T, B, N] buffer that the backward may consume.
GradInplaceFn = Callable[[Tensor, float, "Tensor | None"], Tensor]


def _scalar(x: float, like: Tensor) -> Tensor:
    return torch.tensor(x, dtype=like.dtype, device=like.device)


def _fast_sigmoid_(u: Tensor, k: float, g: Tensor | None = None) -> Tensor:
    w = torch.add(_scalar(1.0, u), u.abs_(), alpha=k, out=u).square_()  # (k|u| + 1)^2
    return w.reciprocal_() if g is None else torch.div(g, w, out=w)


def _arctan_(u: Tensor, k: float, g: Tensor | None = None) -> Tensor:
    c = math.pi / 2.0 * k
    w = torch.addcmul(_scalar(1.0, u), u, u, value=c * c, out=u)  # 1 + (pi/2 k u)^2
    if g is None:
        return torch.div(_scalar(k / 2.0, u), w, out=w)
    return torch.addcdiv(_scalar(0.0, u), g, w, value=k / 2.0, out=w)


def _sigmoid_(u: Tensor, k: float, g: Tensor | None = None) -> Tensor:
    sg = u.abs_().mul_(-k).sigmoid_()  # sig(-|ku|) <= 1/2: s (1 - s) without cancellation
    sg.addcmul_(sg, sg, value=-1.0)
    return sg.mul_(k) if g is None else torch.addcmul(_scalar(0.0, u), sg, g, value=k, out=sg)


def _triangular_(u: Tensor, k: float, g: Tensor | None = None) -> Tensor:
    u.copy_(torch.where(u < 0, k, -k))
    return u if g is None else u.mul_(g)


def _straight_through_(u: Tensor, k: float, g: Tensor | None = None) -> Tensor:
    return u.fill_(1.0) if g is None else u.copy_(g)


@dataclass(frozen=True)
class Surrogate:
    """One surrogate: its name, default scale, derivative ``grad(u, scale) = ds/du`` and the
    in-place form ``grad_(u, scale, g=None)`` that overwrites ``u`` with ``g * ds/du``."""

    name: str
    default_scale: float
    grad: GradFn
    grad_: GradInplaceFn


SURROGATES: dict[str, Surrogate] = {
    "fast_sigmoid": Surrogate("fast_sigmoid", 25.0, _fast_sigmoid, _fast_sigmoid_),
    "arctan": Surrogate("arctan", 2.0, _arctan, _arctan_),
    "sigmoid": Surrogate("sigmoid", 25.0, _sigmoid, _sigmoid_),
    "triangular": Surrogate("triangular", 1.0, _triangular, _triangular_),
    "straight_through": Surrogate("straight_through", 1.0, _straight_through, _straight_through_),
}
_ALIASES: dict[str, str] = {
    "atan": "arctan",
    "superspike": "fast_sigmoid",
    "ste": "straight_through",
}


def get_surrogate(name: str) -> Surrogate:
    """Look up a surrogate by name (or alias); unknown names raise a ``ValueError`` listing all."""
    key = _ALIASES.get(name, name)
    if key not in SURROGATES:
        known = sorted([*SURROGATES, *_ALIASES])
        raise ValueError(f"unknown surrogate {name!r}; choose one of {known}")
    return SURROGATES[key]


def resolve_scale(name: str, scale: float | None) -> float:
    """``scale`` as a float, or the surrogate's default when ``scale is None``."""
    sur = get_surrogate(name)
    if scale is None:
        return sur.default_scale
    scale = float(scale)
    if not math.isfinite(scale):
        raise ValueError(f"surrogate scale must be finite, got {scale}")
    return scale


def surrogate_grad(u: Tensor, name: str = "fast_sigmoid", scale: float | None = None) -> Tensor:
    """The surrogate derivative ``ds/du`` at ``u = h - theta`` (no autograd involved)."""
    return get_surrogate(name).grad(u, resolve_scale(name, scale))


class _SpikeFn(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward."""

    @staticmethod
    def forward(ctx, u: Tensor, grad_fn: GradFn, scale: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(u)
        ctx.grad_fn = grad_fn
        ctx.scale = scale
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (u,) = ctx.saved_tensors
        return grad_out * ctx.grad_fn(u, ctx.scale), None, None


def spike(u: Tensor, surrogate: str = "fast_sigmoid", scale: float | None = None) -> Tensor:
    """``s = Heaviside(u > 0)`` whose gradient is the surrogate ``ds/du`` (see module table)."""
    sur = get_surrogate(surrogate)
    return _SpikeFn.apply(u, sur.grad, resolve_scale(surrogate, scale))


class SpikeFunction(torch.nn.Module):
    """Module form of :func:`spike` with a fixed surrogate and scale."""

    def __init__(self, surrogate: str = "fast_sigmoid", scale: float | None = None) -> None:
        super().__init__()
        self.surrogate = get_surrogate(surrogate).name
        self.scale = resolve_scale(surrogate, scale)

    def forward(self, u: Tensor) -> Tensor:
        return spike(u, self.surrogate, self.scale)

    def extra_repr(self) -> str:
        return f"surrogate={self.surrogate!r}, scale={self.scale}"


__all__ = [
    "SURROGATES",
    "SpikeFunction",
    "Surrogate",
    "get_surrogate",
    "resolve_scale",
    "spike",
    "surrogate_grad",
]
