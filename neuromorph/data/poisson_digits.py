"""Poisson-coded scikit-learn digits, plus small data helpers shared by the spiking experiments.

The digits set ships inside scikit-learn (1797 images of 8 x 8 pixels, values 0..16; nothing
downloads). :func:`load_digits` returns intensities ``x = pixel / 16`` in [0, 1];
:func:`digits_split` makes a seeded, class-stratified train/test split; :func:`poisson_digits`
rate-codes images into time-major spikes ``[T, B, 64]``: pixel ``x`` fires with probability
``x * max_rate * dt`` per step (mean rate ``x * max_rate`` Hz).

Helpers: :func:`stratified_split` (seeded index split) and :func:`minibatches` (seeded shuffled
batches over the batch axis of time-major tensors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.data.splits import stratified_split
from neuromorph.networks.encoders import rate_encode

__all__ = [
    "DigitsSplit",
    "digits_split",
    "load_digits",
    "minibatches",
    "poisson_digits",
    "stratified_split",
]


def load_digits() -> tuple[Tensor, Tensor]:
    """The 1797 scikit-learn digits: ``x [1797, 64]`` float32 in [0, 1] and ``y [1797]`` int64."""
    from sklearn.datasets import load_digits as _sk_load_digits

    data = _sk_load_digits()
    x = torch.as_tensor(data.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(data.target, dtype=torch.int64)
    return x, y


@dataclass
class DigitsSplit:
    """Digits intensities and labels, split into train and test."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def digits_split(test_fraction: float = 0.2, seed: int = 0) -> DigitsSplit:
    """Seeded stratified split of the scikit-learn digits (intensities in [0, 1])."""
    x, y = load_digits()
    tr, te = stratified_split(y, test_fraction, seed)
    return DigitsSplit(x[tr], y[tr], x[te], y[te])


def poisson_digits(
    x: Tensor,
    n_steps: int,
    *,
    dt: float = 1e-3,
    max_rate: float = 200.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rate-code digit intensities ``x [B, 64]`` into spikes ``[n_steps, B, 64]``.

    Pixel ``x`` fires a Bernoulli spike per step with probability ``x * max_rate * dt`` (Hz, s).
    """
    if x.dim() != 2:
        raise ValueError(f"x must be [B, features], got shape {tuple(x.shape)}")
    return rate_encode(x, n_steps, dt=dt, max_rate=max_rate, generator=generator)


def minibatches(
    n: int,
    batch_size: int,
    *,
    generator: torch.Generator | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[Tensor]:
    """Yield index tensors covering ``range(n)`` in batches (seeded permutation if ``shuffle``)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        if drop_last and len(idx) < batch_size:
            return
        yield idx
