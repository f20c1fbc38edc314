"""The rules matrix experiment: keys, refusals, determinism, config errors (small budgets)."""

from __future__ import annotations

import json

import pytest

from neuromorph.cli import main
from neuromorph.experiments import run
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.rules_cell import CellSettings, run_cell
from neuromorph.experiments.rules_data import load_task
from neuromorph.experiments.rules_entries import Context, all_entries
from neuromorph.models import load_model


def test_matrix_writes_keys_table_and_refusals(tmp_path, capsys) -> None:
    out = run("rules", {"rules": "bp,pat", "substrates": "digital,optical", "budget": "0.3",
                        "workers": "1"}, tmp_path / "r", progress=False)
    m = json.loads((out / "metrics.json").read_text())
    assert m["bp/optical/refused"] == 1.0 and "bp/optical/test_accuracy" not in m
    for rule, sub in [("bp", "digital"), ("pat", "digital"), ("pat", "optical")]:
        assert m[f"{rule}/{sub}/refused"] == 0.0
        assert m[f"{rule}/{sub}/test_accuracy"] > 0.9  # 9 epochs of Adam on digits
        for key in ("queries", "seconds", "peak_mib", "drift_accuracy", "retrained_accuracy"):
            assert m[f"{rule}/{sub}/{key}"] >= 0
    assert "refused" in (out / "table.md").read_text()
    assert "differentiable access" in (out / "refusals.md").read_text()
    assert (out / "heatmap_accuracy.png").stat().st_size > 0
    assert (out / "cells.csv").read_text().count("\n") == 5  # header + 4 cells
    # every trained cell's network reloads; the refused cell trained none. The rule around the
    # reloaded PAT-on-optical network scores that cell's own test accuracy
    names = sorted(p.name for p in (out / "networks").glob("*.json"))
    assert names == ["cell-bp.digital.0.json", "cell-pat.digital.0.json",
                     "cell-pat.optical.0.json"]
    net, info = load_model(out / "networks" / "cell-pat.optical.0.json")
    task = load_task("digits", 0)
    rule = all_entries()["pat"].build(net, Context(task.n_classes, 0, net.embedding,
                                                   task.x_train, task.y_train))
    assert rule.accuracy(task.x_test, task.y_test) == m["pat/optical/test_accuracy"]
    assert main(["export", str(out), "--to", "nir", str(tmp_path / "x.nir")]) == 2
    assert "one trained network per cell in networks/" in capsys.readouterr().err


def test_a_cell_is_deterministic_under_its_seed() -> None:
    s = CellSettings(budget=0.2)
    a, b = run_cell("pat", "optical", 3, s), run_cell("pat", "optical", 3, s)
    assert a.test_accuracy == b.test_accuracy and a.drift_accuracy == b.drift_accuracy
    assert a.queries == b.queries > 0


def test_unknown_rule_or_substrate_lists_the_valid_ones(tmp_path) -> None:
    with pytest.raises(ConfigError, match="choose from bp, pat"):
        run("rules", {"rules": "bp,backprop"}, tmp_path / "x", progress=False)
    with pytest.raises(ConfigError, match="unknown substrate"):
        run("rules", {"substrates": "quantum"}, tmp_path / "y", progress=False)
