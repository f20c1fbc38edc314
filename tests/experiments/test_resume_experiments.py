"""Every multi-seed experiment keeps its finished seeds (or matrix cells) through an interrupt:
``--resume`` does not recompute them and writes the metrics of a clean run (tiny configs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neuromorph import experiments
from neuromorph.errors import RunInterruptedError
from neuromorph.experiments import ff_digits, rules_matrix, snn_common, snn_timesteps
from neuromorph.experiments.rundir import read_status

SNN = {"seeds": "2", "epochs": "2", "hidden": "16"}
CASES = {
    "snn-digits": (snn_common, "train_seed", {**SNN, "train_subset": "120"}),
    "snn-randman": (snn_common, "train_seed", {**SNN, "samples_per_class": "20",
                                               "n_classes": "3"}),
    "ff-digits": (ff_digits, "run_cell", {"seeds": "2", "budget": "0.05", "methods": "ff,bp"}),
    "snn-timesteps": (snn_timesteps, "run_seed", {
        "seeds": "2", "epochs": "1", "steps": "3,2,1", "teacher_steps": "2",
        "finetune_epochs": "1", "train_subset": "100", "hidden": "16",
        "calibration_samples": "32"}),
    "rules": (rules_matrix, "run_cell_saved", {
        "rules": "bp,dfa", "substrates": "digital,optical", "seeds": "2", "budget": "0.1",
        "workers": "1"}),
}


def _counting(monkeypatch, module: Any, name: str, stop_at: int | None) -> list[tuple]:
    """Replace ``module.name`` by the real function that records its arguments and, at call
    number ``stop_at``, raises KeyboardInterrupt (Ctrl-C in the middle of the run)."""
    real, calls = getattr(module, name), []

    def wrapped(*args, **kwargs):
        calls.append(args)
        if stop_at is not None and len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def _metrics(out: Path) -> dict[str, float]:
    """metrics.json without the wall-time keys (those differ between any two runs)."""
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if "seconds" not in k}


@pytest.mark.parametrize("name", list(CASES))
def test_interrupted_run_resumes_without_recomputing_and_equals_a_clean_run(
        name, tmp_path, monkeypatch):
    module, step, overrides = CASES[name]
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        first = _counting(patch, module, step, stop_at=None)
        clean = experiments.run(name, overrides, tmp_path / "clean", progress=False)
    n_jobs = len(first)
    per_seed = n_jobs // 2  # every case runs 2 seeds; a seed is per_seed calls of ``step``
    with monkeypatch.context() as patch:
        calls = _counting(patch, module, step, stop_at=per_seed + 1)  # after the first seed
        with pytest.raises(RunInterruptedError, match="--resume"):
            experiments.run(name, overrides, out, progress=False)
    status = read_status(out)
    assert status["status"] == "interrupted" and not (out / "metrics.json").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "seeds").iterdir()}
    assert len(kept) == (per_seed if name == "rules" else 1)  # cells, or one seed file
    with monkeypatch.context() as patch:
        again = _counting(patch, module, step, stop_at=None)
        experiments.run(name, {}, out, progress=False, resume=True)
    assert len(again) == n_jobs - per_seed  # the finished seed's work was not redone
    assert not set(map(repr, again)) & set(map(repr, calls[:per_seed]))
    assert {p.name: p.stat().st_mtime_ns for p in (out / "seeds").iterdir() if p.name in kept} \
        == kept
    assert read_status(out)["status"] == "complete"
    assert _metrics(out) == _metrics(clean)


@pytest.mark.slow  # two spawned pools: ~30 s on 2 cores
def test_rules_matrix_on_a_process_pool_reruns_only_the_missing_cells(tmp_path):
    overrides = {"rules": "bp,dfa", "substrates": "digital,optical", "budget": "0.1",
                 "workers": "2"}
    out = experiments.run("rules", overrides, tmp_path / "run", progress=False)
    before = json.loads((out / "metrics.json").read_text())
    cells = {p.name: p.stat().st_mtime_ns for p in (out / "seeds").iterdir()}
    assert sorted(cells) == ["cell-bp.digital.0.pt", "cell-bp.optical.0.pt",
                             "cell-dfa.digital.0.pt", "cell-dfa.optical.0.pt"]
    (out / "seeds" / "cell-dfa.optical.0.pt").unlink()  # as if killed before that cell ended
    status = read_status(out)
    status["status"] = "interrupted"
    (out / "status.json").write_text(json.dumps(status))
    experiments.run("rules", {}, out, progress=False, resume=True)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "seeds").iterdir()}
    assert after.pop("cell-dfa.optical.0.pt") > 0
    assert after == {k: v for k, v in cells.items() if k != "cell-dfa.optical.0.pt"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert {k: v for k, v in metrics.items() if "seconds" not in k} == \
        {k: v for k, v in before.items() if "seconds" not in k}
