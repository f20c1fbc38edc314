"""Issue 12's "silent wrong result" faults, each reproduced by the test named after it.

The table mapping every fault of the issue to its test (here or elsewhere) is in the report of
the session that wrote this file; the faults fixed elsewhere have their tests beside the code
(tests/experiments, tests/test_errors.py, tests/nir, tests/test_units.py).
"""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.networks.physical import LabelEmbedding, reserve_label_slots

C = 3


def _embedding_input() -> torch.Tensor:
    return reserve_label_slots(torch.arange(1.0, 9.0).view(2, 4), C, C + 4)


# -- LabelEmbedding -------------------------------------------------------------------------------
def test_label_embedding_writes_one_hot_labels_and_keeps_every_data_column():
    x = _embedding_input()
    out = LabelEmbedding(C, scale=2.5)(x, torch.tensor([2, 0]))
    assert out[:, :C].tolist() == [[0, 0, 2.5], [2.5, 0, 0]]
    assert out[:, C:].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert x[:, :C].abs().sum() == 0  # the input is not modified in place


def test_label_embedding_erasing_real_data_in_the_reserved_columns_is_refused():
    x = torch.arange(1.0, 15.0).view(2, 7)  # features in the label slots: used to be erased
    with pytest.raises(ValueError, match=r"^LabelEmbedding writes labels into input columns "
                                         r"0\.\.2, but they hold data \(x\[0, 0\] = 1\.0\); .*"
                                         r"reserve_label_slots\(x, n_classes=3, width\)$"):
        LabelEmbedding(C, 1.0)(x, torch.tensor([0, 1]))


def test_label_embedding_nan_in_a_reserved_column_is_refused():
    x = _embedding_input()
    x[1, 2] = math.nan
    with pytest.raises(ValueError, match=r"x\[1, 2\] = nan"):
        LabelEmbedding(C, 1.0)(x, 0)


@pytest.mark.parametrize("labels", [torch.tensor([0, 3]), torch.tensor([-1, 0]), 3, -1])
def test_label_embedding_label_out_of_range_writing_into_a_data_column_is_refused(labels):
    with pytest.raises(ValueError, match=r"^label -?\d is outside 0\.\.2; .*reserve_label_slots"):
        LabelEmbedding(C, 1.0)(_embedding_input(), labels)


@pytest.mark.parametrize("labels", [torch.tensor([0.0, 1.7]), torch.tensor([math.nan, 0.0])])
def test_label_embedding_float_labels_truncated_are_refused(labels):
    with pytest.raises(ValueError, match=r"^label \S+ is not a whole number; .*y\.long\(\)"):
        LabelEmbedding(C, 1.0)(_embedding_input(), labels)


def test_label_embedding_integer_valued_float_labels_are_accepted():
    """A documented choice: ``[2., 0.]`` (what numpy loaders give) means classes 2 and 0."""
    x = _embedding_input()
    emb = LabelEmbedding(C, 1.0)
    assert torch.equal(emb(x, torch.tensor([2.0, 0.0])), emb(x, torch.tensor([2, 0])))
    assert emb(x, torch.tensor([2.0, 0.0]))[:, :C].tolist() == [[0, 0, 1], [1, 0, 0]]


# -- non-finite hyperparameters of the layer-local rules ----------------------------------------
def _phyll_net():
    from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage

    torch.manual_seed(0)
    return StackNet([Stage(Identity(C + 4), 6), Stage(ReLU(6), C)], LabelEmbedding(C, 1.0))


@pytest.mark.parametrize("alpha", [math.nan, math.inf, -math.inf, 0.0, "4"])
def test_phyll_alpha_nan_is_refused(alpha):
    from neuromorph.learning_rules.phyll import PhyLL

    with pytest.raises(ValueError, match=r"^alpha must be a finite number > 0 .*, got \S+$"):
        PhyLL(_phyll_net(), alpha=alpha)


@pytest.mark.parametrize("steps", [math.nan, math.inf, 2.5, True, 0])
def test_phyll_non_integer_inner_steps_are_refused(steps):
    from neuromorph.learning_rules.phyll import PhyLL

    with pytest.raises(ValueError, match=r"^inner_steps must be an integer >= 1"):
        PhyLL(_phyll_net(), inner_steps=steps)


