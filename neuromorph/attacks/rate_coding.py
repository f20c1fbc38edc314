"""A rate code an attacker can differentiate: Bernoulli spikes with a straight-through gradient.

The spiking digits networks see pixel intensities ``x`` in [0, 1] through a Bernoulli rate code
(:func:`~neuromorph.networks.encoders.rate_encode`): per step ``t`` an input fires when a
uniform draw ``u[t]`` falls below ``p_max x``, where ``p_max = max_rate * dt`` is the spike
probability of a white pixel (``max_rate`` in Hz, ``dt`` in s):

    s[t] = 1[u[t] < p_max x]

The spike train is a step function of ``x``, so it has no useful derivative. The expectation
``E_u[s[t]] = p_max x`` does; :func:`straight_through_rate` returns the sampled spikes in the
forward pass and the derivative of their expectation, ``ds[t]/dx = p_max``, in the backward
pass. Averaging the loss gradient over several noise draws ``u`` is
expectation over transformation (EOT, Athalye et al. 2018): the attacker does not know which
noise the victim will draw, and attacks the expected loss.

The noise ``u`` is an argument, never drawn inside: a fixed ``u`` makes the code deterministic
(the same spikes for the same ``x``), which is how a victim is evaluated on clean and perturbed
inputs with common random numbers.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["rate_noise", "straight_through_rate"]


class _StraightThroughRate(torch.autograd.Function):
    """Forward ``1[u < lam]``; backward ``d/d lam = 1`` (summed over the broadcast axes)."""

    @staticmethod
    def forward(ctx, lam: Tensor, noise: Tensor) -> Tensor:  # type: ignore[override]
        ctx.lam_shape = lam.shape
        return (noise < lam).to(lam.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad_out.sum_to_size(ctx.lam_shape), None


def rate_noise(n_steps: int, x: Tensor, samples: int = 1,
               generator: torch.Generator | None = None) -> Tensor:
    """Uniform draws ``u ~ U[0, 1)`` of shape ``[n_steps, samples * B, F]`` for ``x [B, F]``.

    Sample ``m`` of image ``b`` is row ``m * B + b`` (labels: ``y.repeat(samples)``).
    """
    if x.dim() != 2:
        raise ValueError(f"x must be [B, features], got shape {tuple(x.shape)}")
    if n_steps < 1 or samples < 1:
        raise ValueError(f"n_steps and samples must be >= 1, got {n_steps} and {samples}")
    B, F = x.shape
    return torch.rand(n_steps, samples * B, F, generator=generator, dtype=x.dtype)


def straight_through_rate(x: Tensor, noise: Tensor, p_max: float) -> Tensor:
    """Spikes ``s[t] = 1[u[t] < p_max x]`` ``[T, M * B, F]`` with ``ds[t]/dx = p_max``.

    ``x [B, F]`` are intensities in [0, 1]; ``noise [T, M * B, F]`` holds ``M`` noise draws per
    image (:func:`rate_noise`); ``p_max = max_rate * dt`` must lie in (0, 1].
    """
    if not 0.0 < p_max <= 1.0:
        raise ValueError(f"p_max = max_rate * dt must lie in (0, 1], got {p_max}")
    if x.dim() != 2 or noise.dim() != 3 or noise.shape[2] != x.shape[1] \
            or noise.shape[1] % x.shape[0]:
        raise ValueError(f"noise must be [T, M * B, F] for x [B, F] = {tuple(x.shape)}, got "
                         f"{tuple(noise.shape)}; draw it with rate_noise(n_steps, x, M)")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("x must lie in [0, 1] (a rate code needs probabilities); clip it first")
    samples = noise.shape[1] // x.shape[0]
    lam = (p_max * x).repeat(samples, 1)  # [M * B, F], row m * B + b = image b
    return _StraightThroughRate.apply(lam.unsqueeze(0), noise)
