"""A sweep's results: one CSV row per trial, a markdown table of mean ± std over seeds, plots.

``std`` is the sample standard deviation over seeds (``ddof = 1``); with one seed the table shows
the value alone (``n=1``), never a misleading ``± 0``. Rows follow the grid order, so two sweeps
of the same grid (any executor, interrupted or not) write the same files.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuromorph.experiments.sweep.plan import Trial


@dataclass(frozen=True)
class TrialResult:
    trial: Trial
    metrics: dict[str, float] | None  # None: the trial failed or did not finish
    error: str | None = None


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.4g}"


def mean_std(values: Sequence[float]) -> tuple[float, float, int]:
    """``(mean, sample std (ddof=1; nan for n=1), n)`` of the finite ``values``."""
    arr = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan"), 0
    std = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
    return float(arr.mean()), std, int(arr.size)


def groups(results: list[TrialResult]) -> dict[tuple[tuple[str, str], ...], list[TrialResult]]:
    """Results grouped by swept values (seeds pooled), in first-seen (= grid) order."""
    out: dict[tuple[tuple[str, str], ...], list[TrialResult]] = {}
    for r in results:
        out.setdefault(r.trial.values, []).append(r)
    return out


def csv_text(results: list[TrialResult]) -> str:
    keys = [k for k, _ in results[0].trial.values] if results else []
    names = sorted({m for r in results if r.metrics for m in r.metrics})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*keys, "seed", "status", *names])
    for r in results:
        status = "complete" if r.metrics is not None else (r.error or "missing")
        row = [v for _, v in r.trial.values] + [r.trial.seed, status]
        row += [repr(r.metrics[m]) if r.metrics and m in r.metrics else "" for m in names]
        writer.writerow(row)
    return buf.getvalue()


def markdown_table(results: list[TrialResult], metric: str) -> str:
    """``| key ... | metric (mean ± std) | n |``, one line per grid point."""
    keys = [k for k, _ in results[0].trial.values] if results else []
    lines = ["| " + " | ".join([*keys, f"{metric} (mean ± std over seeds)", "n"]) + " |",
             "|" + "---|" * (len(keys) + 2)]
    for values, rs in groups(results).items():
        mean, std, n = mean_std([r.metrics.get(metric, math.nan) for r in rs if r.metrics])
        cell = _fmt(mean) if n < 2 else f"{_fmt(mean)} ± {_fmt(std)}"
        lines.append("| " + " | ".join([*(v for _, v in values), cell, str(n)]) + " |")
    return "\n".join(lines) + "\n"


def _as_numbers(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def plot_metric(results: list[TrialResult], metric: str, key: str, path: Path) -> Path:
    """``metric`` (mean, bars = std over seeds) against ``key``; one line per value of the
    other swept keys. A numeric key gets a numeric axis (log when it spans > 2 decades)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines: dict[str, dict[str, list[float]]] = {}
    for values, rs in groups(results).items():
        d = dict(values)
        label = ", ".join(f"{k}={v}" for k, v in values if k != key) or metric
        lines.setdefault(label, {})[d[key]] = [r.metrics.get(metric, math.nan)
                                               for r in rs if r.metrics]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, points in lines.items():
        xs_text = list(points)
        xs = _as_numbers(xs_text)
        stats = [mean_std(points[x]) for x in xs_text]
        pos = xs if xs is not None else list(range(len(xs_text)))
        ax.errorbar(pos, [s[0] for s in stats], yerr=[0 if s[2] < 2 else s[1] for s in stats],
                    marker="o", capsize=3, label=label)
        if xs is None:
            ax.set_xticks(pos, xs_text)
        elif min(xs) > 0 and max(xs) / min(xs) > 100:
            ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    if len(lines) > 1:
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


__all__ = ["TrialResult", "csv_text", "groups", "markdown_table", "mean_std", "plot_metric"]
