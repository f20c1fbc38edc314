"""Plots of the analog-drift experiment: accuracy against log time with bands, energy bars."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"float": "tab:blue", "hwa": "tab:green", "insitu": "tab:orange"}


def accuracy_vs_time(results: dict[str, list[float]], float_acc: float, methods: Sequence[str],
                     devices: Sequence[str], times: dict[str, float]) -> plt.Figure:
    """One panel per device: mean accuracy vs time (log), band = +- 1 std over seeds."""
    fig, axes = plt.subplots(1, len(devices), figsize=(5.5 * len(devices), 4), sharey=True)
    t = np.array(list(times.values()))
    for ax, device in zip(np.atleast_1d(axes), devices, strict=True):
        for method in methods:
            for suffix, style in (("", "--"), ("_compensated", "-")):
                keys = [f"{method}_{device}_{name}{suffix}" for name in times]
                if keys[0] not in results:
                    continue
                vals = np.array([results[k] for k in keys]) * 100
                mean, std = vals.mean(axis=1), vals.std(axis=1)
                label = f"{method}{' (compensated)' if suffix else ''}"
                color = COLORS.get(method.removeprefix("snn_"))  # one color per method
                ax.plot(t, mean, style, color=color, marker=".", label=label)
                ax.fill_between(t, mean - std, mean + std, color=color, alpha=0.15)
        ax.axhline(100 * float_acc, color="k", lw=0.8, ls=":", label="float (digital)")
        ax.set_xscale("log")
        ax.set_xticks(t, list(times))
        ax.set_xlabel("time after programming")
        ax.set_title(device.upper())
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy (%)")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    return fig


def energy_bars(costs: dict) -> plt.Figure:
    """Stacked energy per inference (nJ) by component, one bar per (method, device)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels = [f"{m}/{d}" for m, d in costs]
    bottom = np.zeros(len(costs))
    for part in ("dac", "array", "adc", "digital"):
        vals = np.array([getattr(c, part) for c in costs.values()]) * 1e9
        ax.bar(labels, vals, bottom=bottom, label=part)
        bottom += vals
    ax.set_ylabel("energy per inference (nJ)")
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", rotation=30)
    return fig
