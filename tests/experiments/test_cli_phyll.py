"""The CLI end to end on tiny configs, and its errors on bad input."""

import json

import pytest
import torch
import yaml

from neuromorph.cli import main
from neuromorph.models import build_module, load_model, module_spec, read_spec
from neuromorph.networks.physical import PhysicalNetwork


def test_list_shows_every_experiment_with_a_line(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("phyll-vowels", "phyll-digits", "phyll-drift"):
        assert name in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "no-such"], "unknown experiment 'no-such'; choose one of"),
        (["run", "phyll-vowels", "--set", "epoks=3"], "unknown config key 'epoks'; valid keys"),
        (["run", "phyll-vowels", "--set", "epochs=three"], "'three' is not a valid int"),
        (["run", "phyll-vowels", "--set", "epochs=0"], "epochs and steps must be >= 1"),
        (["run", "phyll-vowels", "--set", "methods=phyll,magic"], "unknown methods ['magic']"),
        (["run", "phyll-vowels", "--set", "system=laser"], "unknown system 'laser'"),
        (["run", "phyll-vowels", "--set", "noepuals"], "expects key=value"),
        (["run", "phyll-vowels", "--set", "measured_noise=maybe"], "not a boolean"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_phyll_vowels_runs_end_to_end_on_a_tiny_config(phyll_data, tmp_path):
    out = tmp_path / "run"
    argv = [
        "run", "phyll-vowels", "--quiet", "--seed", "7", "--out", str(out),
        "--set", f"dataset={phyll_data / 'hillenbrand_vowels_7class.csv'}",
        "--set", "system=measured-acoustic", "--set", f"data_dir={phyll_data}",
        "--set", "seeds=1", "--set", "epochs=4", "--set", "supervised_steps=4",
        "--set", "eval_every=2", "--set", "methods=phyll,physics-off,linear-readout,pat",
    ]
    assert main(argv) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["seed"] == 7 and config["config"]["epochs"] == 4
    metrics = json.loads((out / "metrics.json").read_text())
    # measured: phyll 0.88 on this 4-epoch config (7 vowels, chance 0.14); the exact-twin PAT
    # baseline does not learn in 4 steps, so only PhyLL and the linear readout get a floor
    assert metrics["test_accuracy"] >= 0.75
    assert metrics["linear_readout_test_accuracy_mean"] >= 0.85
    assert metrics["phyll_physical_queries"] > 0 and metrics["system_fit_test_r2"] > 0.9
    for name in ("learning_curves.png", "confusion_matrix.png", "phyll_loss.png", "model.pt"):
        assert (out / name).is_file(), name
    # the trained PhyLL network reloads from model.json + model.pt, its system named by spec
    net, info = load_model(out)
    assert isinstance(net, PhysicalNetwork) and info["experiment"] == "phyll-vowels"
    assert module_spec(net.layers[0]).system.name == "measured-acoustic"
    # the spec alone rebuilds the same device: its fixed constants equal the trained run's
    fresh = build_module(read_spec(out / "model.json")[0], dt=1.0).state_dict()
    state = torch.load(out / "model.pt", weights_only=True)
    device_keys = [k for k in state if ".system." in k]
    assert device_keys and all(torch.equal(fresh[k], state[k]) for k in device_keys)
