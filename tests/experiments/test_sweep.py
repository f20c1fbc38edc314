"""``neuromorph sweep``: a 2 x 2 grid x 2 seeds of oja-pca on the local pool, on Ray, interrupted
and resumed (same table every time), and an Optuna search that stores its study."""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml

from neuromorph.cli import main
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.sweep.aggregate import mean_std
from neuromorph.experiments.sweep.plan import grid_trials, parse_grid
from neuromorph.experiments.sweep.runner import run_grid_sweep

GRID = ["--grid", "lr=0.01,0.02", "--grid", "dim=4,5"]
BASE = ["--set", "components=2", "--set", "samples=400", "--set", "eval_every=200",
        "--metric", "oja_angle_deg", "--quiet"]


@pytest.fixture(scope="module")
def pool_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the 2 x 2 x 2-seed sweep on a pool of 2 spawned processes."""
    out = tmp_path_factory.mktemp("sweeps") / "pool"
    assert main(["sweep", "oja-pca", *GRID, *BASE, "--seeds", "2", "--workers", "2",
                 "--out", str(out)]) == 0
    return out


def test_grid_sweep_writes_every_trial_and_a_mean_std_table(pool_sweep: Path) -> None:
    trials = sorted(p.name for p in (pool_sweep / "trials").iterdir())
    assert len(trials) == 8 and "lr=0.01_dim=4_seed=0" in trials
    for name in trials:  # every trial is a complete run folder
        status = json.loads((pool_sweep / "trials" / name / "status.json").read_text())
        assert status["status"] == "complete"
    rows = list(csv.DictReader((pool_sweep / "results.csv").open()))
    assert len(rows) == 8 and {r["status"] for r in rows} == {"complete"}
    table = (pool_sweep / "results.md").read_text().splitlines()
    assert len(table) == 2 + 4
    # the table's cell is the mean ± sample std of the two seeds' own metrics.json
    lr, dim = "0.02", "5"
    values = [json.loads((pool_sweep / "trials" / f"lr={lr}_dim={dim}_seed={s}" /
                          "metrics.json").read_text())["oja_angle_deg"] for s in (0, 1)]
    mean = sum(values) / 2
    std = abs(values[0] - values[1]) / 2 ** 0.5
    assert f"| {lr} | {dim} | {mean:.4g} ± {std:.4g} | 2 |" in table
    for key in ("lr", "dim"):
        assert (pool_sweep / f"oja_angle_deg_vs_{key}.png").stat().st_size > 1000
    assert json.loads((pool_sweep / "status.json").read_text())["status"] == "complete"


def test_rerun_into_the_sweep_folder_is_refused(pool_sweep: Path, capsys) -> None:
    before = (pool_sweep / "results.md").stat().st_mtime_ns
    assert main(["sweep", "oja-pca", *GRID, *BASE, "--out", str(pool_sweep)]) == 2
    assert "already holds a sweep; pass --resume" in capsys.readouterr().err
    assert (pool_sweep / "results.md").stat().st_mtime_ns == before


def test_interrupted_sweep_resumes_to_the_same_table(pool_sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    first = out / "trials" / "lr=0.01_dim=4_seed=0" / "metrics.json"

    def interrupt() -> None:
        stop = time.monotonic() + 300
        while not first.exists() and time.monotonic() < stop:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt, daemon=True)
    watcher.start()
    assert main(["sweep", "oja-pca", *GRID, *BASE, "--seeds", "2", "--workers", "1",
                 "--out", str(out)]) == 130
    watcher.join()
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted" and 1 <= status["complete_trials"] < 8
    assert not (out / "results.md").exists()
    assert main(["sweep", "oja-pca", "--out", str(out), "--resume", "--workers", "1",
                 "--quiet"]) == 0
    assert (out / "results.md").read_text() == (pool_sweep / "results.md").read_text()
    assert (out / "results.csv").read_text() == (pool_sweep / "results.csv").read_text()


@pytest.mark.slow  # starting a local Ray instance takes ~30-50 s on 2 loaded cores
def test_ray_gives_the_same_table_as_the_local_pool(pool_sweep: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from neuromorph.experiments.sweep.executors import ray_executor

    out = tmp_path / "ray"
    grid = {"lr": ["0.01", "0.02"], "dim": ["4", "5"]}
    base = {"components": "2", "samples": "400", "eval_every": "200"}
    run_grid_sweep("oja-pca", grid, [0, 1], base, out, "new", ray_executor(num_cpus=2),
                   "oja_angle_deg", progress=False)
    assert (out / "results.md").read_text() == (pool_sweep / "results.md").read_text()
    assert (out / "results.csv").read_text() == (pool_sweep / "results.csv").read_text()


def test_optuna_search_stores_its_study_and_resumes(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    out = tmp_path / "study"
    argv = ["sweep", "oja-pca", "--executor", "optuna", "--grid", "lr=0.005:0.05:log",
            "--grid", "dim=4,5", "--set", "components=2", "--set", "samples=400",
            "--set", "eval_every=200", "--minimize", "oja_angle_deg", "--workers", "1",
            "--quiet", "--out", str(out)]
    assert main([*argv, "--trials", "6"]) == 0
    storage = f"sqlite:///{(out / 'study.db').resolve()}"
    study = optuna.load_study(study_name=out.name, storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 6
    # each trial's value is the metric its run folder wrote (read back independently)
    for t in complete:
        values = dict(t.user_attrs["values"])
        folder = out / "trials" / f"lr={values['lr']}_dim={values['dim']}_seed=0"
        assert json.loads((folder / "metrics.json").read_text())["oja_angle_deg"] == t.value
        assert 0.005 <= float(values["lr"]) <= 0.05 and values["dim"] in ("4", "5")
    best = json.loads((out / "best.json").read_text())
    assert best["value"] == min(t.value for t in complete)
    assert yaml.safe_load((out / "sweep.yaml").read_text())["search"] == "optuna"
    assert main([*argv, "--trials", "7", "--resume"]) == 0  # continues the stored study
    study = optuna.load_study(study_name=out.name, storage=storage)
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) == 7
    assert [t.value for t in study.trials[:6]] == [t.value for t in complete]


def test_bad_sweep_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bad"
    assert main(["sweep", "oja-pca", "--grid", "lr=0.1,inf", "--out", str(out)]) == 2
    assert "lr=inf is not a finite number" in capsys.readouterr().err
    assert main(["sweep", "oja-pca", "--grid", "lr", "--out", str(out)]) == 2
    assert "--grid expects key=v1,v2" in capsys.readouterr().err
    assert main(["sweep", "oja-pca", "--grid", "lr=0.1", "--maximize", "x",
                 "--out", str(out)]) == 2
    assert "need --executor optuna" in capsys.readouterr().err
    assert not out.exists()


def test_grid_plan_and_statistics() -> None:
    grid = parse_grid(["a=1,2", "methods=phyll,pat;pat"])
    assert grid == {"a": ["1", "2"], "methods": ["phyll,pat", "pat"]}
    trials = grid_trials(grid, [0, 1], {"b": "3"})
    assert len(trials) == 8 and trials[0].all_overrides() == {
        "b": "3", "a": "1", "methods": "phyll,pat", "seed": "0"}
    with pytest.raises(ConfigError, match="both --set and --grid"):
        grid_trials(grid, [0], {"a": "1"})
    with pytest.raises(ConfigError, match="repeats a value"):
        parse_grid(["a=1,1"])
    m, s, n = mean_std([1.0, 2.0, 4.0])
    assert (m, n) == (pytest.approx(7 / 3), 3)
    squares = (1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2
    assert s == pytest.approx((squares / 2) ** 0.5)  # sample std, ddof = 1
    one = mean_std([5.0])
    assert one[0] == 5.0 and one[2] == 1 and one[1] != one[1]  # nan for n=1, never "± 0"


@pytest.mark.slow  # spawns a CLI process and a pool of 2 workers: ~40-90 s on 2 loaded cores
def test_ctrl_c_stops_a_pool_sweep_and_its_workers(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "neuromorph.cli", "sweep", "oja-pca", *GRID, "--seeds", "2",
            "--set", "components=2", "--set", "samples=300000", "--set", "eval_every=100000",
            "--metric", "oja_angle_deg", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = time.monotonic() + 600
    while not list(out.glob("trials/*/metrics.json")) and time.monotonic() < stop:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)  # to the sweep only: it must stop its workers itself
    _, err = proc.communicate(timeout=120)  # before the fix, Pool.terminate waited forever
    assert proc.returncode == 130 and len(err.strip().splitlines()) == 1, err
    states = [json.loads((p / "status.json").read_text())["status"]
              for p in (out / "trials").iterdir() if (p / "status.json").is_file()]
    assert "complete" in states and "interrupted" in states and "running" not in states
    assert main(["sweep", "oja-pca", "--out", str(out), "--resume", "--workers", "1",
                 "--quiet"]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 8 and {r["status"] for r in rows} == {"complete"}
