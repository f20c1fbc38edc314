"""Figures and result text shared by experiments, drawn with :mod:`neuromorph.plot`.

Experiments hold learning curves as lists of ``(x, accuracy)`` points, one list per seed; these
helpers turn them into :func:`neuromorph.plot.learning_curves` arrays (mean ± std band over
seeds) and format a mean over seeds for the printed tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from neuromorph import plot

Curve = Sequence[tuple[float, float]]


def seed_mean_text(values: Sequence[float], digits: int = 2, unit: str = " %") -> str:
    """``mean +- std unit (n seeds)`` over seeds (std with ``ddof = 0``, as the metrics store);
    one seed: ``value unit (1 seed)``, since a spread of one value means nothing."""
    v = np.asarray(values, dtype=float)
    if v.size == 1:
        return f"{v[0]:.{digits}f}{unit} (1 seed)"
    return f"{v.mean():.{digits}f} +- {v.std():.{digits}f}{unit} ({v.size} seeds)"


def count_text(n: int, noun: str) -> str:
    """``"1 error"``, ``"2 errors"``, ``"0 errors"``: a count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def learning_curves(curves: Mapping[str, Curve | Sequence[Curve]], xlabel: str = "epoch",
                    title: str = "", baselines: Mapping[str, float | Sequence[float]] | None = None,
                    ) -> Figure:
    """Test accuracy (%) against training progress, one line per method.

    ``curves[name]`` is one curve (``[(x, accuracy), ...]``) or one curve per seed (drawn as
    mean ± std; seeds share their x); ``baselines[name]`` an accuracy, or one per seed, drawn
    as a horizontal line. Methods without points are left out."""
    xs, ys = {}, {}
    for name, value in curves.items():
        per_seed = [value] if value and np.ndim(value[0]) == 1 else list(value)
        per_seed = [c for c in per_seed if len(c)]
        if per_seed:
            xs[name] = [p[0] for p in per_seed[0]]
            ys[name] = [[p[1] for p in c] for c in per_seed]
    return plot.learning_curves(ys, xs, baselines=baselines, xlabel=xlabel, title=title)


def loss_curves(losses: Sequence[Sequence[Sequence[float]]], title: str = "") -> Figure:
    """Per-layer training loss against epoch (``losses[seed][epoch][layer]``), mean ± std over
    seeds."""
    arr = np.asarray(losses, dtype=float)  # [seed, epoch, layer]
    epochs = np.arange(1, arr.shape[1] + 1)
    layers = {f"layer {k}": arr[:, :, k] for k in range(arr.shape[2])}
    return plot.learning_curves(layers, epochs, ylabel="layer loss softplus(-α ΔG)",
                                percent=False, title=title)
