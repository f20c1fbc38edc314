"""The rules matrix experiment: keys, refusals, determinism, config errors (small budgets)."""

from __future__ import annotations

import json

import pytest

from neuromorph.experiments import run
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.rules_cell import CellSettings, run_cell


def test_matrix_writes_keys_table_and_refusals(tmp_path) -> None:
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
