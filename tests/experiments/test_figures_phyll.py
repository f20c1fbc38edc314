"""PhyLL experiments' figures and table: bands over seeds, baselines drawn, no spread of one."""

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from neuromorph.experiments.phyll_common import MethodResult, table
from neuromorph.experiments.plots import learning_curves, loss_curves, seed_mean_text


def _result(acc: float, curve: list[tuple[float, float]] | None = None) -> MethodResult:
    return MethodResult(test_accuracy=acc, train_accuracy=acc, queries=100, curve=curve or [])


def test_table_prints_one_seed_without_a_spread():
    text = table({"phyll": [_result(0.8633)]})
    row = text.splitlines()[1]
    assert "86.33 % (1 seed)" in row
    assert "+-" not in row and "n=1" not in row


def test_table_prints_mean_and_std_over_several_seeds():
    row = table({"phyll": [_result(0.80), _result(0.90)]}).splitlines()[1]
    assert "85.00 +- 5.00 % (2 seeds)" in row  # std with ddof 0, as in metrics.json


def test_seed_mean_text_units_and_digits():
    assert seed_mean_text([3.14159], digits=1, unit=" Hz") == "3.1 Hz (1 seed)"
    assert seed_mean_text([1.0, 3.0], digits=1, unit="") == "2.0 +- 1.0 (2 seeds)"


def test_learning_curves_band_over_seeds_and_every_baseline_drawn():
    x = [20.0, 60.0, 100.0]
    seeds = [[(xi, a) for xi, a in zip(x, accs, strict=True)]
             for accs in ([0.5, 0.7, 0.9], [0.6, 0.8, 0.9])]
    same = [[(xi, 0.3) for xi in x]] * 2
    fig = learning_curves({"phyll": seeds, "backprop": same, "pat": same},
                          xlabel="training progress (%)",
                          baselines={"linear-readout": [0.95, 0.97]})
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3  # a band per method with 2 seeds
    span = ax.patches[0].get_path().transformed(ax.patches[0].get_patch_transform())
    spread = 100 * np.std([0.95, 0.97], ddof=1)  # the baseline's band over its seeds
    assert span.vertices[:, 1].min() == pytest.approx(96.0 - spread)
    top = bands[0].get_paths()[0].vertices[:, 1].max()
    per_x = np.array([[0.5, 0.6], [0.7, 0.8], [0.9, 0.9]])  # phyll's two seeds at each x
    assert top == pytest.approx(100 * (per_x.mean(1) + per_x.std(1, ddof=1)).max())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["phyll (mean ± std, 2 seeds)", "backprop (mean ± std, 2 seeds)",
                      "pat (mean ± std, 2 seeds)", "linear-readout (baseline)"]
    backprop, pat = ax.lines[1], ax.lines[2]
    assert pat.get_linewidth() < backprop.get_linewidth()  # backprop shows around PAT
    assert ax.lines[3].get_ydata()[0] == pytest.approx(96.0)
    assert ax.get_xlabel() == "training progress (%)"


def test_single_seed_curve_of_plain_points_still_plots():
    fig = learning_curves({"reward-modulated STDP": [(0, 0.25), (10, 0.5)], "empty": []},
                          xlabel="trials")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [25, 50])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "reward-modulated STDP (1 seed)"]


def test_loss_curves_mean_over_seeds_per_layer():
    losses = [[[1.0, 2.0], [0.5, 1.0]], [[3.0, 2.0], [1.5, 1.0]]]  # [seed][epoch][layer]
    fig = loss_curves(losses)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 1.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [2.0, 1.0])
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
