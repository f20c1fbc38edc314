"""neuromorph.plot: each figure renders to PNG and draws exactly the data it was given
(checked against numpy and scikit-learn, computed independently here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from sklearn.metrics import confusion_matrix as sk_confusion  # noqa: E402

from neuromorph import plot  # noqa: E402


def _png(fig, tmp_path, name):
    path = plot.save(fig, tmp_path / f"{name}.png")
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0.01  # not blank
    return image


def test_learning_curves_band_is_mean_plus_minus_sample_std(tmp_path):
    rng = np.random.default_rng(0)
    x = np.arange(1, 6)
    phyll = rng.uniform(0.5, 0.9, size=(3, 5))
    pat = rng.uniform(0.2, 0.4, size=(3, 5))
    fig = plot.learning_curves({"phyll": phyll, "pat": pat}, x,
                               baselines={"backprop": [0.9, 0.92, 0.94], "chance": 0.1})
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    top = bands[0].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(100 * (phyll.mean(0) + phyll.std(0, ddof=1)).max())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["phyll (mean ± std, 3 seeds)", "pat (mean ± std, 3 seeds)",
                      "backprop (baseline)", "chance (baseline)"]
    means = [line.get_ydata() for line in ax.lines[:2]]
    np.testing.assert_allclose(means[0], 100 * phyll.mean(0))
    baseline = [line for line in ax.lines if line.get_label() == "backprop (baseline)"][0]
    assert baseline.get_ydata()[0] == pytest.approx(92.0)
    assert ax.get_ylabel() == "test accuracy (%)"
    _png(fig, tmp_path, "curves")


def test_one_seed_has_no_band_and_bad_shapes_are_refused():
    fig = plot.learning_curves({"a": [0.1, 0.2]}, [0, 1])
    assert not [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    with pytest.raises(ValueError, match="has 3 points but x has 2"):
        plot.learning_curves({"a": [0.1, 0.2, 0.3]}, [0, 1])


def test_confusion_matrix_matches_sklearn_and_has_a_colorbar(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 4, 200))
    fig = plot.confusion_matrix(y, p, ["a", "b", "c", "d"])
    ref = sk_confusion(y, p, labels=range(4), normalize="true")
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(image), ref)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "fraction of true class"
    counts = sk_confusion(y, p, labels=range(4))
    shown = {t.get_text() for t in fig.axes[0].texts}
    assert {str(c) for c in counts.ravel() if c} == shown
    _png(fig, tmp_path, "confusion")
    with pytest.raises(ValueError, match=r"labels in \[0, 4\)"):
        plot.confusion_matrix([0, 5], [0, 1], ["a", "b", "c", "d"])


def test_weight_histogram_counts_match_numpy_on_shared_bins(tmp_path):
    rng = np.random.default_rng(2)
    before, after = rng.uniform(0, 0.01, 500), rng.beta(0.3, 0.3, 500) * 0.01
    fig = plot.weight_histogram({"initial": before, "final": after}, bins=20,
                                value_range=(0, 0.01), unit="S")
    ax = fig.axes[0]
    edges = np.linspace(0, 0.01, 21)
    steps = [p for p in ax.patches if not p.get_fill()]
    assert len(steps) == 2
    heights = steps[1].get_xy()[1:-1:2, 1][:20]  # step outline: the top of every bin
    np.testing.assert_array_equal(heights, np.histogram(after, edges)[0])
    assert ax.get_xlabel() == "weight (S)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["initial (n=500)",
                                                                   "final (n=500)"]
    _png(fig, tmp_path, "hist")


def test_raster_draws_every_spike_and_labels_groups(tmp_path):
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 0.5, 300))
    i = rng.integers(0, 100, 300)
    fig = plot.raster(t, i, groups={"exc": (0, 80), "inh": (80, 100)}, time_unit="ms")
    ax = fig.axes[0]
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(drawn) == 300
    np.testing.assert_allclose(np.sort(drawn[:, 0]), np.sort(t * 1e3))
    assert ax.get_xlabel() == "time (ms)"
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["exc", "inh"]
    _png(fig, tmp_path, "raster")
    with pytest.raises(ValueError, match="same shape"):
        plot.raster(t, i[:-1])


def test_identical_curves_stay_distinguishable_and_x_may_differ_per_method(tmp_path):
    """backprop and PAT through an exact twin give the same curve: the one drawn on top is
    thinner, with its own colour, line style and marker, so the one beneath still shows."""
    same = np.array([[0.2, 0.5, 0.7, 0.8]] * 2)
    fig = plot.learning_curves({"backprop": same, "pat": same, "phyll": [0.1, 0.3, 0.5]},
                               {"backprop": [1, 2, 3, 4], "pat": [1, 2, 3, 4],
                                "phyll": [0, 2, 4]})
    backprop, pat, phyll = fig.axes[0].lines[:3]
    np.testing.assert_array_equal(backprop.get_ydata(), pat.get_ydata())
    assert pat.get_zorder() > backprop.get_zorder()
    assert pat.get_linewidth() < backprop.get_linewidth()
    assert pat.get_markersize() < backprop.get_markersize()  # ring inside ring
    assert len({line.get_linestyle() for line in (backprop, pat, phyll)}) == 3
    assert len({line.get_marker() for line in (backprop, pat, phyll)}) == 3
    assert len({line.get_color() for line in (backprop, pat, phyll)}) == 3
    np.testing.assert_array_equal(phyll.get_xdata(), [0, 2, 4])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["backprop (mean ± std, 2 seeds)", "pat (mean ± std, 2 seeds)",
                      "phyll (1 seed)"]
    _png(fig, tmp_path, "overlap")


def test_histograms_share_bins_and_normalise_each_to_unit_area():
    rng = np.random.default_rng(4)
    ours, ref = rng.normal(5, 1, 400), rng.normal(5.2, 1, 100)
    fig = plot.histograms({"neuromorph": ours, "Brian2": ref}, xlabel="rate (Hz)", bins=15,
                          density=True)
    ax = fig.axes[0]
    steps = [p for p in ax.patches if not p.get_fill()]
    edges = np.histogram_bin_edges(np.concatenate([ours, ref]), bins=15)
    heights = steps[1].get_xy()[1:-1:2, 1][:15]
    np.testing.assert_allclose(heights, np.histogram(ref, edges, density=True)[0])
    assert np.sum(heights * np.diff(edges)) == pytest.approx(1.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("rate (Hz)", "density")
    assert steps[0].get_linestyle() != steps[1].get_linestyle()


def test_weight_images_tile_every_row_with_a_colorbar(tmp_path):
    w = np.arange(5 * 6, dtype=float).reshape(5, 6)
    fig = plot.weight_images(w, (2, 3), unit="g_max")
    grid = np.asarray(fig.axes[0].images[0].get_array())
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)  # 2 x 3 tiles (5 used), one-pixel gaps
    np.testing.assert_array_equal(grid[3:5, 4:7], w[4].reshape(2, 3))  # row 1, column 1
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "weight (g_max)"
    _png(fig, tmp_path, "tiles")
    with pytest.raises(ValueError, match=r"must be \[n, 4\] .* got \(5, 6\)"):
        plot.weight_images(w, (2, 2))


def test_seed_bars_draw_mean_sample_std_every_seed_and_the_reference(tmp_path):
    ff, cff, bp = [0.80, 0.84, 0.86], [0.88, 0.90, 0.91], [0.95, 0.96, 0.97]
    fig = plot.seed_bars({"ff": ff, "cff": cff}, references={"bp": bp})
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches if bar.get_width() == pytest.approx(0.6)]
    np.testing.assert_allclose(heights, [100 * np.mean(ff), 100 * np.mean(cff)])
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    caps = bars[0].errorbar.lines[1]  # the ff bar's error-bar caps: mean ± std
    lows_highs = sorted(float(c.get_ydata()[0]) for c in caps)
    std = 100 * np.std(ff, ddof=1)
    assert lows_highs == pytest.approx([100 * np.mean(ff) - std, 100 * np.mean(ff) + std])
    dots = [line for line in ax.lines if line.get_marker() == "."]
    np.testing.assert_allclose(np.concatenate([d.get_ydata() for d in dots]),
                               100 * np.array(ff + cff))
    ref = [line for line in ax.lines if line.get_label() == "bp (reference)"][0]
    assert ref.get_ydata()[0] == pytest.approx(96.0)
    band = [p for p in ax.patches if p.get_width() != pytest.approx(0.6)]
    assert band and band[0].get_extents().height > 0  # bp's std band
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["bp (reference)", "ff (mean ± std, 3 seeds)", "cff (mean ± std, 3 seeds)"]
    assert ax.get_ylabel() == "test accuracy (%)"
    _png(fig, tmp_path, "bars")


def test_heatmap_has_a_labelled_colorbar_and_grey_missing_cells(tmp_path):
    values = np.array([[0.5, np.nan], [0.25, 1.0]])
    fig = plot.heatmap(values, ["r0", "r1"], ["c0", "c1"], label="accuracy (%)",
                       cell_text=[["50", "refused"], ["25", "100"]])
    ax, bar = fig.axes
    assert bar.get_ylabel() == "accuracy (%)"
    shown = ax.images[0].get_array()
    assert shown.mask[0, 1] and not shown.mask[1, 0] and shown[1, 1] == 1.0
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t for t in ax.texts}
    assert texts[(1, 0)].get_text() == "refused" and texts[(1, 0)].get_color() == "black"
    assert texts[(0, 1)].get_color() == "white"  # 0.25: viridis' dark end
    assert texts[(1, 1)].get_color() == "black"  # 1.0: viridis' light (yellow) end
    assert [t.get_text() for t in ax.get_yticklabels()] == ["r0", "r1"]
    with pytest.raises(ValueError, match="one label per row and column"):
        plot.heatmap(values, ["r0"], ["c0", "c1"], label="x")
    _png(fig, tmp_path, "heatmap")
