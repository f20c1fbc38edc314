"""snn-timesteps on a tiny config: keys, the chip cost arithmetic, the direct code on a chip."""

from __future__ import annotations

import json

import pytest
import torch

from neuromorph import experiments
from neuromorph.data.poisson_digits import digits_split
from neuromorph.experiments.config import ConfigError
from neuromorph.experiments.snn_common import build_network
from neuromorph.experiments.snn_timesteps import Config, chip_input, encode

HIDDEN = 16


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    out = experiments.run(
        "snn-timesteps",
        {"seeds": "1", "epochs": "1", "finetune_epochs": "1", "train_subset": "200",
         "hidden": str(HIDDEN)},
        tmp_path_factory.mktemp("ts") / "run", progress=False)
    assert {"results.txt", "timesteps.png", "model.pt"} <= {p.name for p in out.iterdir()}
    return json.loads((out / "metrics.json").read_text())


def test_metric_keys(tiny_run: dict[str, float]) -> None:
    for t in (25, 5, 2, 1):
        assert 0.0 <= tiny_run[f"accuracy_T{t}"] <= 1.0
        for key in (f"synops_T{t}_loihi2", f"energy_T{t}_loihi2_nJ", f"energy_T{t}_xylo_nJ",
                    f"accuracy_T{t}_loihi2_int"):
            assert key in tiny_run, key
    assert tiny_run["accuracy_T1"] == tiny_run["accuracy_T1_chain"]
    assert tiny_run["accuracy_T5"] == tiny_run["accuracy_T5_scratch"]
    assert {"accuracy_T4_chain", "accuracy_T1_scratch"} <= set(tiny_run)


def test_energy_follows_the_published_constants(tiny_run: dict[str, float]) -> None:
    # Loihi 2: 23.6 pJ per synaptic op + 81 pJ per neuron update, (T + 2 flush) x neurons;
    # Xylo: 219 + 93 uW for (T + 1 flush) steps of 2 ms
    for t in (25, 5, 2, 1):
        updates = (t + 2) * (HIDDEN + 10)
        loihi = tiny_run[f"synops_T{t}_loihi2"] * 23.6e-3 + updates * 81e-3
        assert tiny_run[f"energy_T{t}_loihi2_nJ"] == pytest.approx(loihi, rel=1e-9)
        assert tiny_run[f"energy_T{t}_xylo_nJ"] == pytest.approx(312e-6 * (t + 1) * 2e-3 * 1e9)
    assert tiny_run["energy_ratio_loihi2_T25_over_T1"] > 5


def test_direct_code_on_a_chip_is_the_same_input_current() -> None:
    cfg = Config(hidden=(8,))
    torch.manual_seed(0)
    model = build_network(cfg, 64, 10)
    x = digits_split(0.2, 0).x_test[:20]
    gen = torch.Generator().manual_seed(0)
    w_before = model[0].synapse.weight.detach().clone()
    events, chip_model = chip_input(cfg, model, x, 3, gen)
    assert events.dtype.is_floating_point and torch.equal(events, events.round())
    assert events.max() == 16 and events.min() == 0  # graded pixel events
    with torch.no_grad():
        assert torch.allclose(chip_model(events), model(encode(cfg, x, 3, gen)), atol=1e-5)
    assert torch.equal(model[0].synapse.weight, w_before)  # the float network is untouched


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="teacher_steps"):
        experiments.run("snn-timesteps", {"steps": "25,2,1"}, "/tmp/never-written")
    with pytest.raises(ConfigError, match="distill_alpha"):
        experiments.run("snn-timesteps", {"distill_alpha": "2"}, "/tmp/never-written")
