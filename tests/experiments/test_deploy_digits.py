"""deploy-digits on a tiny config: runs from the CLI, writes its outputs, exports again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuromorph.cli import main
from neuromorph.models import read_spec


def test_deploy_digits_tiny_run(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    rc = main(["run", "deploy-digits", "--set", "epochs=4", "--set", "train_subset=600",
               "--set", "hidden=16", "--set", "n_steps=8", "--set", "calibration_samples=64",
               "--set", "qat_epochs=1", "--set", "inloop_epochs=1", "--set", "inloop_batch=600",
               "--set", "inloop_perturbations=2", "--out", str(out), "--quiet"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_accuracy_float", "test_accuracy_loihi2", "test_accuracy_xylo",
                "test_accuracy_loihi2_numerics", "energy_per_inference_loihi2_nJ",
                "energy_per_inference_xylo_nJ", "violations_xylo_errors"):
        assert key in metrics, key
    # measured on this config: float 0.52, Loihi 2 integer model 0.46, Xylo 0.45 (chance 0.1)
    assert metrics["test_accuracy_float"] >= 0.42
    assert metrics["test_accuracy_loihi2"] >= 0.36 and metrics["test_accuracy_xylo"] >= 0.36
    # chip parity: one key per deployment method, the best chosen by the training loss alone
    methods = ("ptq", "qat", "inloop")
    for chip in ("loihi2", "xylo"):
        accs = [metrics[f"accuracy_{chip}_{m}"] for m in methods]
        losses = [metrics[f"train_loss_{chip}_{m}"] for m in methods]
        best = min(range(3), key=losses.__getitem__)
        assert metrics[f"best_method_{chip}"] == best
        assert metrics[f"accuracy_{chip}_int"] == accs[best]
        assert min(accs) >= 0.36, (chip, accs)
    assert metrics["accuracy_float"] == metrics["test_accuracy_float"]
    assert metrics["violations_xylo_errors"] >= 2  # 64 inputs > 16, 10 outputs > 8
    assert metrics["violations_loihi2_errors"] >= 1  # snn-digits trains with subtract reset
    text = (out / "violations.txt").read_text()
    assert "64 input channels > 16" in text and "reset='zero'" in text
    assert (out / "accuracy.png").is_file() and (out / "model.pt").is_file()
    assert read_spec(out / "model.json")[2]["experiment"] == "deploy-digits"
    # the run's NIR file (nir is in the test extra) and a re-export of the saved model agree
    nir = pytest.importorskip("nir")
    nir_out = tmp_path / "again.nir"
    assert main(["export", str(out), "--to", "nir", str(nir_out)]) == 0
    first, again = nir.read(out / "model.nir"), nir.read(nir_out)
    assert set(first.nodes) == set(again.nodes) and len(first.nodes) >= 3
    assert sorted(first.edges) == sorted(again.edges)
    for name, node in first.nodes.items():
        other = again.nodes[name]
        assert type(node) is type(other), name
        for key, value in vars(node).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, vars(other)[key], err_msg=f"{name}.{key}")
    weights = [n.weight for n in first.nodes.values() if isinstance(n, nir.Affine | nir.Linear)]
    assert weights and all(np.abs(w).sum() > 0 for w in weights)


def test_deploy_digits_config_errors() -> None:
    from neuromorph.experiments import run
    from neuromorph.experiments.config import ConfigError

    with pytest.raises(ConfigError, match="unknown chip"):
        run("deploy-digits", {"chips": "loihi2,truenorth"}, "/tmp/never-written")
    with pytest.raises(ConfigError, match="seeds=1"):
        run("deploy-digits", {"seeds": "2"}, "/tmp/never-written")
