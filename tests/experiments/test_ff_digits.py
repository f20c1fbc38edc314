"""ff-digits end to end on a tiny budget; its config errors."""

import json

import torch

from neuromorph.cli import main
from neuromorph.experiments.rules_data import load_task
from neuromorph.experiments.rules_entries import Context, all_entries
from neuromorph.models import load_model


def test_ff_digits_writes_a_run_directory_with_every_method(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "ff-digits", "--quiet", "--out", str(out), "--set", "seeds=2",
            "--set", "budget=0.1", "--set", "methods=ff,cff"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for method in ("ff", "cff"):
        assert 0.5 < metrics[f"{method}_test_accuracy_mean"] <= 1.0  # learned (chance: 0.1)
        assert metrics[f"{method}_test_accuracy_std"] >= 0.0
        assert metrics[f"{method}_queries_mean"] > 0
    assert metrics["test_accuracy"] == metrics["ff_test_accuracy_mean"]
    assert (out / "results.txt").is_file() and (out / "test_accuracy.png").is_file()
    assert "ff-digits: digits on digital, 2 seed(s)" in capsys.readouterr().out
    # the last seed's FF network reloads from model.json + model.pt, and the FF rule around the
    # reloaded network scores the run's own test accuracy on the same split
    net, info = load_model(out)
    assert info["rule"] == "ff" and info["seed"] == 1
    task = load_task("digits", 1)
    rule = all_entries()["ff"].build(net, Context(task.n_classes, 1, net.embedding,
                                                  task.x_train, task.y_train))
    seed1 = torch.load(out / "seeds" / "seed-1.pt", weights_only=True)["ff"]
    assert rule.accuracy(task.x_test, task.y_test) == seed1["test_accuracy"]
    # NIR has no node for a substrate's fixed transform: export says so and how to reload
    capsys.readouterr()
    assert main(["export", str(out), "--to", "nir", str(tmp_path / "ff.nir")]) == 2
    err = capsys.readouterr().err
    assert "holds a SubstrateNetwork" in err and "neuromorph.models.load_model" in err


def test_ff_digits_bad_config_is_a_clear_error(tmp_path, capsys):
    for key, message in (("methods=ff,magic", "unknown methods ['magic']"),
                         ("substrate=laser", "unknown substrate 'laser'"),
                         ("budget=0", "budget must be > 0")):
        assert main(["run", "ff-digits", "--set", key, "--out", str(tmp_path / "r")]) == 2
        assert message in capsys.readouterr().err
