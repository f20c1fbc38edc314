"""lsm-digits on a tiny liquid: metric keys, a readout well above chance, the features against a
plain loop, and config errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuromorph import experiments
from neuromorph.data.poisson_digits import digits_split
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.lsm_liquid import LiquidSpec, run_liquid, spike_counts

TINY = {"n_exc": "80", "n_inh": "20", "k_rec": "20", "n_train": "120", "n_test": "60",
        "n_sweep": "20", "scales": "1.0,3.0"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    out = experiments.run("lsm-digits", TINY, tmp_path_factory.mktemp("lsm") / "run",
                          progress=False)
    assert {"results.txt", "raster.png", "branching.png", "branching.npz"} <= \
        {p.name for p in out.iterdir()}
    return json.loads((out / "metrics.json").read_text())


def test_metric_keys_and_readout_beats_chance(tiny_run: dict[str, float]) -> None:
    for name in ("plain", "tuned", "nalsm"):
        for key in (f"accuracy_{name}", f"branching_{name}", f"rate_hz_{name}"):
            assert key in tiny_run, key
        # chance is 0.1; 100 cells on 120 images reach ~0.85-0.9
        assert tiny_run[f"accuracy_{name}"] >= 0.6, name
        assert tiny_run[f"rate_hz_{name}"] > 1.0
    assert tiny_run["test_accuracy"] == tiny_run["accuracy_nalsm"]
    assert tiny_run["tuned_scale"] in (1.0, 3.0)
    assert np.isfinite(tiny_run["astro_sigma_final"])
    assert tiny_run["w_ee_mean_nalsm"] != tiny_run["w_ee_mean_plain"]  # the astrocyte acted


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
