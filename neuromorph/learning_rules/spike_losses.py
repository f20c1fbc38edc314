"""Readouts and losses for spiking classifiers on time-major outputs ``[T, B, C]``.

Readouts turn an output trace into class scores (logits ``[B, C]``):

- ``"spike_count"``: ``z_c = sum_t s[t, b, c]`` (spikes of output neuron ``c``),
- ``"max_membrane"``: ``z_c = max_t v[t, b, c]`` (peak of a leaky-integrator readout),
- ``"mean_membrane"``: ``z_c = (1/T) sum_t v[t, b, c]``.

Each loss is the cross-entropy ``-log softmax(z)_y`` of its readout. :func:`rate_regularizer`
penalises per-neuron firing rates ``r = (1/T) sum_t s[t]`` outside ``[lower, upper]`` (spikes per
step, or Hz when ``dt`` is given) with ``mean(relu(lower - r)^2)`` and ``mean(relu(r - upper)^2)``
(Zenke & Vogels 2021 use such bounds to keep hidden layers active but sparse).

:data:`READOUTS` and :data:`LOSSES` are the one place the string names are dispatched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "LOSSES",
    "READOUTS",
    "firing_rates",
    "get_loss",
    "max_membrane",
    "max_membrane_cross_entropy",
    "mean_membrane",
    "mean_membrane_cross_entropy",
    "predict",
    "rate_regularizer",
    "spike_count",
    "spike_count_cross_entropy",
]

Reduction = Literal["mean", "sum", "none"]


def _check_trace(trace: Tensor, name: str) -> None:
    if trace.dim() != 3:
        raise ValueError(
            f"{name} must be time-major [T, B, C], got shape {tuple(trace.shape)}; "
            "for a single sample use trace.unsqueeze(1)"
        )
    if not torch.is_floating_point(trace):
        raise TypeError(f"{name} must be floating point, got {trace.dtype}; use .float()")


def _check_targets(trace: Tensor, targets: Tensor) -> None:
    B, C = trace.shape[1], trace.shape[2]
    if targets.dim() != 1 or targets.shape[0] != B:
        raise ValueError(
            f"targets must be class indices of shape [B] = [{B}], got {tuple(targets.shape)}"
        )
    if targets.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"targets must be integer class indices, got {targets.dtype}; use .long()")
    if targets.numel() and (targets.min() < 0 or targets.max() >= C):
        raise ValueError(
            f"targets must lie in [0, {C - 1}] for C = {C} outputs, got "
            f"[{targets.min().item()}, {targets.max().item()}]"
        )


def spike_count(spikes: Tensor) -> Tensor:
    """Readout ``z[b, c] = sum_t s[t, b, c]`` of spikes ``[T, B, C]``."""
    _check_trace(spikes, "spikes")
    return spikes.sum(dim=0)


def max_membrane(v: Tensor) -> Tensor:
    """Readout ``z[b, c] = max_t v[t, b, c]`` of a membrane trace ``[T, B, C]``."""
    _check_trace(v, "v")
    return v.max(dim=0).values


def mean_membrane(v: Tensor) -> Tensor:
    """Readout ``z[b, c] = mean_t v[t, b, c]`` of a membrane trace ``[T, B, C]``."""
    _check_trace(v, "v")
    return v.mean(dim=0)


READOUTS: dict[str, Callable[[Tensor], Tensor]] = {
    "spike_count": spike_count,
    "max_membrane": max_membrane,
    "mean_membrane": mean_membrane,
}


def _ce(logits_fn: Callable[[Tensor], Tensor], name: str) -> Callable[..., Tensor]:
    def loss(trace: Tensor, targets: Tensor, reduction: Reduction = "mean") -> Tensor:
        _check_trace(trace, name)
        _check_targets(trace, targets)
        return F.cross_entropy(logits_fn(trace), targets.long(), reduction=reduction)

    return loss


def spike_count_cross_entropy(
    spikes: Tensor, targets: Tensor, reduction: Reduction = "mean"
) -> Tensor:
    """Cross-entropy of the spike counts: ``-log softmax(sum_t s[t])_y``; spikes ``[T, B, C]``."""
    return _ce(spike_count, "spikes")(spikes, targets, reduction)


def max_membrane_cross_entropy(
    v: Tensor, targets: Tensor, reduction: Reduction = "mean"
) -> Tensor:
    """Cross-entropy of the peak membrane: ``-log softmax(max_t v[t])_y``; v ``[T, B, C]``."""
    return _ce(max_membrane, "v")(v, targets, reduction)


def mean_membrane_cross_entropy(
    v: Tensor, targets: Tensor, reduction: Reduction = "mean"
) -> Tensor:
    """Cross-entropy of the mean membrane: ``-log softmax(mean_t v[t])_y``; v ``[T, B, C]``."""
    return _ce(mean_membrane, "v")(v, targets, reduction)


LOSSES: dict[str, Callable[..., Tensor]] = {
    "spike_count": spike_count_cross_entropy,
    "max_membrane": max_membrane_cross_entropy,
    "mean_membrane": mean_membrane_cross_entropy,
}


def get_loss(name: str) -> Callable[..., Tensor]:
    """The loss registered as ``name``; an unknown name lists the valid ones."""
    if name not in LOSSES:
        raise ValueError(f"unknown readout loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name]


def predict(trace: Tensor, readout: str = "spike_count") -> Tensor:
    """Predicted class ``argmax_c z[b, c]`` of the readout ``readout`` applied to ``[T, B, C]``."""
    if readout not in READOUTS:
        raise ValueError(f"unknown readout {readout!r}; choose one of {sorted(READOUTS)}")
    return READOUTS[readout](trace).argmax(dim=-1)


def firing_rates(spikes: Tensor, dt: float | None = None) -> Tensor:
    """Per-sample, per-neuron rates ``r[b, n] = (1/T) sum_t s[t, b, ...]`` (per step; Hz with dt).

    ``spikes`` is ``[T, B, ...]``; trailing dimensions are flattened into ``N``.
    """
    if spikes.dim() < 2:
        raise ValueError(f"spikes must be time-major [T, B, ...], got {tuple(spikes.shape)}")
    if dt is not None and dt <= 0:
        raise ValueError(f"dt must be > 0 seconds, got {dt}")
    r = spikes.flatten(2).mean(dim=0) if spikes.dim() > 2 else spikes.mean(dim=0).unsqueeze(-1)
    return r / dt if dt is not None else r


def rate_regularizer(
    spikes: Tensor | Sequence[Tensor],
    *,
    lower: float | None = None,
    upper: float | None = None,
    strength_lower: float = 1.0,
    strength_upper: float = 1.0,
    dt: float | None = None,
    population: bool = False,
) -> Tensor:
    """Squared penalty on firing rates outside ``[lower, upper]``; a scalar tensor.

    ``L = strength_lower * mean_{b,n} relu(lower - r[b,n])^2
    + strength_upper * mean_{b,n} relu(r[b,n] - upper)^2`` with ``r`` from :func:`firing_rates`
    (per step, or Hz with ``dt``). ``population=True`` applies the upper bound to the
    population mean ``mean_n r[b, n]`` instead of each neuron. A list of spike tensors (one per
    layer) sums the penalty over layers.
    """
    if isinstance(spikes, Sequence) and not isinstance(spikes, Tensor):
        terms = [
            rate_regularizer(
                s, lower=lower, upper=upper, strength_lower=strength_lower,
                strength_upper=strength_upper, dt=dt, population=population,
            )
            for s in spikes
        ]
        if not terms:
            raise ValueError("rate_regularizer got an empty list of spike tensors")
        return torch.stack(terms).sum()
    if lower is None and upper is None:
        raise ValueError("rate_regularizer needs at least one of lower= or upper=")
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(f"lower bound {lower} exceeds upper bound {upper}")
    r = firing_rates(spikes, dt)
    loss = r.new_zeros(())
    if lower is not None:
        loss = loss + strength_lower * F.relu(lower - r).pow(2).mean()
    if upper is not None:
        ru = r.mean(dim=1) if population else r
        loss = loss + strength_upper * F.relu(ru - upper).pow(2).mean()
    return loss
