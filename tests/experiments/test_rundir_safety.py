"""Run directories never lie: issue 12's faults, each reproduced and now refused or recovered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from neuromorph import experiments
from neuromorph.cli import main
from neuromorph.errors import RunDirError, RunInterruptedError
from neuromorph.experiments.rundir import default_out_dir, read_status

OJA = ["--set", "dim=4", "--set", "components=2", "--set", "samples=400", "--set",
       "eval_every=200", "--quiet"]
#: phyll-vowels, 3 seeds of one cheap method: long enough to interrupt between seeds
PHYLL = {"seeds": "3", "epochs": "2", "eval_every": "2", "inner_steps": "2", "methods": "phyll",
         "system": "optical"}


def _snapshot(folder: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_rerun_into_a_finished_folder_is_refused_and_leaves_it_alone(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "oja-pca", *OJA, "--out", str(out)]) == 0
    before = _snapshot(out)
    assert main(["run", "oja-pca", *OJA, "--set", "lr=0.05", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already holds a complete oja-pca run" in err and "--resume" in err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(out) == before  # nothing mixed in
    assert yaml.safe_load((out / "config.yaml").read_text())["config"]["lr"] == 0.02


def test_overwrite_with_another_experiment_leaves_no_old_file(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "oja-pca", *OJA, "--out", str(out)]) == 0
    assert (out / "model.pt").is_file()
    assert main(["run", "cuba", "--quiet", "--set", "n_neurons=100", "--set", "duration=0.02",
                 "--out", str(out), "--overwrite"]) == 0
    names = {p.name for p in out.iterdir()}
    assert "oja.json" not in names and "angles.png" not in names  # oja-pca's files are gone
    assert "final_state.pt" in names
    assert yaml.safe_load((out / "config.yaml").read_text())["experiment"] == "cuba"


def test_overwrite_never_empties_a_folder_that_is_not_a_run(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    assert main(["run", "oja-pca", *OJA, "--out", str(out), "--overwrite"]) == 2
    assert "holds no neuromorph run" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "precious"


def test_default_folder_is_unique_and_depends_on_the_resolved_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = experiments.run("oja-pca", {"dim": "4", "components": "2", "samples": "400",
                                    "eval_every": "200"}, progress=False)
    b = experiments.run("oja-pca", {"dim": "5", "components": "2", "samples": "400",
                                    "eval_every": "200"}, progress=False)
    assert a != b and a.parent == b.parent == Path("runs")
    assert a.name.startswith("oja-pca-") and a.name.split("-")[-1] != b.name.split("-")[-1]
    cfg = experiments.load("oja-pca").Config(dim=4, components=2, samples=400, eval_every=200)
    first = default_out_dir("oja-pca", cfg)
    first.mkdir(parents=True)
    again = default_out_dir("oja-pca", cfg)  # same config, maybe the same second
    assert again != first and not again.exists()


def test_out_pointing_at_a_file_is_one_line(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("x")
    assert main(["run", "oja-pca", *OJA, "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is a file; give a folder path" in err and "Traceback" not in err
    assert target.read_text() == "x"


def test_metrics_are_written_last_and_status_says_complete(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "oja-pca", *OJA, "--out", str(out)]) == 0
    status = read_status(out)
    assert status["status"] == "complete"
    times = _snapshot(out)
    metrics_time = times.pop("metrics.json")
    times.pop("status.json")
    assert all(t <= metrics_time for t in times.values())


def _interrupt_when(path: Path, sig: int, deadline_s: float = 300.0) -> threading.Thread:
    """A watcher that sends ``sig`` to this process once ``path`` exists (a real signal)."""

    def watch() -> None:
        stop = time.monotonic() + deadline_s
        while not path.exists() and time.monotonic() < stop:
            time.sleep(0.02)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sigterm_leaves_an_interrupted_folder_not_a_complete_one(tmp_path):
    out = tmp_path / "run"
    watcher = _interrupt_when(out / "status.json", signal.SIGTERM)
    with pytest.raises(RunInterruptedError, match="--resume"):
        experiments.run("oja-pca", {"samples": "4000000", "eval_every": "400000"}, out,
                        progress=False)
    watcher.join()
    assert read_status(out)["status"] == "interrupted"
    assert not (out / "metrics.json").exists()


def test_ctrl_c_leaves_a_resumable_folder_and_resume_equals_a_clean_run(tmp_path):
    out = tmp_path / "run"
    watcher = _interrupt_when(out / "seeds" / "seed-0.pt", signal.SIGINT)
    with pytest.raises(RunInterruptedError, match="--resume"):
        experiments.run("phyll-vowels", PHYLL, out, progress=False)
    watcher.join()
    status = read_status(out)
    assert status["status"] == "interrupted" and 0 in status["finished_seeds"]
    assert not (out / "metrics.json").exists()  # an interrupted folder never looks complete
    kept = (out / "seeds" / "seed-0.pt").stat().st_mtime_ns
    with pytest.raises(RunDirError, match="differs in epochs"):
        experiments.run("phyll-vowels", {**PHYLL, "epochs": "7"}, out, resume=True)
    experiments.run("phyll-vowels", {}, out, progress=False, resume=True)  # saved config
    assert (out / "seeds" / "seed-0.pt").stat().st_mtime_ns == kept  # seed 0 not rerun
    assert read_status(out)["status"] == "complete"
    clean = experiments.run("phyll-vowels", PHYLL, tmp_path / "clean", progress=False)
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed == json.loads((clean / "metrics.json").read_text())


def test_resume_with_a_corrupt_seed_file_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    overrides = [f"--set={k}={v}" for k, v in {**PHYLL, "seeds": "1"}.items()]
    assert main(["run", "phyll-vowels", "--quiet", *overrides, "--out", str(out)]) == 0
    (out / "seeds" / "seed-0.pt").write_bytes(b"not a torch file")
    status = read_status(out)
    status["status"] = "interrupted"
    (out / "status.json").write_text(json.dumps(status))
    assert main(["run", "phyll-vowels", "--quiet", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "seed-0.pt is corrupt" in err and "delete it" in err
    assert len(err.strip().splitlines()) == 1 and "Unpickl" not in err.split("(")[0]


def test_ctrl_c_from_the_shell_prints_one_line(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "neuromorph.cli", "run", "oja-pca", "--quiet",
            "--set", "samples=4000000", "--set", "eval_every=400000", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = time.monotonic() + 120
    while read_status(out).get("status") != "running" and time.monotonic() < stop:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert lines[0].startswith("neuromorph: interrupted:") and "--resume" in lines[0]
    assert read_status(out)["status"] == "interrupted"


@pytest.mark.slow  # a subprocess run killed and resumed: ~10-25 s on 2 cores
def test_sigkill_keeps_finished_seeds_and_resume_completes(tmp_path):
    out = tmp_path / "run"
    sets = [f"--set={k}={v}" for k, v in PHYLL.items()]
    proc = subprocess.Popen([sys.executable, "-m", "neuromorph.cli", "run", "phyll-vowels",
                             "--quiet", *sets, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = time.monotonic() + 300
    while not (out / "seeds" / "seed-0.pt").exists() and time.monotonic() < stop:
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no handler runs
    proc.wait(timeout=60)
    assert read_status(out)["status"] == "running" and not (out / "metrics.json").exists()
    with pytest.raises(RunDirError, match="already holds a running phyll-vowels run"):
        experiments.run("phyll-vowels", PHYLL, out, progress=False)  # the dead pid is no writer
    kept = (out / "seeds" / "seed-0.pt").stat().st_mtime_ns
    experiments.run("phyll-vowels", {}, out, progress=False, resume=True)
    assert (out / "seeds" / "seed-0.pt").stat().st_mtime_ns == kept
    assert read_status(out)["status"] == "complete" and (out / "metrics.json").is_file()


def test_a_folder_a_live_process_is_writing_is_refused(tmp_path):
    out = tmp_path / "run"
    experiments.run("oja-pca", {"dim": "4", "components": "2", "samples": "400",
                                "eval_every": "200"}, out, progress=False)
    status = read_status(out)
    status.update(status="running", pid=os.getppid())  # a live process on this host
    (out / "status.json").write_text(json.dumps(status))
    for flags in ({"resume": True}, {"overwrite": True}):
        with pytest.raises(RunDirError, match=f"is being written by process {os.getppid()}"):
            experiments.run("oja-pca", {}, out, progress=False, **flags)


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_or_failed_run_gives_back_the_callers_autograd_mode(tmp_path, failure):
    # a Ctrl-C landing inside torch.no_grad().__enter__ switches autograd off and skips the
    # matching __exit__; the runs after it in the same process then silently train nothing
    from neuromorph.experiments.config import build_config
    from neuromorph.experiments.rundir import managed_run

    config = build_config(experiments.load("oja-pca").Config, {})
    expected = RunInterruptedError if failure is KeyboardInterrupt else RuntimeError
    with pytest.raises(expected), managed_run(tmp_path / "run", "oja-pca", config, "new"):
        torch.no_grad().__enter__()  # the half-entered block the interrupt leaves behind
        raise failure()
    assert torch.is_grad_enabled()
