"""snn-digits' figures: accuracy and loss with a band over seeds, the raster's output traces
with a legend that names every class and marks the true one, units on the axes."""

import numpy as np
from matplotlib.collections import PolyCollection

from neuromorph.experiments import snn_digits
from neuromorph.experiments.snn_common import figures, train_seed


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _trained(readout: str, seeds: int):
    cfg = snn_digits.Config(epochs=2, train_subset=120, hidden=(8,), n_steps=10,
                            readout=readout, seeds=seeds)
    results, task = [], None
    for seed in range(seeds):
        task = snn_digits.digits_task(cfg, seed)
        results.append(train_seed(cfg, task, seed, lambda: None))
    return cfg, results, task


def test_curves_have_bands_over_seeds_and_output_traces_a_legend():
    cfg, results, task = _trained("mean_membrane", seeds=2)
    figs = figures(cfg, results, task)
    acc = figs["accuracy"].axes[0]
    bands = [c for c in acc.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # test and train, each over 2 seeds
    assert _legend(acc) == ["test (mean ± std, 2 seeds)", "train (mean ± std, 2 seeds)"]
    np.testing.assert_allclose(acc.lines[0].get_ydata(),
                               100 * np.mean([r.test_curve for r in results], axis=0))
    loss = figs["loss"].axes[0]
    assert loss.get_ylabel() == "training loss (mean_membrane readout)"
    out = figs["raster"].axes[-1]
    labels = _legend(out)
    assert len(labels) == 10 and sum(lab.endswith("(true)") for lab in labels) == 1
    true = labels.index(next(lab for lab in labels if lab.endswith("(true)")))
    assert out.lines[true].get_linewidth() > max(
        line.get_linewidth() for k, line in enumerate(out.lines) if k != true)
    assert out.get_ylabel() == "output membrane\n(threshold units)"
    assert figs["raster"].axes[-1].get_xlabel() == "time (ms)"


def test_spiking_output_marks_the_true_class():
    cfg, results, task = _trained("spike_count", seeds=1)
    figs = figures(cfg, results, task)
    out = figs["raster"].axes[-1]
    (label,) = _legend(out)
    assert label.startswith("true class (") and out.get_ylim() == (-0.5, 9.5)
    assert _legend(figs["accuracy"].axes[0]) == ["test (1 seed)", "train (1 seed)"]
