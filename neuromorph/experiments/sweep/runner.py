"""``neuromorph sweep``: every grid point times every seed, each a normal run directory.

The sweep folder holds ``sweep.yaml`` (what was asked), ``status.json``, ``trials/<values>/``
(one run folder per trial), ``logs/``, ``results.csv``, ``results.md`` and one
``<metric>_vs_<key>.png`` per swept key. The folder rules are those of a run: a non-empty folder
is refused unless ``resume`` (same experiment, grid, seeds and ``--set``; complete trials are
kept, unfinished ones continue) or ``overwrite``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from neuromorph import experiments
from neuromorph.errors import NeuromorphError, RunDirError, RunInterruptedError
from neuromorph.experiments.config import build_config
from neuromorph.experiments.rundir import atomic_write_text
from neuromorph.experiments.sweep.aggregate import (
    TrialResult,
    csv_text,
    markdown_table,
    plot_metric,
)
from neuromorph.experiments.sweep.executors import Executor, TrialJob
from neuromorph.experiments.sweep.plan import Trial, grid_trials

SPEC_FILE = "sweep.yaml"


#: what defines a sweep; the executor and the reported metric do not (a local sweep may be
#: resumed on Ray, and its table redrawn for another metric)
IDENTITY = ("experiment", "grid", "seeds", "set", "search", "direction")


def sweep_spec(experiment: str, grid: dict[str, list[str]], seeds: list[int],
               base: dict[str, str], metric: str) -> dict[str, Any]:
    """The ``sweep.yaml`` of a sweep (see :data:`IDENTITY`)."""
    return {"experiment": experiment, "grid": grid, "seeds": seeds, "set": dict(base),
            "metric": metric}


def read_spec(out: str | Path) -> dict[str, Any]:
    """The sweep folder's ``sweep.yaml`` (``{}`` when absent)."""
    path = Path(out) / SPEC_FILE
    return dict(yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def prepare_sweep_dir(out: Path, spec: dict[str, Any], mode: str) -> None:
    """Apply the run-folder rules to a sweep folder, then write ``sweep.yaml``."""
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out} is a file; give a folder path (it is created if missing)")
    if out.is_dir() and any(out.iterdir()):
        saved = read_spec(out)
        if not saved:
            raise RunDirError(f"{out} is not empty and holds no neuromorph sweep; choose an "
                              "empty or new --out")
        if mode == "new":
            raise RunDirError(f"{out} already holds a sweep; pass --resume to continue it, "
                              "--overwrite to replace it, or another --out")
        diff = [k for k in IDENTITY if saved.get(k) != spec.get(k)]
        if mode == "resume" and diff:
            raise RunDirError(f"cannot resume {out}: its {', '.join(diff)} differ from this "
                              "command; resume with `--resume` alone, or pass --overwrite")
        if mode == "overwrite":
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / SPEC_FILE, yaml.safe_dump(spec, sort_keys=False))


def write_status(out: Path, status: str, done: int, total: int, **extra: Any) -> None:
    info = {"status": status, "complete_trials": done, "trials": total,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
    atomic_write_text(out / "status.json", json.dumps(info, indent=2))


def write_results(out: Path, results: list[TrialResult], metric: str) -> None:
    """``results.csv``, ``results.md`` and a plot per swept key (the whole grid, in order)."""
    atomic_write_text(out / "results.csv", csv_text(results))
    atomic_write_text(out / "results.md", markdown_table(results, metric))
    if any(r.metrics and metric in r.metrics for r in results):
        for key, _ in results[0].trial.values:
            plot_metric(results, metric, key, out / f"{metric}_vs_{key}.png")


def check_trials(experiment: str, trials: list[Trial]) -> None:
    """Build every trial's config before anything runs: a bad value is one line, at once."""
    module = experiments.load(experiment)
    for trial in trials:
        build_config(module.Config, trial.all_overrides())


def execute_trials(experiment: str, trials: list[Trial], out: Path, execute: Executor,
                   progress: bool = True) -> list[TrialResult]:
    """Run ``trials`` into ``out/trials`` with ``execute``; results in ``trials`` order."""
    root = out.resolve()  # workers (other processes, other Ray nodes) may have another cwd
    jobs = [TrialJob(experiment, t.all_overrides(), str(t.folder(root)),
                     str(root / "logs" / f"{t.name}.log")) for t in trials]
    by_out = {job.out: trial for job, trial in zip(jobs, trials, strict=True)}
    outcomes: dict[str, TrialResult] = {}
    for outcome in execute(jobs):
        trial = by_out[outcome.out]
        outcomes[outcome.out] = TrialResult(trial, outcome.metrics, outcome.error)
        if progress:
            state = "done" if outcome.metrics is not None else outcome.error
            print(f"[{len(outcomes)}/{len(jobs)}] {trial.name}: {state}", flush=True)
    return [outcomes.get(j.out, TrialResult(t, None, "missing"))
            for j, t in zip(jobs, trials, strict=True)]


def fail_on_errors(results: list[TrialResult], out: Path) -> None:
    failed = [r for r in results if r.metrics is None]
    if failed:
        raise NeuromorphError(f"{len(failed)} of {len(results)} trials failed (first: "
                              f"{failed[0].trial.name}: {failed[0].error}); see {out}/logs, fix "
                              "it and rerun with --resume")


def interrupted(out: Path, experiment: str, done: int, total: int) -> RunInterruptedError:
    """Mark the sweep folder interrupted; the error that says how to continue."""
    write_status(out, "interrupted", done, total)
    return RunInterruptedError(f"{done} of {total} trials complete in {out}; continue with: "
                          f"neuromorph sweep {experiment} --out {out} --resume")


def run_grid_sweep(experiment: str, grid: dict[str, list[str]], seeds: list[int],
                   base: dict[str, str], out: Path, mode: str, execute: Executor,
                   metric: str, progress: bool = True) -> Path:
    """The grid sweep end to end (see the module docstring)."""
    trials = grid_trials(grid, seeds, base)
    check_trials(experiment, trials)
    prepare_sweep_dir(out, sweep_spec(experiment, grid, seeds, base, metric), mode)
    write_status(out, "running", 0, len(trials))
    try:
        results = execute_trials(experiment, trials, out, execute, progress)
    except KeyboardInterrupt:
        done = sum((t.folder(out) / "metrics.json").is_file() for t in trials)
        raise interrupted(out, experiment, done, len(trials)) from None
    write_results(out, results, metric)
    n_ok = sum(r.metrics is not None for r in results)
    write_status(out, "complete" if n_ok == len(results) else "failed", n_ok, len(results))
    fail_on_errors(results, out)
    return out


__all__ = ["SPEC_FILE", "check_trials", "execute_trials", "fail_on_errors", "interrupted",
           "prepare_sweep_dir", "read_spec", "run_grid_sweep", "sweep_spec", "write_results",
           "write_status"]