@pytest.mark.parametrize("threshold", [math.nan, math.inf])
def test_forward_forward_non_finite_threshold_is_refused(threshold):
    from neuromorph.learning_rules.forward_forward import ForwardForward

    with pytest.raises(ValueError, match=r"^threshold must be a finite number > 0"):
        ForwardForward(_phyll_net(), threshold=threshold)


def test_phyll_with_valid_hyperparameters_still_trains():
    """The checks refuse only bad values: a valid PhyLL lowers its loss on separable data."""
    from neuromorph.learning_rules.base import make_optimizer
    from neuromorph.learning_rules.phyll import PhyLL

    gen = torch.Generator().manual_seed(1)
    y = torch.arange(C).repeat_interleave(30)
    feats = torch.nn.functional.one_hot(y, 4).float() * 2 + 0.3 * torch.randn(90, 4, generator=gen)
    x = reserve_label_slots(feats, C, C + 4)
    rule = PhyLL(_phyll_net(), alpha=4.0, inner_steps=5, seed=0)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    first = sum(rule.train_batch(x, y, opt))
    for _ in range(20):
        last = sum(rule.train_batch(x, y, opt))
    assert last < first


# -- config values that make training diverge or mean nothing -----------------------------------
def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(("experiment", "key"), [
    ("analog-drift", "lr"),  # was accepted, and an optimiser then ascended the loss
    ("lsm-digits", "max_rate"),  # was accepted: a negative Poisson rate
    ("diehl-cook-digits", "rate_step"),
])
def test_set_negative_learning_or_event_rate_is_refused_naming_the_key(experiment, key,
                                                                       tmp_path, capsys):
    from neuromorph.cli import main

    out = tmp_path / "run"
    assert main(["run", experiment, "--set", f"{key}=-0.5", "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{key}=-0.5 is negative" in line and f"--set {key}=0.5" in line
    assert not out.exists()


def test_zero_learning_rate_stays_allowed():
    """``lr=0`` (a no-learning control) and the defaults pass: only negative rates are refused."""
    from neuromorph import experiments
    from neuromorph.experiments.config import build_config

    cfg = build_config(experiments.load("analog-drift").Config, {"lr": "0", "insitu_lr": 0.5})
    assert (cfg.lr, cfg.insitu_lr) == (0.0, 0.5)


# -- the CLI and the README ----------------------------------------------------------------------
def test_help_waits_for_torch_to_import():
    import subprocess
    import sys

    code = ("import sys\nfrom neuromorph.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "usage: neuromorph" in out and out.strip().endswith("TORCH False")


def test_readme_links_to_a_file_outside_the_repository():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bad = []
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (doc.parent / target).resolve()
            if not path.is_relative_to(root) or not path.exists():
                bad.append(f"{doc.name}: {target}")
    assert not bad, bad


def test_readme_python_snippets_train_nothing():
    """The README's API tour, run as written, measures the cavity and takes optimiser steps."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    tour = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "PhyLL(" in b]
    assert tour, "the README has no PhyLL snippet"
    namespace: dict = {"__name__": "__snippet__"}
    exec(compile(tour[0], "README.md[PhyLL tour]", "exec"), namespace)
    rule, opt, cavity = namespace["rule"], namespace["opt"], namespace["cavity"]
    assert cavity.queries > 0
    assert len(rule.layer_losses) == len(rule.layers)
    assert all(math.isfinite(v) for v in rule.layer_losses)
    steps = [int(s["step"]) for s in opt.state.values()]  # Adam's per-parameter step count
    assert steps and min(steps) == rule.inner_steps  # every layer took its inner steps


def test_collaborative_ff_refuses_an_infinite_gamma() -> None:
    from torch import nn

    from neuromorph.learning_rules.collaborative_ff import CollaborativeFF

    with pytest.raises(ValueError, match="gamma .* must be finite"):
        CollaborativeFF(nn.Sequential(nn.Linear(2, 2)), gamma=float("inf"))


def test_huge_finite_learning_rate_is_refused_naming_the_key(tmp_path):
    """lr=1e30 trained to chance and exited 0 (finite weights, so no NaN check caught it)."""
    from neuromorph import experiments
    from neuromorph.experiments.config import ConfigError

    with pytest.raises(ConfigError, match=r"lr=1e\+30 is an implausibly large learning rate"):
        experiments.run("phyll-vowels", {"lr": "1e30"}, tmp_path / "never")
    assert not (tmp_path / "never").exists()
