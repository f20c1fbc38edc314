"""MNIST-1D (Greydanus, 2020): a procedural, one-dimensional stand-in for MNIST.

Ten short templates (12 samples each) sketch the digits 0..9 as 1-D strokes. Each sample takes the
template of its class through random transformations, in this order:

1. pad: append ``p ~ U{padding[0], ..., padding[1]}`` zeros (the background);
2. dilate: linearly resample to ``template_len + padding[1]`` points, so the digit's width varies;
3. scale the amplitude by ``1 + scale_coeff * (U - 1/2)``;
4. translate: circular shift by ``k ~ U{0, ..., max_translation - 1}`` points;
5. correlated noise on the background: Gaussian noise of std ``corr_noise_scale`` smoothed by a
   Gaussian kernel of width 2 points, added where the template is absent;
6. i.i.d. Gaussian noise of std ``iid_noise_scale`` everywhere;
7. shear: subtract the ramp ``c * linspace(-1/2, 1/2)`` with ``c = shear_scale * (U - 1/2)``;
8. subsample: linearly resample to ``final_seq_length`` points.

The templates here are written for neuromorph (same idea, not the original numbers). Nothing
downloads; the same ``seed`` gives the same data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from torch import Tensor

__all__ = ["MNIST1D", "TEMPLATES", "make_mnist1d", "transform_template"]

# Ten 12-point strokes, one per digit (amplitude roughly in [-1, 1]).
TEMPLATES: np.ndarray = np.array(
    [
        [0.0, 0.6, 1.0, 0.9, 0.4, -0.2, -0.2, 0.4, 0.9, 1.0, 0.6, 0.0],  # 0: two arcs
        [0.0, 0.0, 0.1, 0.2, 1.0, 1.0, 1.0, 1.0, 0.2, 0.1, 0.0, 0.0],  # 1: one tall bar
        [0.8, 1.0, 0.7, 0.3, -0.1, -0.5, -0.9, -1.0, -0.6, -0.2, 0.2, 0.6],  # 2: high, dip, rise
        [0.6, 1.0, 0.6, 0.0, 0.6, 1.0, 0.6, 0.0, 0.6, 1.0, 0.6, 0.0],  # 3: three bumps
        [-0.2, 0.2, 0.6, 1.0, 0.6, 0.2, -0.2, -0.6, -1.0, -0.6, 1.0, 1.0],  # 4: peak, trough, step
        [1.0, 1.0, 1.0, 0.2, -0.4, -0.4, 0.2, 0.8, 0.8, 0.2, -0.6, -1.0],  # 5: plateau then hook
        [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0, 0.6, 0.2, 0.6, 1.0, 0.6, 0.0],  # 6: ramp then loop
        [1.0, 1.0, 1.0, 1.0, 0.8, 0.5, 0.2, -0.1, -0.4, -0.7, -1.0, -1.0],  # 7: bar then fall
        [0.0, 0.7, 1.0, 0.7, 0.0, -0.7, -1.0, -0.7, 0.0, 0.7, 1.0, 0.7],  # 8: full wave
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 1.0, 1.0, 0.9, 0.7, 0.4, 0.0],  # 9: loop then stem
    ],
    dtype=np.float64,
)


def _resample(x: np.ndarray, n: int) -> np.ndarray:
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(x)), x)


def transform_template(
    template: np.ndarray,
    rng: np.random.Generator,
    *,
    padding: tuple[int, int] = (36, 60),
    scale_coeff: float = 0.4,
    max_translation: int = 48,
    corr_noise_scale: float = 0.25,
    iid_noise_scale: float = 2e-2,
    shear_scale: float = 0.75,
    final_seq_length: int = 40,
) -> np.ndarray:
    """Apply the eight MNIST-1D transformations (module docstring) to one ``template``."""
    low, high = padding
    p = int(rng.integers(low, high + 1))
    x = np.concatenate([template, np.zeros(p)])
    mask = np.concatenate([np.ones(len(template)), np.zeros(p)])
    n = len(template) + high
    x, mask = _resample(x, n), _resample(mask, n)
    x = x * (1.0 + scale_coeff * (rng.random() - 0.5))
    k = int(rng.integers(0, max_translation)) if max_translation > 0 else 0
    x, mask = np.roll(x, k), np.roll(mask, k)
    background = mask < 0.5
    corr = gaussian_filter1d(corr_noise_scale * rng.standard_normal(n), 2.0, mode="wrap")
    x = np.where(background, corr, x)
    x = x + iid_noise_scale * rng.standard_normal(n)
    x = x - shear_scale * (rng.random() - 0.5) * np.linspace(-0.5, 0.5, n)
    return _resample(x, final_seq_length)


@dataclass
class MNIST1D:
    """``x_train [N, L]``, ``y_train [N]``, ``x_test``, ``y_test`` and the time grid ``t [L]``."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    t: Tensor


def make_mnist1d(
    n_samples: int = 5000,
    *,
    train_split: float = 0.8,
    seed: int = 42,
    padding: tuple[int, int] = (36, 60),
    scale_coeff: float = 0.4,
    max_translation: int = 48,
    corr_noise_scale: float = 0.25,
    iid_noise_scale: float = 2e-2,
    shear_scale: float = 0.75,
    final_seq_length: int = 40,
) -> MNIST1D:
    """Generate ``n_samples`` MNIST-1D sequences (labels cycle 0..9, then a seeded shuffle).

    Returns float32 sequences of length ``final_seq_length`` and int64 labels, the first
    ``train_split`` fraction as the training set.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split must lie in (0, 1), got {train_split}")
    if not 0 <= padding[0] <= padding[1]:
        raise ValueError(f"padding must be (low, high) with 0 <= low <= high, got {padding}")
    if max_translation < 0 or final_seq_length < 2:
        raise ValueError("need max_translation >= 0 and final_seq_length >= 2")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples) % 10
    xs = np.stack(
        [
            transform_template(
                TEMPLATES[y], rng, padding=padding, scale_coeff=scale_coeff,
                max_translation=max_translation, corr_noise_scale=corr_noise_scale,
                iid_noise_scale=iid_noise_scale, shear_scale=shear_scale,
                final_seq_length=final_seq_length,
            )
            for y in labels
        ]
    )
    perm = rng.permutation(n_samples)
    xs, labels = xs[perm], labels[perm]
    n_train = int(round(train_split * n_samples))
    x = torch.as_tensor(xs, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    t = torch.linspace(0.0, 1.0, final_seq_length)
    return MNIST1D(x[:n_train], y[:n_train], x[n_train:], y[n_train:], t)
