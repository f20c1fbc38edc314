"""``neuromorph sweep NAME --executor optuna``: search with Optuna instead of gridding.

The search space comes from ``--grid``: ``key=a,b,c`` is a categorical choice, ``key=lo:hi`` a
uniform range (integers when both ends are integers), ``key=lo:hi:log`` a log-uniform one.
Each Optuna trial runs every seed as a normal run folder (through the local or Ray executor) and
reports the mean of the metric over seeds. The study lives in Optuna storage (SQLite in the
sweep folder by default, or ``--storage URL``), so a rerun with ``--resume`` continues it and
several machines can share one study; the sampler is seeded (same seed, same proposals).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from neuromorph.errors import NeuromorphError
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.sweep.aggregate import TrialResult, mean_std
from neuromorph.experiments.sweep.executors import Executor
from neuromorph.experiments.sweep.plan import Trial
from neuromorph.experiments.sweep.runner import (
    check_trials,
    execute_trials,
    fail_on_errors,
    interrupted,
    prepare_sweep_dir,
    sweep_spec,
    write_results,
    write_status,
)


def _range(key: str, text: str) -> tuple[float, float, bool, bool]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
        raise ConfigError(f"--grid {key}={text}: a range is lo:hi or lo:hi:log")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"--grid {key}={text}: lo and hi must be numbers") from None
    log = len(parts) == 3
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (log and lo <= 0):
        raise ConfigError(f"--grid {key}={text}: need finite lo < hi (and lo > 0 for log)")
    is_int = all(p.lstrip("-").isdigit() for p in parts[:2])
    return lo, hi, log, is_int


def suggest(trial: Any, space: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
    """The values this Optuna trial proposes, as the strings a config parses."""
    values = []
    for key, options in space.items():
        if len(options) == 1 and ":" in options[0]:
            lo, hi, log, is_int = _range(key, options[0])
            if is_int:
                value = str(trial.suggest_int(key, int(lo), int(hi), log=log))
            else:
                value = repr(trial.suggest_float(key, lo, hi, log=log))
        else:
            value = str(trial.suggest_categorical(key, options))
        values.append((key, value))
    return tuple(values)


def run_optuna_search(experiment: str, space: dict[str, list[str]], seeds: list[int],
                      base: dict[str, str], out: Path, mode: str, execute: Executor,
                      n_trials: int, metric: str, direction: str,
                      storage: str | None = None, progress: bool = True) -> Path:
    """Run Optuna until the study holds ``n_trials`` complete trials; write the aggregates."""
    try:
        import optuna
    except ImportError:
        raise NeuromorphError("--executor optuna needs Optuna; install it with "
                              "pip install 'neuromorph[sweep]'") from None
    if n_trials < 1:
        raise ConfigError("--trials must be >= 1")
    for key, options in space.items():  # ranges are checked before anything runs
        if len(options) == 1 and ":" in options[0]:
            _range(key, options[0])
    spec = sweep_spec(experiment, space, seeds, base, metric)
    spec.update({"search": "optuna", "direction": direction})
    prepare_sweep_dir(out, spec, mode)
    url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=out.name, storage=url, direction=direction,
                                sampler=optuna.samplers.TPESampler(seed=seeds[0]),
                                load_if_exists=True)

    def objective(trial: Any) -> float:
        values = suggest(trial, space)
        trial.set_user_attr("values", [list(v) for v in values])
        runs = [Trial(values, s, base) for s in seeds]
        check_trials(experiment, runs)
        results = execute_trials(experiment, runs, out, execute, progress)
        fail_on_errors(results, out)
        mean, _, n = mean_std([r.metrics.get(metric, math.nan) for r in results if r.metrics])
        if n == 0:
            raise NeuromorphError(f"no trial reported metric {metric!r}; pick one that "
                                  f"{experiment} writes to metrics.json")
        return mean

    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if n_trials > done:
        try:
            study.optimize(objective, n_trials=n_trials - done, catch=())
        except KeyboardInterrupt:
            raise interrupted(out, experiment, done, n_trials) from None
    n_ok = _write_study(study, out, seeds, base, metric)
    write_status(out, "complete", n_ok, n_trials)
    return out


def _write_study(study: Any, out: Path, seeds: list[int], base: dict[str, str],
                 metric: str) -> int:
    """Aggregates over every complete trial of the study; returns how many there are."""
    import json

    results: list[TrialResult] = []
    for t in study.trials:
        if t.state.name != "COMPLETE":
            continue
        values = tuple((k, v) for k, v in t.user_attrs["values"])
        for s in seeds:
            trial = Trial(values, s, base)
            path = trial.folder(out) / "metrics.json"
            metrics = json.loads(path.read_text()) if path.is_file() else None
            results.append(TrialResult(trial, metrics, None if metrics else "missing"))
    write_results(out, results, metric)
    best = study.best_trial
    (out / "best.json").write_text(json.dumps(
        {"value": best.value, "params": best.params, "trial": best.number,
         "complete_trials": len({r.trial.values for r in results})}, indent=2))
    return sum(t.state.name == "COMPLETE" for t in study.trials)


__all__ = ["run_optuna_search", "suggest"]
