"""The plasticity studies end to end on tiny configs, plus their config validation."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from neuromorph import experiments
from neuromorph.experiments.config import ConfigError
from neuromorph.models import load_model

STUDIES = ("oja-pca", "bcm-selectivity", "stdp-window", "diehl-cook-digits", "rstdp-task",
           "hebbian-physical")


def _run(name: str, overrides: dict, tmp_path) -> tuple[dict, set[str]]:
    metrics, files, _ = _run_dir(name, overrides, tmp_path)
    return metrics, files


def _run_dir(name: str, overrides: dict, tmp_path):
    out = experiments.run(name, overrides, tmp_path / name, progress=False)
    meta = yaml.safe_load((out / "config.yaml").read_text())
    assert meta["experiment"] == name
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(isinstance(v, float) for v in metrics.values())
    files = {p.name for p in out.iterdir()}
    assert {"config.yaml", "metrics.json", "results.txt", "model.pt"} <= files
    assert any(f.endswith(".png") for f in files)
    return metrics, files, out


def test_registered_with_one_line_summaries():
    for name in STUDIES:
        module = experiments.load(name)
        assert module.SUMMARY and "\n" not in module.SUMMARY
        assert module.Config().seed == 0  # defaults validate


def test_oja_pca_converges_below_5_degrees(tmp_path):
    m, files, out = _run_dir("oja-pca", {"dim": "5", "components": "2", "samples": "8000",
                                         "eval_every": "400"}, tmp_path)
    assert m["converged"] == 1.0
    assert m["oja_angle_deg"] < 5 and m["sanger_max_angle_deg"] < 5
    assert m["oja_weight_norm"] == pytest.approx(1.0, abs=0.05)
    assert {"angles.png", "weights.png"} <= files
    # the saved networks (model.json / oja.json: nn.Linear y = W x) give the run's angles
    from neuromorph.experiments.oja_pca import angles_deg

    u = torch.load(out / "data.pt", weights_only=True)["true_components"]
    sanger, info = load_model(out)
    oja, _ = load_model(out / "oja.json")
    assert info["rule"] == "sanger" and sanger.weight.shape == (2, 5)
    got = angles_deg(sanger.weight.detach().double(), u)  # float32 in the rebuilt module
    assert got == pytest.approx([m["sanger_angle_deg_pc1"], m["sanger_angle_deg_pc2"]],
                                abs=1e-3)
    assert angles_deg(oja.weight.detach().double(), u)[0] == pytest.approx(m["oja_angle_deg"],
                                                                            abs=1e-3)


def test_bcm_neurons_become_selective(tmp_path):
    m, _, out = _run_dir("bcm-selectivity", {"neurons": "4", "patterns": "3", "dim": "12",
                                             "active": "4", "steps": "5000"}, tmp_path)
    assert m["selectivity_mean"] > 0.8 > m["selectivity_initial_mean"]
    assert m["fraction_selective"] >= 0.75
    # the saved weights (nn.Linear) give the run's selectivity through relu(W x)
    from neuromorph.experiments.bcm_selectivity import selectivity

    net, info = load_model(out)
    pats = torch.load(out / "data.pt", weights_only=True)["patterns"]
    with torch.no_grad():
        si = selectivity(torch.relu(net(pats.float())).double())
    assert float(si.mean()) == pytest.approx(m["selectivity_mean"], abs=1e-5)
    assert len(info["theta"]) == 4


def test_stdp_window_matches_the_analytic_curves(tmp_path):
    m, files = _run("stdp-window", {"dt": "1e-3", "pairings": "2", "max_lag": "0.04",
                                    "lag_step": "0.004", "sweep_pairings": "8",
                                    "sweep_frequencies": "1,40"}, tmp_path)
    for rule in ("pair_all_to_all", "pair_nearest", "triplet"):
        assert m[f"{rule}_max_rel_deviation"] < 1e-9
    assert m["pair_all_to_all_engine_vs_dense_max_abs"] < 1e-12
    assert m["pair_all_to_all_ltp_peak"] == pytest.approx(0.01)
    assert abs(m["triplet_ltp_peak"]) < 1e-4  # minimal model: no potentiation at 1 Hz
    assert m["sweep_triplet_plus10ms_40hz"] > m["sweep_triplet_plus10ms_1hz"]
    assert m["sweep_max_abs_deviation"] < 1e-12
    assert {"window.png", "frequency_dependence.png"} <= files


def test_diehl_cook_tiny_run_beats_chance(tmp_path, capsys):
    m, files, out = _run_dir("diehl-cook-digits", {"neuron_counts": "10,20",
                                                   "train_subset": "160", "epochs": "1",
                                                   "n_steps": "50", "eval_batch": "400"},
                             tmp_path)
    assert m["test_accuracy_n10"] > 0.2 and m["test_accuracy_n20"] > 0.2  # chance is 0.1
    assert m["test_accuracy"] == m["test_accuracy_n20"]
    assert {"accuracy_vs_neurons.png", "weights.png", "model.json", "data.pt"} <= files
    # the largest network reloads from model.json + model.pt (library code only) and,
    # shown the same test presentations (the generator state saved in data.pt), classifies
    # the test set to the run's own accuracy exactly
    from neuromorph.data.poisson_digits import digits_split
    from neuromorph.networks.competitive import CompetitiveLayer

    layer, info = load_model(out)
    assert type(layer) is CompetitiveLayer and info["neurons"] == 20 and layer.n_out == 20
    data = torch.load(out / "data.pt", weights_only=True)
    assert sorted(data) == [10, 20] and torch.equal(data[20]["labels"], layer.labels)
    split = digits_split(info["test_fraction"], info["seed"])
    gen = torch.Generator()
    gen.set_state(data[20]["test_generator_state"])
    pred = layer.classify(split.x_test, gen, batch=info["eval_batch"])
    assert float((pred == split.y_test).float().mean()) == m["test_accuracy"]
    # NIR has no conductance-based neuron: export says so in one line and how to reload
    from neuromorph.cli import main

    capsys.readouterr()
    assert main(["export", str(out), "--to", "nir", str(tmp_path / "dc.nir")]) == 2
    err = capsys.readouterr().err
    assert "holds a CompetitiveLayer" in err and "neuromorph.models.load_model" in err


def test_rstdp_learns_the_association_and_is_reproducible(tmp_path):
    overrides = {"patterns": "2", "trials": "320", "eval_every": "5", "eval_trials": "100",
                 "n_steps": "60"}
    m, files = _run("rstdp-task", overrides, tmp_path)
    assert m["final_accuracy"] >= 0.9 and m["own_weight_mean"] > m["other_weight_mean"]
    again = experiments.run("rstdp-task", overrides, tmp_path / "again", progress=False)
    assert json.loads((again / "metrics.json").read_text()) == m
    net, info = load_model(again)  # the learned input -> output synapses, y = W x
    rates = torch.load(again / "data.pt", weights_only=True)["pattern_rates"]
    w = net.weight.detach().double()
    own = torch.stack([w[k][rates[k] == rates.max()].mean() for k in range(2)]).mean()
    assert info["rule"] == "reward-stdp" and w.shape == (2, 30)
    assert float(own) == pytest.approx(m["own_weight_mean"], rel=1e-6)


def test_hebbian_physical_tiny_run(tmp_path):
    m, files, out = _run_dir("hebbian-physical", {"hidden": "16", "epochs": "2", "eval_every": "1",
                                         "phyll_epochs": "2", "label_draws": "1"}, tmp_path)
    # measured on this config: softhebb 0.90, random features 0.77, phyll 0.89, both linear
    # readouts 0.98; chance is 0.1. The floors leave room for other BLAS builds.
    floors = {"softhebb": 0.8, "random_features": 0.65, "phyll": 0.8, "linear_readout": 0.93,
              "linear_raw": 0.93}
    for key, floor in floors.items():
        assert m[f"{key}_test_accuracy"] >= floor, key
    assert m["softhebb_physical_queries"] > 0 and m["linear_raw_physical_queries"] == 0
    assert {"accuracy.png", "softhebb_weights.png"} <= files
    # the saved SoftHebb layer (its physical system's spec + the learned map) reloads and
    # gives the run's readout accuracy on the same split
    from neuromorph.data.digits import sklearn_digits
    from neuromorph.data.vowels import split_data
    from neuromorph.experiments.hebbian_physical import Config, readout
    from neuromorph.experiments.phyll_common import Task

    cfg = Config(hidden=16, epochs=2, eval_every=1, phyll_epochs=2, label_draws=1)
    split = split_data(sklearn_digits(), cfg.test_fraction, cfg.seed)
    task = Task.from_arrays(split.x_train, split.y_train, split.x_test, split.y_test, 10,
                            cfg.width)
    layer, info = load_model(out)
    assert info["rule"] == "softhebb"
    assert readout(layer, task, cfg)[0] == pytest.approx(m["softhebb_test_accuracy"], abs=1e-9)
    phyll, _ = load_model(out / "phyll.json")
    assert type(phyll).__name__ == "PhysicalNetwork"


@pytest.mark.parametrize("name,key,value", [
    ("oja-pca", "components", "0"),
    ("bcm-selectivity", "patterns", "1"),
    ("stdp-window", "lag_step", "0.0013"),
    ("diehl-cook-digits", "neuron_counts", "5"),
    ("rstdp-task", "rate_on", "2000"),
    ("hebbian-physical", "system", "laser"),
])
def test_bad_configs_are_clear_errors(name, key, value, tmp_path):
    with pytest.raises(ConfigError):
        experiments.run(name, {key: value}, tmp_path / "bad", progress=False)
