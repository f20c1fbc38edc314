"""Plots shared by experiments (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def learning_curves(
    curves: dict[str, Sequence[tuple[float, float]]], xlabel: str = "epoch", title: str = ""
) -> plt.Figure:
    """Test accuracy (%) against training progress, one line per method."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        if curve:
            x, y = zip(*curve, strict=True)
            ax.plot(x, 100 * np.asarray(y), label=name, marker=".")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def loss_curves(losses: Sequence[Sequence[float]], title: str = "") -> plt.Figure:
    """Per-layer training loss over epochs (``losses[epoch][layer]``)."""
    arr = np.asarray(losses)
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in range(arr.shape[1]):
        ax.plot(arr[:, k], label=f"layer {k}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("layer loss")
    ax.set_title(title)
    ax.legend()
    return fig


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str], title: str = ""
) -> plt.Figure:
    """Row-normalised confusion matrix with counts annotated."""
    n = len(classes)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    norm = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7)
    ax.set_xticks(range(n), classes, rotation=45)
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return fig
