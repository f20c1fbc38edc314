"""Figures of snn-timesteps and snn-attack: bands (over seeds; binomial for one network's
success rates), baselines in the legend, units on the axes (inspected on the returned
matplotlib objects, from metrics made here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from neuromorph.experiments import snn_attack, snn_timesteps  # noqa: E402


def _bands(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_timesteps_figure_has_bands_over_seeds_chips_and_chance():
    cfg = snn_timesteps.Config(steps=(3, 2, 1), teacher_steps=2, chips=("loihi2", "xylo"))
    rng = np.random.default_rng(0)
    per_seed = []
    for _ in range(3):
        m = {f"accuracy_T{t}_scratch": rng.uniform(0.5, 0.9) for t in (3, 2, 1)}
        m["accuracy_T1_chain"] = rng.uniform(0.6, 0.8)
        for chip in cfg.chips:
            for t in (3, 2, 1):
                m[f"accuracy_T{t}_{chip}_int"] = rng.uniform(0.5, 0.9)
                m[f"energy_T{t}_{chip}_nJ"] = 100.0 * t * rng.uniform(0.9, 1.1)
        per_seed.append(m)
    acc, energy = snn_timesteps.figure(cfg, per_seed).axes
    assert len(_bands(acc)) == 4 and len(_bands(energy)) == 2  # every curve has its band
    scratch = np.array([[m[f"accuracy_T{t}_scratch"] for t in (1, 2, 3)] for m in per_seed])
    top = _bands(acc)[0].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(100 * (scratch.mean(0) + scratch.std(0, ddof=1)).max())
    labels = [t.get_text() for t in acc.get_legend().get_texts()]
    assert labels[0] == "trained from scratch (mean ± std, 3 seeds)"
    assert "Intel Loihi 2 integer model (mean ± std, 3 seeds)" in labels
    assert "chance (10 classes) (baseline)" in labels
    chance = next(line for line in acc.lines if line.get_label().startswith("chance"))
    assert chance.get_ydata()[0] == pytest.approx(10.0)
    assert acc.get_xlabel() == "time steps T" and acc.get_ylabel() == "test accuracy (%)"
    assert energy.get_ylabel() == "energy per inference (nJ)" and energy.get_yscale() == "log"


def test_attack_figure_bands_are_binomial_errors_and_the_baseline_is_labelled():
    cfg = snn_attack.Config(surrogates=("fast_sigmoid", "triangular"), epsilons=(0.1, 0.2),
                            chip="loihi2")
    names = ["random", "fgsm_fast_sigmoid", "pgd_fast_sigmoid", "fgsm_triangular",
             "pgd_triangular", "pdsg_fgsm", "pdsg_pgd"]
    m = {"accuracy_clean_float": 0.8, "accuracy_clean_loihi2_int": 0.75, "n_attacked": 100.0}
    for k, name in enumerate(names):
        for e in cfg.epsilons:
            m[f"success_{name}_eps{e:g}"] = min(1.0, 0.05 * (k + 1) + e)
            m[f"transfer_loihi2_{name}_eps{e:g}"] = min(1.0, 0.04 * (k + 1) + e)
    fig = snn_attack.figure(cfg, m, names)
    white, chip = fig.axes
    assert len(_bands(white)) == len(_bands(chip)) == 3  # random, PDSG-PGD, strongest PGD
    p = np.array([m["success_random_eps0.1"], m["success_random_eps0.2"]])
    se = 100 * np.sqrt(p * (1 - p) / 80)  # 80 correctly classified clean images
    ys = _bands(white)[0].get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx((100 * p + se).max())
    assert ys.min() == pytest.approx((100 * p - se).min())
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "random signs (baseline)" and "PDSG-PGD" in labels
    assert "PGD triangular" in labels and len(labels) == len(names)
    assert white.get_ylabel() == "attack success rate (%)"
    assert "pixel intensity" in white.get_xlabel() and "80 correctly" in white.get_title()
    pdsg = next(line for line in white.lines if line.get_label() == "PDSG-PGD")
    pgd = next(line for line in white.lines if line.get_label() == "PGD fast_sigmoid")
    assert pdsg.get_zorder() < pgd.get_zorder()  # the thick PDSG line never hides a thin one
