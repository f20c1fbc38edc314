"""Figures of the microcircuit and the plasticity studies: references drawn beside our result,
legends, colorbars and units (inspected on the returned matplotlib objects, from data made
here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neuromorph.experiments import microcircuit, plasticity_figures  # noqa: E402
from neuromorph.experiments.microcircuit_params import (  # noqa: E402
    FULL_MEAN_RATES,
    POPULATIONS,
    scaled,
)


def test_microcircuit_rates_sit_beside_the_reference_with_its_band_and_cv_beside_poisson():
    cfg = microcircuit.Config(scale=0.02, duration=0.2, transient=0.1)
    sc = scaled(cfg.scale, cfg.k, True)
    rng = np.random.default_rng(0)
    n = int(sc.n.sum())
    i = rng.integers(0, n, 3000)
    t = rng.uniform(0.0, 0.3, 3000)
    rates = FULL_MEAN_RATES * np.array([1, 1, 1, 2, 1, 1, 1, 1])  # L4I twice the reference
    stats = {p: {"rate_hz": float(r), "cv": 0.8 if p != "L6E" else float("nan")}
             for p, r in zip(POPULATIONS, rates, strict=True)}
    figs = microcircuit.figures(cfg, i, t, sc, stats)
    raster = figs["raster"].axes[0]
    assert [x.get_text() for x in raster.get_legend().get_texts()] == ["excitatory",
                                                                       "inhibitory"]
    assert raster.get_xlabel() == "time (ms)" and raster.get_ylabel().startswith("layer")
    ax, bx = figs["rates"].axes
    ours, ref = (c for c in ax.containers if c.__class__.__name__ == "BarContainer")
    np.testing.assert_allclose([b.get_height() for b in ours], rates)
    np.testing.assert_allclose([b.get_height() for b in ref], FULL_MEAN_RATES)
    caps = sorted(float(c.get_ydata()[3]) for c in ref.errorbar.lines[1])  # L4I's band
    band = max(microcircuit.REL_TOL * FULL_MEAN_RATES[3], microcircuit.ABS_TOL)
    assert caps == pytest.approx([FULL_MEAN_RATES[3] - band, FULL_MEAN_RATES[3] + band])
    hatched = [b.get_hatch() for b in ours]
    assert hatched[3] == "//" and not any(hatched[:3] + hatched[4:])  # only L4I outside
    assert "7/8 within the band" in ax.get_title()
    assert ax.get_ylabel() == "firing rate (Hz)"
    labels = [x.get_text() for x in ax.get_legend().get_texts()]
    assert labels[0] == "neuromorph" and labels[1].startswith("reference: NEST")
    poisson = next(line for line in bx.lines if line.get_label().startswith("Poisson"))
    assert poisson.get_ydata()[0] == 1.0
    assert any(x.get_text() == "no ISIs" for x in bx.texts)  # L6E: no CV, said so
    assert bx.get_ylabel() == "ISI coefficient of variation"


def test_bcm_figures_draw_the_fixed_point_a_colorbar_and_the_threshold(tmp_path):
    rng = np.random.default_rng(1)
    times = np.arange(1, 11) * 100
    responses = rng.uniform(0, 4, size=(10, 4, 6))  # [time, pattern, neuron], K = 4
    thetas = rng.uniform(0, 4, size=(10, 6))
    si0, si = rng.uniform(0, 0.3, 6), rng.uniform(0.7, 1, 6)
    figs = plasticity_figures.bcm_figures(times, responses, thetas, si0, si, 0.8)
    resp, theta, final, bar = figs["selectivity"].axes
    for ax in (resp, theta):
        fixed = next(line for line in ax.lines if line.get_label().startswith("BCM fixed"))
        assert fixed.get_ydata()[0] == 4.0 and "(a.u.)" in ax.get_ylabel()
        assert "BCM fixed point (K = 4)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert bar.get_ylabel() == "response y (a.u.)"
    np.testing.assert_allclose(final.images[0].get_array(), responses[-1])
    hist = figs["selectivity_histogram"].axes[0]
    labels = [t.get_text() for t in hist.get_legend().get_texts()]
    assert sorted(labels) == ["counted selective (>= 0.8)", "final (n=6)", "initial (n=6)"]
    assert hist.get_ylabel() == "neurons" and "selectivity" in hist.get_xlabel()


def test_oja_figures_draw_sample_pca_beside_the_rules_and_align_signs_under_a_colorbar():
    rng = np.random.default_rng(2)
    u, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    samples = np.arange(1, 9) * 100
    sanger = rng.uniform(0.5, 20, size=(8, 2))
    pca = np.array([0.7, 1.1])
    w_oja, w_gha = -u[:, :1].T, np.stack([u[:, 0], -u[:, 1]])  # learned with flipped signs
    figs = plasticity_figures.oja_figures(samples, sanger[:, 0] * 2, sanger, pca, 5.0, w_oja,
                                          w_gha, u)
    ax = figs["angles"].axes[0]
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert sorted(line.get_ydata()[0] for line in dotted) == pytest.approx([0.7, 1.1])
    assert dotted[0].get_color() == next(
        line for line in ax.lines if line.get_label() == "Sanger -> PC1").get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "sample PCA of the same samples (dotted)" in labels and "threshold 5 deg" in labels
    assert ax.get_ylabel() == "angle to the true component (deg)"
    image, bar = figs["weights"].axes
    assert bar.get_ylabel() == "weight (unit-norm component)"
    shown = image.images[0].get_array()
    np.testing.assert_allclose(shown[0], u[:, 0])  # Oja's row flipped back to PC1's sign
    np.testing.assert_allclose(shown[1:3], u[:, :2].T)
    np.testing.assert_allclose(shown[3:], u[:, :2].T)  # the true components below
