"""rules: every backprop-free rule on every substrate, side by side (``neuromorph run rules``).

Each cell trains one rule (:mod:`neuromorph.experiments.rules_entries`) on one substrate
(:mod:`neuromorph.substrates`), ``logits = W_2 F(W_1 x)``, for each seed, and reports test
accuracy, substrate queries, wall time, peak training-state memory and the accuracy after a
drift of the substrate, before and after in-situ retraining (:mod:`~.rules_cell`). Where the
access contract refuses a pairing the cell says *refused* with the AccessError's text.
Cells run in a process pool (``workers``); each is seeded, so the table does not depend on
the scheduling. Each finished cell is saved in the run folder as it finishes
(``seeds/cell-RULE.SUBSTRATE.SEED.pt``), so an interrupted matrix resumes (``--resume``)
without rerunning them. Outputs: ``table.md``, ``cells.csv``, ``refusals.md``,
``metrics.json`` (keys in :mod:`~.rules_report`), ``heatmap_accuracy.png``,
``heatmap_queries.png`` and ``accuracy.png`` (every rule beside backprop).
"""

from __future__ import annotations

import functools
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.rules_cell import (
    CELL_NETWORK,
    CellResult,
    CellSettings,
    cell_key,
    run_cell_saved,
)
from neuromorph.experiments.rules_entries import RULE_NAMES
from neuromorph.experiments.rules_report import (
    accuracy_figure,
    collect,
    csv_text,
    heatmap,
    markdown,
    metrics,
    refusals,
)
from neuromorph.experiments.rundir import RunDir
from neuromorph.models import build_module
from neuromorph.specs import spec_from_dict
from neuromorph.substrates import SUBSTRATES, default_data_dir

SUMMARY = "every backprop-free rule x every substrate: accuracy, queries, time, memory, drift"

DEFAULT_SUBSTRATES = ("digital", "optical", "acoustic", "microwave", "measured_acoustic",
                      "spiking", "loihi_int", "crossbar_pcm")
_COST = {"acoustic": 0, "measured_acoustic": 2, "loihi_int": 1}  # slowest first in the pool


@dataclass
class Config(ExperimentConfig):
    rules: tuple[str, ...] = RULE_NAMES  # rule names (subset: rules=dfa,spsa)
    substrates: tuple[str, ...] = DEFAULT_SUBSTRATES  # substrate names (any registered one)
    dataset: Literal["digits", "mnist1d", "vowels"] = "digits"
    seeds: int = 1  # seeds seed, seed+1, ... (preset=full: at least 3)
    preset: Literal["default", "full"] = "default"  # full: longer budgets, >= 3 seeds
    budget: float = 1.0  # multiplies every rule's epochs
    drift: float = 0.7  # relative drift of the substrate's constants (as in phyll-drift)
    workers: int = 2  # processes (each runs cells on one thread)
    data_dir: str = default_data_dir()  # measured acoustic pairs (../shared/data/phyll)

    def __post_init__(self) -> None:
        bad = [r for r in self.rules if r not in RULE_NAMES]
        self.check(not bad, f"unknown rule(s) {bad}; choose from {', '.join(RULE_NAMES)}")
        bad = [s for s in self.substrates if s not in SUBSTRATES]
        self.check(not bad, f"unknown substrate(s) {bad}; choose from {', '.join(SUBSTRATES)}")
        self.check(self.seeds >= 1, f"seeds must be >= 1, got {self.seeds}")
        self.check(self.budget > 0 and self.budget < 1e3, f"budget must be in (0, 1000), "
                   f"got {self.budget}")
        self.check(0 <= self.drift < 10, f"drift must be in [0, 10), got {self.drift}")
        self.check(self.workers >= 1, f"workers must be >= 1, got {self.workers}")


def _jobs(cfg: Config) -> list[tuple[str, str, int]]:
    seeds = max(cfg.seeds, 3) if cfg.preset == "full" else cfg.seeds
    jobs = [(r, s, cfg.seed + i) for i in range(seeds) for r in cfg.rules for s in cfg.substrates]
    return sorted(jobs, key=lambda j: _COST.get(j[1], 9))


def _save_network(run: RunDir, key: str, trained: dict | None) -> None:
    """Write one cell's trained network (spec + state) as ``networks/KEY.json`` / ``.pt``."""
    if trained is None:  # refused or failed: nothing was trained
        return
    net = build_module(spec_from_dict(trained["spec"]), dt=1.0)
    net.load_state_dict(trained["state"])
    run.save_network(net, name=f"networks/{key}")


def run_all(cfg: Config, run: RunDir, progress: bool = True) -> list[CellResult]:
    """Every (rule, substrate, seed) cell, in a process pool of ``cfg.workers``; each cell is
    saved in ``run`` as it finishes, and a resumed run reruns only the unfinished ones. Each
    trained network is written to ``networks/CELL.json`` + ``.pt`` (reloadable with
    :func:`neuromorph.models.load_model`)."""
    settings = CellSettings(cfg.dataset, cfg.preset == "full", cfg.budget, cfg.drift,
                            data_dir=cfg.data_dir)
    jobs = {cell_key(*job): functools.partial(run_cell_saved, *job, settings)
            for job in _jobs(cfg)}
    bar = tqdm(total=len(jobs), desc="rules", unit="cell", disable=not progress)
    if cfg.workers == 1:
        saved = run.results(jobs, on_done=lambda key, resumed: bar.update())
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(cfg.workers, mp_context=ctx) as pool:
            saved = run.results(jobs, pool=pool, on_done=lambda key, resumed: bar.update())
    bar.close()
    for key, r in saved.items():
        _save_network(run, key, r.get(CELL_NETWORK))
    results = [CellResult.from_dict(r) for r in saved.values()]
    order = {(r, s): i for i, (r, s) in enumerate((r, s) for r in cfg.rules
                                                  for s in cfg.substrates)}
    return sorted(results, key=lambda r: (order[(r.rule, r.substrate)], r.seed))


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "rules", cfg)
    t0 = time.perf_counter()
    results = run_all(cfg, run, progress)
    cells = collect(results)
    n_seeds = len({r.seed for r in results})
    title = (f"rules matrix on {cfg.dataset}: test accuracy (%), {n_seeds} seed(s), "
             f"preset {cfg.preset}")
    table = markdown(cells, cfg.rules, cfg.substrates, title)
    print(table)
    failed = [k for k, c in cells.items() if c.error]
    if failed:
        print(f"FAILED cells: {failed} (see refusals.md)")
    run.write_text("table.md", table)
    run.write_text("cells.csv", csv_text(results))
    run.write_text("refusals.md", refusals(cells))
    run.save_figure(heatmap(cells, cfg.rules, cfg.substrates, "test_accuracy",
                            f"test accuracy (%), {cfg.dataset}"), "heatmap_accuracy")
    run.save_figure(heatmap(cells, cfg.rules, cfg.substrates, "queries",
                            "substrate queries while training", log=True), "heatmap_queries")
    run.save_figure(accuracy_figure(cells, cfg.rules, cfg.substrates, title), "accuracy")
    flat = metrics(cells)
    flat["total_seconds"] = time.perf_counter() - t0
    run.write_metrics(flat)
    return run.path
