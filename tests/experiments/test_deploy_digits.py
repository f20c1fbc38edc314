"""deploy-digits on a tiny config: runs from the CLI, writes its outputs, exports again."""

from __future__ import annotations

import json

import pytest
import torch

from neuromorph.cli import main


def test_deploy_digits_tiny_run(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    rc = main(["run", "deploy-digits", "--set", "epochs=1", "--set", "train_subset=150",
               "--set", "hidden=12", "--set", "n_steps=8", "--set", "calibration_samples=64",
               "--out", str(out), "--quiet"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_accuracy_float", "test_accuracy_loihi2", "test_accuracy_xylo",
                "test_accuracy_loihi2_numerics", "energy_per_inference_loihi2_nJ",
                "energy_per_inference_xylo_nJ", "violations_xylo_errors"):
        assert key in metrics, key
    for key in ("test_accuracy_float", "test_accuracy_loihi2", "test_accuracy_xylo"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["violations_xylo_errors"] >= 2  # 64 inputs > 16, 10 outputs > 8
    assert metrics["violations_loihi2_errors"] >= 1  # snn-digits trains with subtract reset
    text = (out / "violations.txt").read_text()
    assert "64 input channels > 16" in text and "reset='zero'" in text
    assert (out / "accuracy.png").is_file() and (out / "model.pt").is_file()
    saved = torch.load(out / "model.pt", weights_only=False)
    assert saved["experiment"] == "deploy-digits"
    if (out / "model.nir").is_file():  # written when the nir extra is installed
        nir_out = tmp_path / "again.nir"
        assert main(["export", str(out / "model.pt"), "--to", "nir", str(nir_out)]) == 0
        assert nir_out.is_file()


def test_deploy_digits_config_errors() -> None:
    from neuromorph.experiments import run
    from neuromorph.experiments.config import ConfigError

    with pytest.raises(ConfigError, match="unknown chip"):
        run("deploy-digits", {"chips": "loihi2,truenorth"}, "/tmp/never-written")
    with pytest.raises(ConfigError, match="seeds=1"):
        run("deploy-digits", {"seeds": "2"}, "/tmp/never-written")
