"""ff-digits: Hinton's forward-forward and collaborative FF against backprop, same network.

scikit-learn digits (8x8, 1437 train / 360 test per seed split) through the rules matrix's
one-hidden-layer network ``logits = W_2 F(W_1 x)`` on ``substrate`` (default ``digital``:
``F = ReLU``, 128 hidden units). Each method is one cell of the matrix
(:func:`~neuromorph.experiments.rules_cell.run_cell`): the same split, weights, minibatch order
and budget as ``neuromorph run rules``, so the numbers agree with the matrix's:

* ``ff``: forward-forward (Hinton 2022), layer-local, label embedded in the input,
  ``argmax_c sum_k G_k`` at test time;
* ``cff``: collaborative FF (Lorberbom et al. 2024), each layer's loss sees the summed goodness;
* ``bp``: backprop on cross-entropy (the reference).

Reports test accuracy mean +- std over ``seeds`` seeds (``seed, seed+1, ...``), the training
wall time (one thread) and the substrate queries. Default: about a minute on one core.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph import plot  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.plots import seed_mean_text  # noqa: E402
from neuromorph.experiments.rules_cell import CellResult, CellSettings, run_cell  # noqa: E402
from neuromorph.experiments.rules_data import DATASETS  # noqa: E402
from neuromorph.experiments.rules_entries import all_entries  # noqa: E402
from neuromorph.experiments.run_results import advance_when_resumed  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.models import build_module  # noqa: E402
from neuromorph.specs import spec_from_dict  # noqa: E402
from neuromorph.substrates import SUBSTRATES, default_data_dir  # noqa: E402

#: the key of a seed's results that holds the trained FF network (spec + state, plain data)
TRAINED_FF = "ff_network"

SUMMARY = "forward-forward and collaborative FF vs backprop on digits, same network, 3 seeds"

FIELDS = ("test_accuracy", "train_accuracy", "seconds", "queries")


@dataclass
class Config(ExperimentConfig):
    seeds: int = 3  # runs with seeds seed, seed+1, ...
    methods: tuple[str, ...] = ("ff", "cff", "bp")  # rules-matrix rule names
    substrate: str = "digital"  # a name in neuromorph.substrates.SUBSTRATES
    dataset: str = "digits"
    budget: float = 1.0  # multiplies every method's epochs
    data_dir: str = default_data_dir()  # for substrate=measured_acoustic

    def __post_init__(self) -> None:
        self.check(self.seeds >= 1, f"seeds must be >= 1, got {self.seeds}")
        self.check(self.budget > 0, f"budget must be > 0, got {self.budget}")
        self.check(self.substrate in SUBSTRATES,
                   f"unknown substrate {self.substrate!r}; choose one of {sorted(SUBSTRATES)}")
        self.check(self.dataset in DATASETS,
                   f"unknown dataset {self.dataset!r}; choose one of {list(DATASETS)}")
        known = all_entries()
        bad = [m for m in self.methods if m not in known]
        self.check(not bad and len(self.methods) > 0,
                   f"unknown methods {bad}; choose from {sorted(known)}")


def summarize(results: dict[str, list[CellResult]]) -> dict[str, float]:
    """``<method>_<field>_mean`` / ``_std`` over seeds for every field in :data:`FIELDS`."""
    out: dict[str, float] = {}
    for method, cells in results.items():
        for field in FIELDS:
            values = np.array([getattr(c, field) for c in cells], dtype=float)
            out[f"{method}_{field}_mean"] = float(values.mean())
            out[f"{method}_{field}_std"] = float(values.std())
    return out


def table(results: dict[str, list[CellResult]], metrics: dict[str, float]) -> str:
    lines = [f"{'method':<8}{'test accuracy':>28}{'train':>9}{'seconds':>10}{'queries':>11}"
             "  per seed"]
    for method, cells in results.items():
        m = {f: metrics[f"{method}_{f}_mean"] for f in FIELDS}
        cell = seed_mean_text([100 * c.test_accuracy for c in cells])
        per_seed = ", ".join(f"{100 * c.test_accuracy:.1f}" for c in cells)
        lines.append(f"{method:<8}{cell:>28}{100 * m['train_accuracy']:>8.1f}%"
                     f"{m['seconds']:>10.2f}{m['queries']:>11.3g}  {per_seed}")
    return "\n".join(lines)


def figure(results: dict[str, list[CellResult]], title: str) -> plt.Figure:
    """Test accuracy (%) per method: mean bar, ±1 std over seeds, every seed's dot; backprop
    (``bp``, the same network with gradients) drawn across as the reference when it ran."""
    acc = {m: [c.test_accuracy for c in cells] for m, cells in results.items()}
    reference = {"backprop": acc.pop("bp")} if "bp" in acc and len(acc) > 1 else {}
    return plot.seed_bars(acc, references=reference, ylabel="test accuracy (%)", title=title)


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "ff-digits", cfg)
    settings = CellSettings(dataset=cfg.dataset, budget=cfg.budget, data_dir=cfg.data_dir)
    bar = tqdm(total=len(cfg.methods) * cfg.seeds, desc="ff-digits", disable=not progress)

    def train_methods(seed: int) -> dict[str, dict]:
        out = {}
        for method in cfg.methods:
            cell = run_cell(method, cfg.substrate, seed, settings, keep_network=method == "ff")
            if cell.refused or cell.error:
                raise RuntimeError(f"{method} on {cfg.substrate} (seed {seed}) did not run: "
                                   f"{cell.refused or cell.error}")
            out[method] = cell.to_dict()
            if method == "ff":
                out[TRAINED_FF] = cell.model
            bar.update()
        return out

    per_seed = run.seed_results(range(cfg.seed, cfg.seed + cfg.seeds), train_methods,
                                on_done=advance_when_resumed(bar, len(cfg.methods)))
    results = {m: [CellResult.from_dict(s[m]) for s in per_seed] for m in cfg.methods}
    bar.close()
    metrics = summarize(results)
    if "ff" in results:
        metrics["test_accuracy"] = metrics["ff_test_accuracy_mean"]
    title = (f"ff-digits: {cfg.dataset} on {cfg.substrate}, {cfg.seeds} seed(s) from "
             f"{cfg.seed}, budget x{cfg.budget}")
    text = title + "\n" + table(results, metrics)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    run.save_figure(figure(results, title), "test_accuracy")
    if "ff" in cfg.methods:  # the last seed's trained FF network, reloadable without this code
        saved = per_seed[-1][TRAINED_FF]
        net = build_module(spec_from_dict(saved["spec"]), dt=1.0)
        net.load_state_dict(saved["state"])
        run.save_network(net, info={"seed": cfg.seed + cfg.seeds - 1, "rule": "ff",
                                    "dataset": cfg.dataset})
    return run.path
