"""Figures of the microcircuit and the plasticity studies: references drawn beside our result,
legends, colorbars and units (inspected on the returned matplotlib objects, from data made
here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neuromorph.experiments import microcircuit  # noqa: E402
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
