"""lsm-digits on a tiny liquid: metric keys, a readout well above chance, the features against a
plain loop, and config errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neuromorph import experiments
from neuromorph.data.poisson_digits import digits_split
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.lsm_liquid import (
    LiquidSpec,
    branching_over_run,
    liquid_branching,
    run_liquid,
    spike_counts,
)

TINY = {"n_exc": "80", "n_inh": "20", "k_rec": "20", "n_train": "120", "n_test": "60",
        "n_sweep": "20", "scales": "1.0,3.0"}


@pytest.fixture(scope="module")
def tiny_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = experiments.run("lsm-digits", TINY, tmp_path_factory.mktemp("lsm") / "run",
                          progress=False)
    assert {"results.txt", "raster.png", "branching.png", "branching.npz", "model.json",
            "model.pt", "liquid.json", "liquid.pt"} <= {p.name for p in out.iterdir()}
    return out


@pytest.fixture(scope="module")
def tiny_run(tiny_out: Path) -> dict[str, float]:
    return json.loads((tiny_out / "metrics.json").read_text())


def test_metric_keys_and_readout_beats_chance(tiny_run: dict[str, float]) -> None:
    for name in ("plain", "tuned", "nalsm"):
        for key in (f"accuracy_{name}", f"branching_{name}", f"rate_hz_{name}"):
            assert key in tiny_run, key
        # chance is 0.1; 100 cells on 120 images reach ~0.85-0.9
        assert tiny_run[f"accuracy_{name}"] >= 0.6, name
        assert tiny_run[f"rate_hz_{name}"] > 1.0
    assert tiny_run["test_accuracy"] == tiny_run["accuracy_nalsm"]
    assert tiny_run["tuned_scale"] in (1.0, 3.0)
    # defaults: NALSM's input-sensing astrocyte on plastic input synapses, E->E fixed
    assert np.isfinite(tiny_run["astro_ratio_final"]) and tiny_run["astro_ratio_final"] > 0
    assert tiny_run["w_ee_mean_nalsm"] == pytest.approx(tiny_run["w_ee_mean_plain"], rel=1e-9)
    assert tiny_run["w_in_mean_nalsm"] != 6e-3  # the astrocyte-gated STDP acted


def test_branching_over_learning_is_reported_per_chunk(tiny_out: Path,
                                                      tiny_run: dict[str, float]) -> None:
    curve = np.load(tiny_out / "branching.npz")["learning_branching"]
    assert curve.shape == (1, 2)  # 120 training images: one chunk of 100
    assert curve[0, 0] == pytest.approx(100 * 0.12)  # its end: 100 images of 0.1 + 0.02 s
    assert tiny_run["branching_learning_final"] == curve[-1, 1]


def test_branching_over_a_run_equals_the_whole_runs_on_one_chunk() -> None:
    spec = LiquidSpec(n_exc=40, n_inh=10, k_rec=10)
    x = digits_split(0.2, 0).x_train.numpy()[:6]
    run = run_liquid(x, spec, seed=0, input_seed=1)
    whole = liquid_branching(run, spec)
    one = branching_over_run(run, spec, chunk=6)
    assert one.shape == (1, 2) and one[0, 1] == pytest.approx(whole, rel=1e-12)
    halves = branching_over_run(run, spec, chunk=3)
    assert halves.shape == (2, 2) and not np.allclose(halves[0, 1], halves[1, 1])


def test_input_weights_learn_inside_their_signed_bounds(tiny_out: Path) -> None:
    w_in = np.load(tiny_out / "branching.npz")["w_in_nalsm"]
    assert w_in.size > 100
    assert w_in.min() >= -12e-3 - 1e-12 and w_in.max() <= 12e-3 + 1e-12
    assert np.ptp(w_in) > 1e-3  # STDP spread the weights (all started at w_in = 6 mV)


def test_branching_astrocyte_on_e_to_e_synapses_still_runs(tmp_path: Path) -> None:
    """The earlier NALSM liquid (branching-ratio astrocyte, E->E learn, inputs fixed) stays
    available for comparison."""
    cfg = {**TINY, "astro_sense": "branching", "a_stdp": "3e-5", "a_stdp_in": "0",
           "astro_tau": "2.0"}
    out = experiments.run("lsm-digits", cfg, tmp_path / "branching", progress=False)
    m = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(m["astro_sigma_final"]) and "astro_ratio_final" not in m
    assert m["w_ee_mean_nalsm"] != m["w_ee_mean_plain"]
    assert m["w_in_mean_nalsm"] == 6e-3
    assert m["accuracy_nalsm"] >= 0.6


def test_spike_count_features_match_a_plain_loop() -> None:
    d = digits_split(0.2, 0)
    spec = LiquidSpec(n_exc=40, n_inh=10, k_rec=10, t_sample=0.03, t_gap=0.01)
    run = run_liquid(d.x_train[:6].numpy(), spec, seed=1)
    f = spike_counts(run, spec, n_bins=2)
    ref = np.zeros((6, 2, spec.n))
    on, period = spec.steps_per_sample
    for step, cell in zip(run.steps, run.neurons, strict=True):
        s, k = divmod(int(step), period)
        ref[s, 0 if k < period / 2 else 1, cell] += 1
    assert run.steps.size > 50
    np.testing.assert_array_equal(f, ref.reshape(6, -1))


def test_bad_config_names_the_key(tmp_path) -> None:
    with pytest.raises(ConfigError, match="k_rec"):
        experiments.run("lsm-digits", {"k_rec": "0"}, tmp_path / "bad", progress=False)
    with pytest.raises(ConfigError, match="astro_sense"):
        experiments.run("lsm-digits", {"astro_sense": "glia"}, tmp_path / "bad2", progress=False)
    with pytest.raises(ConfigError, match="needs astro_sense=input"):
        experiments.run("lsm-digits", {"astro_sense": "branching"}, tmp_path / "bad3",
                        progress=False)


def test_readout_c_is_picked_without_the_test_rows() -> None:
    from neuromorph.experiments.lsm_digits import validated_readout

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    f = rng.normal(size=(120, 30)) + 2.0 * np.eye(3)[y] @ rng.normal(size=(3, 30))
    f_te, y_te = f[:30] + rng.normal(size=(30, 30)), y[:30]
    cs = (1e-4, 1e-2, 1.0)
    acc, c, val = validated_readout(f, y, f_te, y_te, cs, 0.25, seed=0)
    assert c in cs and 0.9 <= val <= 1.0 and acc >= 0.8  # three well-separated classes
    # scrambling the test rows changes the test score, never the validated choice
    acc2, c2, val2 = validated_readout(f, y, rng.normal(size=(30, 30)), (y_te + 1) % 3, cs,
                                       0.25, seed=0)
    assert (c2, val2) == (c, val) and acc2 < acc


def test_saved_liquid_and_readout_reproduce_the_test_accuracy(tiny_out: Path,
                                                              tiny_run: dict[str, float]) -> None:
    """The liquid (engine network) and its readout (an Affine) reload without the experiment's
    code; the reloaded liquid's spike counts through the reloaded readout score the reported
    NALSM test accuracy exactly."""
    from neuromorph.models import load_model
    from neuromorph.sim import SpikeMonitor

    torch.set_default_dtype(torch.float64)  # rebuild the readout in the dtype it was fitted in
    try:
        readout, info = load_model(tiny_out)
    finally:
        torch.set_default_dtype(torch.float32)
    liquid, liquid_info = load_model(tiny_out / info["liquid_file"])
    assert info["liquid"] == liquid_info["liquid"] == "nalsm"
    assert info["test_accuracy"] == tiny_run["accuracy_nalsm"]
    spec = LiquidSpec(**info["liquid_spec"])
    on, period = spec.steps_per_sample
    mon = liquid.add(SpikeMonitor(liquid["liquid"], name="spikes"))
    liquid.run(info["n_samples"] * period * spec.dt)
    # the features by hand: spikes per cell in n_bins equal slices of each sample's period
    sample, k = np.divmod(mon.steps, period)
    slot = k * info["n_bins"] // period
    feats = np.zeros((info["n_samples"], info["n_bins"], spec.n))
    np.add.at(feats, (sample, slot, mon.i), 1.0)
    x = torch.as_tensor(feats.reshape(info["n_samples"], -1)[info["n_train"]:])
    y_test = digits_split(0.2, info["seed"]).y_test.numpy()[: info["n_samples"] - info["n_train"]]
    with torch.no_grad():
        pred = readout(x).argmax(1).numpy()
    assert float((pred == y_test).mean()) == tiny_run["accuracy_nalsm"]


def test_export_writes_the_liquid_and_refuses_nothing_it_can_hold(tiny_out: Path,
                                                                  tmp_path: Path) -> None:
    """The readout (an Affine) and the liquid (LIF + LI channels + Affine + Delay) both have a
    NIR form."""
    from neuromorph.cli import main as cli

    for name in ("model", "liquid"):
        assert cli(["export", str(tiny_out / f"{name}.json"), "--to", "nir",
                    str(tmp_path / f"{name}.nir")]) == 0
        assert (tmp_path / f"{name}.nir").stat().st_size > 0
