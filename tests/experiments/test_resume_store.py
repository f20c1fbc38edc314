"""The one per-job loop of a run folder (RunDir.results / seed_results): saved as each job
finishes, never recomputed on resume, plain data only."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import torch

from neuromorph.errors import CheckpointError
from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.rundir import RunDir, read_status


def _square(x: int) -> dict:
    """A module-level job (pickles into a process pool): plain data only."""
    return {"x": x, "square": torch.tensor([float(x * x)]), "nested": {"list": [x, x + 1]}}


def test_seed_results_saves_each_seed_and_a_resume_skips_it(tmp_path):
    calls: list[int] = []

    def compute(seed: int) -> dict:
        calls.append(seed)
        if seed == 2 and len(calls) == 2:  # the first run stops at its second seed
            raise KeyboardInterrupt
        return _square(seed)

    cfg = ExperimentConfig(seed=1)
    with pytest.raises(KeyboardInterrupt):
        RunDir(tmp_path / "run", "unit", cfg).seed_results([1, 2, 3], compute)
    assert calls == [1, 2]
    assert read_status(tmp_path / "run")["finished_seeds"] == [1]
    resumed: list[tuple[int, bool]] = []
    run = RunDir(tmp_path / "run", "unit", cfg, mode="resume")
    out = run.seed_results([1, 2, 3], compute, on_done=lambda s, r: resumed.append((s, r)))
    assert calls == [1, 2, 2, 3]  # seed 1 was not recomputed
    assert resumed == [(1, True), (2, False), (3, False)]
    assert [o["x"] for o in out] == [1, 2, 3]
    assert torch.equal(out[2]["square"], torch.tensor([9.0]))
    assert out[0]["nested"] == {"list": [1, 2]}
    assert run.finished_seeds() == [1, 2, 3]


def test_results_on_a_process_pool_equal_the_sequential_ones(tmp_path):
    jobs = {f"cell-{k}": functools.partial(_square, k) for k in (3, 1, 2)}
    seq = RunDir(tmp_path / "a", "unit", ExperimentConfig()).results(jobs)
    with ProcessPoolExecutor(2) as pool:
        par = RunDir(tmp_path / "b", "unit", ExperimentConfig()).results(jobs, pool=pool)
    assert list(seq) == list(par) == ["cell-3", "cell-1", "cell-2"]  # the jobs' order
    for key in jobs:
        assert seq[key]["x"] == par[key]["x"] and torch.equal(seq[key]["square"],
                                                              par[key]["square"])
    assert sorted(p.name for p in (tmp_path / "b" / "seeds").iterdir()) == [
        "cell-1.pt", "cell-2.pt", "cell-3.pt"]


def test_a_failing_pool_job_cancels_the_pending_ones_and_keeps_the_finished(tmp_path):
    first_saved = threading.Event()

    def job(k: int) -> dict:
        if k == 0:
            first_saved.wait(30)  # fail only once j1 is saved
            raise RuntimeError("boom")
        return {"k": k}

    run = RunDir(tmp_path / "run", "unit", ExperimentConfig())
    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="boom"):
        run.results({f"j{k}": functools.partial(job, k) for k in (1, 0, 2, 3)}, pool=pool,
                    on_done=lambda key, resumed: first_saved.set())
    kept = run.finished_results()
    assert "j1" in kept and "j0" not in kept and len(kept) <= 2  # j2/j3 cancelled or raced


def test_keys_and_saved_files_are_checked(tmp_path):
    run = RunDir(tmp_path / "run", "unit", ExperimentConfig())
    with pytest.raises(ValueError, match="result key '../x'"):
        run.save_result("../x", {"a": 1})
    run.save_result("cell-a", {"a": 1})
    (tmp_path / "run" / "seeds" / "cell-a.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cell-a.pt is corrupt.*delete it to rerun cell-a"):
        run.load_result("cell-a")
