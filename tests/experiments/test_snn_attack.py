"""snn-attack on a tiny config: keys, and gradient attacks beat random noise of the same budget."""

from __future__ import annotations

import json

import pytest

from neuromorph import experiments
from neuromorph.experiments.config import ConfigError

EPS = (0.1, 0.25)


@pytest.fixture(scope="module")
def tiny_attack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    out = experiments.run(
        "snn-attack",
        {"epochs": "4", "hidden": "32", "train_subset": "400", "n_steps": "10",
         "attack_samples": "80", "epsilons": ",".join(map(str, EPS)), "pgd_steps": "4",
         "eot_samples": "2", "surrogates": "fast_sigmoid,triangular",
         "calibration_samples": "64"},
        tmp_path_factory.mktemp("attack") / "run", progress=False)
    assert {"results.txt", "success.png", "model.pt"} <= {p.name for p in out.iterdir()}
    return json.loads((out / "metrics.json").read_text())


def test_metric_keys(tiny_attack: dict[str, float]) -> None:
    assert tiny_attack["accuracy_clean_float"] > 0.6  # the victim learned
    for eps in EPS:
        for short in ("fgsm", "pgd", "pdsg", "random"):
            for prefix in ("success", "transfer_loihi2"):
                assert 0.0 <= tiny_attack[f"{prefix}_{short}_eps{eps:g}"] <= 1.0
        for name in ("fgsm_triangular", "pgd_fast_sigmoid", "pdsg_fgsm", "pdsg_pgd"):
            assert f"success_{name}_eps{eps:g}" in tiny_attack
    assert tiny_attack["pdsg_scale_layer1"] > 0


def test_gradient_attacks_beat_random_noise_of_the_same_budget(
        tiny_attack: dict[str, float]) -> None:
    eps = f"eps{EPS[-1]:g}"
    random = tiny_attack[f"success_random_{eps}"]
    for short in ("fgsm", "pgd", "pdsg"):
        assert tiny_attack[f"success_{short}_{eps}"] > random + 0.2, short
    assert tiny_attack[f"transfer_loihi2_pgd_{eps}"] > tiny_attack[f"transfer_loihi2_random_{eps}"]
    # a larger budget never helps the victim (same attack, same seeds)
    assert tiny_attack[f"success_pgd_{eps}"] >= tiny_attack[f"success_pgd_eps{EPS[0]:g}"]


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="epsilons"):
        experiments.run("snn-attack", {"epsilons": "0.1,2"}, "/tmp/never-written")
    with pytest.raises(ConfigError, match="unknown surrogate"):
        experiments.run("snn-attack", {"surrogates": "gaussian"}, "/tmp/never-written")
    with pytest.raises(ConfigError, match="seeds=1"):
        experiments.run("snn-attack", {"seeds": "2"}, "/tmp/never-written")
