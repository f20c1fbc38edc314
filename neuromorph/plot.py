"""Figures a researcher would put in a paper: rasters, learning curves with error bands over
seeds and visible baselines, histograms that do not hide each other (weights, or ours beside a
reference), weight images and confusion matrices with colorbars. Each function returns the
matplotlib ``Figure`` (pass ``ax=`` to draw into an existing axes) and labels its axes with
units; :func:`save` writes a PNG.

Conventions: times in seconds (SI; ``time_unit="ms"`` rescales the axis only), accuracies as
fractions in ``[0, 1]`` shown in percent, spread over seeds as the sample standard deviation
(``ddof = 1``; no band for one seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

ArrayLike = Sequence[float] | np.ndarray
_TIME_SCALE = {"s": 1.0, "ms": 1e3}
_STYLES = ("-", "--", "-.", ":")
_MARKERS = "os^vDP"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def save(fig: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Write ``fig`` as an image (format from the suffix) and close it."""
    path = Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def raster(times: ArrayLike, neurons: ArrayLike, *,
           groups: Mapping[str, tuple[int, int]] | None = None, time_unit: str = "s",
           title: str = "", ax: Axes | None = None) -> Figure:
    """Spike raster: one dot per spike at ``(times[k] (s), neurons[k])``. ``groups`` maps a
    label to a half-open index range ``[start, stop)`` drawn in its own colour, with a legend
    (e.g. ``{"excitatory": (0, 3200), "inhibitory": (3200, 4000)}``)."""
    if time_unit not in _TIME_SCALE:
        raise ValueError(f"time_unit must be one of {list(_TIME_SCALE)}, got {time_unit!r}")
    t = np.asarray(times, dtype=float) * _TIME_SCALE[time_unit]
    i = np.asarray(neurons)
    if t.shape != i.shape:
        raise ValueError(f"times and neurons must have the same shape, got {t.shape} and "
                         f"{i.shape}; pass one (time, index) pair per spike")
    ax = _axes(ax, (7, 3.5))
    spans = groups or {"": (int(i.min()) if i.size else 0, int(i.max()) + 1 if i.size else 1)}
    rows = max(stop for _, stop in spans.values()) - min(start for start, _ in spans.values())
    size = float(np.clip(1500.0 / max(rows, 1), 2.0, 40.0))  # ticks fill a row when rows are few
    for label, (start, stop) in spans.items():
        sel = (i >= start) & (i < stop)
        ax.scatter(t[sel], i[sel], s=size, marker="|", linewidths=0.6 if rows > 100 else 1.0,
                   label=label or None)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel("neuron index")
    ax.set_title(title)
    if groups:
        ax.legend(loc="upper right", fontsize=8, markerscale=4)
    return ax.figure


