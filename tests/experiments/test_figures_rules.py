"""Figures of ff-digits and the rules matrix: spread over seeds, backprop drawn as the
reference beside the rules, colorbars and legends (inspected on the returned matplotlib
objects, from cell results made here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neuromorph.experiments import ff_digits, rules_report  # noqa: E402
from neuromorph.experiments.rules_cell import CellResult  # noqa: E402


def _cells(rule: str, substrate: str, accs: list[float], **extra) -> list[CellResult]:
    return [CellResult(rule, substrate, seed, test_accuracy=a, queries=1e4 * (seed + 1), **extra)
            for seed, a in enumerate(accs)]


def test_ff_digits_figure_has_error_bars_every_seed_and_backprop_as_reference():
    results = {"ff": _cells("ff", "digital", [0.80, 0.84, 0.86]),
               "cff": _cells("cff", "digital", [0.90, 0.91, 0.92]),
               "bp": _cells("bp", "digital", [0.95, 0.96, 0.97])}
    ax = ff_digits.figure(results, "t").axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["backprop (reference)", "ff (mean ± std, 3 seeds)",
                      "cff (mean ± std, 3 seeds)"]
    ref = next(line for line in ax.lines if line.get_label() == "backprop (reference)")
    assert ref.get_ydata()[0] == pytest.approx(96.0)
    errorbars = [c for c in ax.containers if getattr(c, "errorbar", None) is not None]
    assert len(errorbars) == 2  # one per method bar
    seeds = np.concatenate([line.get_ydata() for line in ax.lines if line.get_marker() == "."])
    np.testing.assert_allclose(sorted(seeds), [80, 84, 86, 90, 91, 92])
    assert ax.get_ylabel() == "test accuracy (%)"


def _matrix() -> dict:
    results = (_cells("bp", "digital", [0.96, 0.98])
               + [CellResult("bp", "optical", 0, refused="needs differentiable access")]
               + _cells("dfa", "digital", [0.90, 0.92]) + _cells("dfa", "optical", [0.80, 0.86]))
    return rules_report.collect(results)


def test_rules_heatmap_has_a_colorbar_spread_in_cells_and_marks_backprop():
    cells = _matrix()
    fig = rules_report.heatmap(cells, ["bp", "dfa"], ["digital", "optical"], "test_accuracy",
                               "acc")
    ax, bar = fig.axes
    assert bar.get_ylabel() == "test accuracy (%)"
    texts = {t.get_text() for t in ax.texts}
    assert {"97.0 ± 1.4", "refused", "91.0 ± 1.4", "83.0 ± 4.2"} <= texts  # sample std
    marks = [line for line in bar.lines if line.get_label() == "bp on digital"]
    assert marks and marks[0].get_ydata()[0] == pytest.approx(97.0)


def test_rules_accuracy_figure_draws_every_cell_with_spread_beside_backprop():
    cells = _matrix()
    ax = rules_report.accuracy_figure(cells, ["bp", "dfa"], ["digital", "optical"], "t").axes[0]
    ref = next(line for line in ax.lines if line.get_label().startswith("backprop"))
    assert ref.get_xdata()[0] == pytest.approx(97.0)  # a vertical line at bp's accuracy
    bars = [c for c in ax.containers if c.has_xerr]  # one per substrate, with ±std bars
    assert len(bars) == 2
    points = {(round(float(x), 3), round(float(y))) for b in bars
              for x, y in zip(b.lines[0].get_xdata(), b.lines[0].get_ydata(), strict=True)}
    assert points == {(97.0, 0), (91.0, 1), (83.0, 1)}  # bp refused on optical: no point
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-2:] == ["digital substrate", "optical substrate"]
    assert ax.get_xlabel() == "test accuracy (%)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bp", "dfa"]
