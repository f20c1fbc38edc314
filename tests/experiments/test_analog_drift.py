"""analog-drift end to end on a tiny config: files, the metric names, seeding; the bars (slow)."""

import json

import pytest

from neuromorph import experiments
from neuromorph.cli import main
from neuromorph.experiments.analog_drift import DEVICES, METHODS, TIMES, Config, data_split
from neuromorph.experiments.analog_snn import SNN_METHODS
from neuromorph.experiments.analog_training import accuracy
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.snn_common import evaluate
from neuromorph.experiments.snn_digits import Config as DigitsConfig
from neuromorph.experiments.snn_digits import digits_task
from neuromorph.models import load_model

TINY = {"seeds": "1", "programmings": "1", "epochs": "5", "hidden": "16", "insitu_steps": "10",
        "insitu_directions": "2", "snn_epochs": "1", "test_fraction": "0.5",
        "snn_insitu_steps": "200", "snn_insitu_batch": "32"}


def expected_keys() -> set[str]:
    keys = {"accuracy_float", "accuracy_snn_float"}
    for m in (*METHODS, *(f"snn_{m}" for m in SNN_METHODS)):
        for d in DEVICES:
            for t in TIMES:
                keys |= {f"accuracy_{m}_{d}_{t}", f"accuracy_{m}_{d}_{t}_compensated"}
    return keys


def test_tiny_run_writes_every_metric(tmp_path):
    out = experiments.run("analog-drift", TINY, tmp_path / "a", progress=False)
    names = {p.name for p in out.iterdir()}
    assert {"config.yaml", "metrics.json", "results.txt", "model.pt", "accuracy_vs_time.png",
            "energy_per_inference.png", "snn_accuracy_vs_time.png"} <= names
    metrics = json.loads((out / "metrics.json").read_text())
    accuracy_keys = {k for k in metrics if k.startswith("accuracy_")}
    assert accuracy_keys >= expected_keys()
    assert all(0.0 <= metrics[k] <= 1.0 for k in expected_keys())
    assert metrics["accuracy_float"] > 0.3 and metrics["accuracy_hwa_pcm_1s"] > 0.3  # chance 0.1
    # steps x directions x (+, -), plus one measured DAC-range calibration pass
    assert metrics["insitu_queries"] == 10 * 2 * 2 + 1
    # the spiking network in situ: steps x directions x (+, -); beats chance (0.1) clearly
    assert metrics["snn_insitu_queries"] == 200 * 2 * 2
    for device in DEVICES:
        assert metrics[f"accuracy_snn_insitu_{device}_1s"] > 0.25  # 0.38 / 0.40 measured
    assert 1e-10 < metrics["energy_per_inference_J_float_pcm"] < 1e-7
    for device in DEVICES:  # the spiking network's energy, counted from its spikes
        assert 1e-11 < metrics[f"energy_per_inference_J_snn_float_{device}"] < 1e-6
        assert metrics[f"latency_s_snn_float_{device}"] > 0
    check_saved_models(out, metrics)


def check_saved_models(out, metrics):
    """Each method's analog MLP and spiking network reload without the experiment's code (the
    HWA MLP also as the run's ``model``) and score the run's own twin accuracies exactly; export
    refuses the analog tiles in one line."""
    data = data_split(Config(test_fraction=float(TINY["test_fraction"])), 0)
    for name, method in (("model", "hwa"), *((m, m) for m in METHODS)):
        model, info = load_model(out / f"{name}.json")
        assert info["method"] == method and info["experiment"] == "analog-drift"
        assert accuracy(model, data.x_test, data.y_test) == metrics[f"accuracy_{method}_twin"]
    snn_cfg = DigitsConfig(seed=0, seeds=1, epochs=int(TINY["snn_epochs"]))
    task = digits_task(snn_cfg, 0)
    for method in SNN_METHODS:  # the spiking networks, scored on the run's fixed test spikes
        model, info = load_model(out / f"snn_{method}.json")
        assert info["method"] == f"snn_{method}"
        assert evaluate(model, task, snn_cfg, 0)[0] == metrics[f"accuracy_snn_{method}_twin"]
    assert main(["export", str(out), "--to", "nir", str(out / "net.nir")]) == 2
    assert not (out / "net.nir").exists()


@pytest.mark.slow
def test_same_seed_same_metrics(tmp_path):
    runs = [experiments.run("analog-drift", TINY, tmp_path / name, progress=False)
            for name in ("a", "b")]
    a, b = (json.loads((out / "metrics.json").read_text()) for out in runs)
    assert {k: a[k] for k in expected_keys()} == {k: b[k] for k in expected_keys()}


def test_config_errors_are_clear():
    with pytest.raises(ConfigError, match="insitu_device must be one of"):
        experiments.run("analog-drift", {"insitu_device": "flash"}, None, progress=False)
    with pytest.raises(ConfigError, match="insitu_rule must be one of"):
        experiments.run("analog-drift", {"insitu_rule": "backprop"}, None, progress=False)
    with pytest.raises(ConfigError, match="snn_insitu_c must be > 0"):
        experiments.run("analog-drift", {"snn_insitu_c": "0"}, None, progress=False)
    with pytest.raises(ConfigError, match="dac_bits must be 0"):
        experiments.run("analog-drift", {"dac_bits": "1"}, None, progress=False)


@pytest.mark.slow
def test_default_run_meets_the_hwa_bars(tmp_path):
    out = experiments.run("analog-drift", {}, tmp_path / "full", progress=False)
    m = json.loads((out / "metrics.json").read_text())
    f = m["accuracy_float"]
    assert m["accuracy_hwa_pcm_1d_compensated"] >= f - 0.01
    assert m["accuracy_hwa_pcm_1y_compensated"] >= f - 0.02
    assert f - m["accuracy_float_pcm_1y"] > f - m["accuracy_hwa_pcm_1y_compensated"] + 0.005
