"""snn-digits and snn-randman end to end on tiny configs, plus config validation."""

import json

import pytest
import torch
import yaml

from neuromorph import experiments
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.snn_common import build_network, layer_outputs
from neuromorph.experiments.snn_digits import Config as DigitsConfig
from neuromorph.models import load_model

FILES = {"config.yaml", "metrics.json", "loss.png", "accuracy.png", "raster.png",
         "firing_rates.png", "model.pt", "results.txt"}


def test_registered_with_summaries():
    for name in ("snn-digits", "snn-randman"):
        module = experiments.load(name)
        assert module.SUMMARY and "\n" not in module.SUMMARY


def test_snn_digits_tiny_run_learns(tmp_path):
    out = experiments.run(
        "snn-digits",
        {"epochs": "3", "seeds": "2", "hidden": "32", "train_subset": "300", "n_steps": "10"},
        tmp_path / "run",
        progress=False,
    )
    assert {p.name for p in out.iterdir()} >= FILES
    metrics = json.loads((out / "metrics.json").read_text())
    accs = [metrics["test_accuracy_seed0"], metrics["test_accuracy_seed1"]]
    assert metrics["test_accuracy_mean"] == pytest.approx(sum(accs) / 2)
    assert metrics["test_accuracy_std"] == pytest.approx(abs(accs[0] - accs[1]) / 2)
    assert metrics["test_accuracy"] == metrics["test_accuracy_mean"]
    assert metrics["test_accuracy_mean"] > 0.5  # chance is 0.1
    assert metrics["rate_hz_input"] > 0 and metrics["rate_hz_hidden1"] > 0
    meta = yaml.safe_load((out / "config.yaml").read_text())
    assert meta["experiment"] == "snn-digits" and meta["config"]["hidden"] == [32]
    # model.json + model.pt rebuild the trained network without the experiment's code
    rebuilt, info = load_model(out)
    assert info["seed"] == 1 and info["n_classes"] == 10 and info["experiment"] == "snn-digits"
    cfg = DigitsConfig(hidden=(32,), n_steps=10)
    model = build_network(cfg, 64, 10)
    model.load_state_dict(torch.load(out / "model.pt", weights_only=True))
    x = (torch.rand(10, 2, 64) < 0.3).float()
    assert torch.equal(layer_outputs(rebuilt, x)[-1], layer_outputs(model, x)[-1])


def test_snn_digits_is_reproducible(tmp_path):
    overrides = {"epochs": "1", "seeds": "1", "hidden": "16", "train_subset": "200",
                 "n_steps": "8"}
    a = experiments.run("snn-digits", overrides, tmp_path / "a", progress=False)
    b = experiments.run("snn-digits", overrides, tmp_path / "b", progress=False)
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    assert ma["test_accuracy"] == mb["test_accuracy"]
    sa, sb = (torch.load(p / "model.pt", weights_only=True) for p in (a, b))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_snn_randman_tiny_run(tmp_path):
    out = experiments.run(
        "snn-randman",
        {"epochs": "8", "seeds": "1", "n_classes": "3", "samples_per_class": "60",
         "n_steps": "20", "hidden": "32", "n_units": "10", "reg_strength": "1.0",
         "readout": "spike_count", "lr": "3e-2", "batch_size": "16"},
        tmp_path / "rm",
        progress=False,
    )
    assert {p.name for p in out.iterdir()} >= FILES
    metrics = json.loads((out / "metrics.json").read_text())
    # measured 0.89 on this config (3 classes: chance 0.33; 4 epochs at lr 3e-3 stayed at chance)
    assert metrics["test_accuracy"] >= 0.7 and metrics["test_accuracy_std"] == 0.0
    assert metrics["n_test"] == 36  # 20 % of 60 per class, 3 classes
    # one spike per input channel in T = 20 steps of 1 ms: 50 Hz exactly
    assert metrics["rate_hz_input"] == pytest.approx(50.0)
    assert "rate_hz_output" in metrics  # spike-count readout: the output layer spikes


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("snn-digits", {"seeds": "0"}, "seeds"),
        ("snn-digits", {"max_rate": "1000"}, "max_rate"),
        ("snn-digits", {"surrogate": "bogus"}, "bogus"),
        ("snn-digits", {"readout": "last_spike"}, "valid choice"),
        ("snn-digits", {"tau_mem": "0.001"}, "tau_mem"),
        ("snn-randman", {"n_classes": "1"}, "n_classes"),
        ("snn-randman", {"hidden": "0"}, "hidden"),
        ("snn-randman", {"neuron": "hh"}, "valid choice"),
        ("snn-digits", {"device": "tpu"}, "valid choice"),
        pytest.param("snn-digits", {"device": "cuda"}, "no CUDA device", marks=pytest.mark.skipif(
            torch.cuda.is_available(), reason="CUDA is present")),
    ],
)
def test_config_errors(name, overrides, message):
    with pytest.raises(ConfigError, match=message):
        experiments.run(name, overrides, None, progress=False)


def test_spike_count_readout_uses_spiking_output():
    cfg = DigitsConfig(readout="spike_count", hidden=(8,))
    model = build_network(cfg, 64, 10)
    x = (torch.rand(5, 3, 64) < 0.5).float()
    out = layer_outputs(model, x)[-1]
    assert out.shape == (5, 3, 10) and set(out.unique().tolist()) <= {0.0, 1.0}