def learning_curves(curves: Mapping[str, ArrayLike], x: ArrayLike | Mapping[str, ArrayLike], *,
                    baselines: Mapping[str, float | ArrayLike] | None = None,
                    xlabel: str = "epoch", ylabel: str = "test accuracy (%)",
                    percent: bool = True, title: str = "", ax: Axes | None = None) -> Figure:
    """Mean over seeds with a ±1 std band, one line per method.

    ``curves[name]`` is ``[n_seeds, len(x)]`` (or ``[len(x)]`` for one seed); ``x`` is shared,
    or a mapping ``name -> x`` when methods are evaluated at different points. ``baselines``
    are drawn as horizontal dashed lines (a value, or per-seed values whose mean is drawn with
    its std band), so every baseline stays visible. Curves that lie on one another stay
    visible too: each has its own colour, line style and hollow marker, and a curve drawn
    later (on top) is thinner than the ones under it."""
    scale = 100.0 if percent else 1.0
    ax = _axes(ax, (6.5, 4))
    for k, (name, values) in enumerate(curves.items()):
        xs = np.asarray(x[name] if isinstance(x, Mapping) else x, dtype=float)
        arr = np.atleast_2d(np.asarray(values, dtype=float)) * scale
        if arr.shape[1] != xs.size:
            raise ValueError(f"curve {name!r} has {arr.shape[1]} points but x has {xs.size}; "
                             "pass one value per x for every seed")
        mean = arr.mean(0)
        line, = ax.plot(xs, mean, _STYLES[k % len(_STYLES)], marker=_MARKERS[k % len(_MARKERS)],
                        markersize=4 + 1.5 * (len(curves) - 1 - k), markerfacecolor="none",
                        markevery=max(1, xs.size // 12), lw=max(0.8, 2.6 - 0.5 * k),
                        label=f"{name} ({_seeds(arr.shape[0])})", zorder=3 + k)
        if arr.shape[0] > 1:
            std = arr.std(0, ddof=1)
            ax.fill_between(xs, mean - std, mean + std, color=line.get_color(), alpha=0.2,
                            linewidth=0)
    for k, (name, value) in enumerate((baselines or {}).items()):
        reference_line(ax, value, f"{name} (baseline)", scale=scale,
                       color=f"C{(len(curves) + k) % 10}", style=_STYLES[(k + 1) % len(_STYLES)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax.figure


def reference_line(ax: Axes, value: float | ArrayLike, label: str, *, scale: float = 1.0,
                   color: str = "0.3", style: str = "--", vertical: bool = False) -> None:
    """A reference drawn across ``ax`` (a baseline, a peer's or a published number): a line
    at the mean of ``value`` (one value, or one per seed) times ``scale``, with its ±1 std band
    (``ddof = 1``) when there are several, and ``label`` in the legend. ``vertical=True``
    draws it at an x value instead of a y value."""
    vals = np.atleast_1d(np.asarray(value, dtype=float)) * scale
    line, span = (ax.axvline, ax.axvspan) if vertical else (ax.axhline, ax.axhspan)
    line(vals.mean(), color=color, ls=style, lw=1.2, label=label, zorder=2)
    if vals.size > 1:
        std = vals.std(ddof=1)
        span(vals.mean() - std, vals.mean() + std, color=color, alpha=0.12, lw=0)


def seed_bars(values: Mapping[str, ArrayLike], *,
              references: Mapping[str, float | ArrayLike] | None = None,
              ylabel: str = "test accuracy (%)", percent: bool = True, title: str = "",
              ax: Axes | None = None) -> Figure:
    """Final results over seeds: one bar per method at the mean, a ±1 std error bar
    (``ddof = 1``; none for one seed), every seed's value as a dot and the mean printed on the
    bar. ``references`` (e.g. backprop on the same network) are horizontal lines across the
    chart with their std band (:func:`reference_line`), in the legend."""
    scale = 100.0 if percent else 1.0
    ax = _axes(ax, (1.2 * len(values) + 3.0, 3.8))
    for k, (name, value) in enumerate(values.items()):
        vals = np.atleast_1d(np.asarray(value, dtype=float)) * scale
        std = vals.std(ddof=1) if vals.size > 1 else 0.0
        ax.bar(k, vals.mean(), 0.6, yerr=std if vals.size > 1 else None, capsize=5,
               color=f"C{k % 10}", alpha=0.55, edgecolor=f"C{k % 10}",
               label=f"{name} ({_seeds(vals.size)})")
        ax.plot(np.full(vals.size, k) + np.linspace(-0.12, 0.12, vals.size), vals, "k.",
                ms=5, zorder=4)
        text = f"{vals.mean():.1f}" if percent else f"{vals.mean():.3g}"
        ax.text(k, 0.02, text, ha="center", va="bottom", fontsize=8,
                transform=ax.get_xaxis_transform())  # inside the bar's foot
    for k, (name, value) in enumerate((references or {}).items()):
        reference_line(ax, value, f"{name} (reference)", scale=scale,
                       color=f"C{(len(values) + k) % 10}", style=_STYLES[(k + 1) % len(_STYLES)])
    ax.set_xticks(range(len(values)), list(values))
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(0, 118)  # headroom above 100 % for the legend
        ax.set_yticks(range(0, 101, 20))
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", ncol=min(3, len(values) + len(references or {})))
    return ax.figure


def heatmap(values: ArrayLike, row_labels: Sequence[str], col_labels: Sequence[str], *,
            label: str, cell_text: Sequence[Sequence[str]] | None = None, cmap: str = "viridis",
            vmin: float | None = None, vmax: float | None = None, xlabel: str = "",
            ylabel: str = "", title: str = "", ax: Axes | None = None) -> Figure:
    """A ``[rows, cols]`` grid of values in colour with a colorbar labelled ``label`` (name and
    unit); NaN cells are grey (no value: refused, missing). ``cell_text[i][j]`` is written in
    the cell (black on grey and light colours, white on dark ones)."""
    grid = np.asarray(values, dtype=float)
    if grid.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"values have shape {grid.shape} but the labels give "
                         f"{(len(row_labels), len(col_labels))}; pass one label per row and "
                         "column")
    ax = _axes(ax, (0.9 * len(col_labels) + 3.0, 0.42 * len(row_labels) + 1.6))
    ax.set_facecolor("0.85")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label=label, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=30 if len(col_labels) > 4 else 0,
                  ha="right" if len(col_labels) > 4 else "center")
    ax.set_yticks(range(len(row_labels)), row_labels)
    for i in range(grid.shape[0] if cell_text is not None else 0):
        for j in range(grid.shape[1]):
            ax.text(j, i, cell_text[i][j], ha="center", va="center", fontsize=7,
                    color=_text_color(image, grid[i, j]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax.figure


def _text_color(image: matplotlib.image.AxesImage, value: float) -> str:
    """Black on grey (NaN) and light colours, white on dark ones (by the cell's luminance)."""
    if np.isnan(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _seeds(n: int) -> str:
    return "1 seed" if n == 1 else f"mean ± std, {n} seeds"


def histograms(samples: Mapping[str, ArrayLike], *, xlabel: str, bins: int = 40,
               value_range: tuple[float, float] | None = None, density: bool = False,
               title: str = "", ax: Axes | None = None) -> Figure:
    """Overlaid histograms on shared bins, each an outlined step over a light fill, so none
    hides another (e.g. ours beside a reference simulator's). ``density=True`` normalises each
    to unit area (``ylabel`` "density"), for samples of different sizes."""
    data = {k: np.asarray(v, dtype=float).ravel() for k, v in samples.items()}
    data = {k: v[np.isfinite(v)] for k, v in data.items()}
    every = np.concatenate(list(data.values())) if data else np.zeros(1)
    edges = np.histogram_bin_edges(every if every.size else np.zeros(1), bins=bins,
                                   range=value_range)
    ax = _axes(ax, (6, 3.6))
    for k, (name, w) in enumerate(data.items()):
        color = f"C{k % 10}"
        ax.hist(w, bins=edges, histtype="stepfilled", alpha=0.25, color=color, density=density)
        ax.hist(w, bins=edges, histtype="step", lw=1.5, color=color, density=density,
                ls=_STYLES[k % len(_STYLES)], label=f"{name} (n={w.size})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "count")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax.figure


def weight_histogram(weights: Mapping[str, ArrayLike], *, bins: int = 40,
                     value_range: tuple[float, float] | None = None, unit: str = "",
                     title: str = "", ax: Axes | None = None) -> Figure:
    """:func:`histograms` of weights; ``unit`` labels the x axis (e.g. ``"S"`` for a
    conductance, ``"g_max"`` for weights in units of their bound)."""
    return histograms(weights, xlabel=f"weight ({unit})" if unit else "weight", bins=bins,
                      value_range=value_range, title=title, ax=ax)


def weight_images(weights: ArrayLike, shape: tuple[int, int], *, unit: str = "",
                  cmap: str = "hot_r", title: str = "", ax: Axes | None = None) -> Figure:
    """Each row of ``weights`` (``[n, h * w]``) as an ``h x w`` tile of one grid (receptive
    fields), on one shared colour scale with a colorbar labelled ``weight (unit)``."""
    w = np.asarray(weights, dtype=float)
    h, wd = shape
    if w.ndim != 2 or w.shape[1] != h * wd:
        raise ValueError(f"weights must be [n, {h * wd}] for tiles of shape {shape}, got "
                         f"{w.shape}; pass one flattened image per row")
    n = w.shape[0]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (h + 1) - 1, cols * (wd + 1) - 1), np.nan)  # NaN gaps: blank
    for j in range(n):
        r, c = divmod(j, cols)
        grid[r * (h + 1): r * (h + 1) + h, c * (wd + 1): c * (wd + 1) + wd] = w[j].reshape(h, wd)
    ax = _axes(ax, (0.45 * cols + 1.8, 0.45 * rows + 0.8))
    image = ax.imshow(grid, cmap=cmap, vmin=float(w.min()), vmax=float(w.max()))
    ax.figure.colorbar(image, ax=ax, label=f"weight ({unit})" if unit else "weight",
                       fraction=0.046, pad=0.04)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return ax.figure


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, classes: Sequence[str], *,
                     normalize: bool = True, title: str = "", ax: Axes | None = None) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted) with a colorbar; cells show
    counts, colours the row-normalised fraction (``normalize=False``: the counts)."""
    n = len(classes)
    t, p = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    if t.shape != p.shape or (t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n)):
        raise ValueError(f"y_true and y_pred must be equal-length labels in [0, {n}); "
                         "pass class indices, one per sample")
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (t, p), 1)
    shown = counts / np.maximum(counts.sum(1, keepdims=True), 1) if normalize else counts
    ax = _axes(ax, (1.6 + 0.5 * n, 0.9 + 0.5 * n))
    vmax = 1.0 if normalize else max(float(counts.max()), 1.0)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count",
                       fraction=0.046, pad=0.04)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                dark = shown[i, j] > 0.6 * vmax  # white text on the dark end of the map
                ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set_xticks(range(n), classes, rotation=45)
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax.figure


__all__ = ["confusion_matrix", "heatmap", "histograms", "learning_curves", "raster",
           "reference_line", "save", "seed_bars", "weight_histogram", "weight_images"]
