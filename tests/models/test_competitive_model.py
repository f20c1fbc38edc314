"""A trained ``CompetitiveLayer`` (Diehl & Cook) saves as spec + state, reloads without the
experiment's code to the same responses and votes, and ``neuromorph export`` refuses it in one
line naming ``load_model`` (NIR has no conductance-based neuron)."""

from __future__ import annotations

import json

import torch

from neuromorph import specs
from neuromorph.cli import main
from neuromorph.models import build_module, load_model, module_spec, save_model
from neuromorph.networks.competitive import CompetitiveLayer

NEURON = specs.CondLIF(tau_mem=0.1, v_threshold=-0.052, refractory=6e-3,
                       options=specs.SpikeOptions("zero", v_reset=-0.065))


def _trained() -> CompetitiveLayer:
    """A layer with non-default weights, thresholds and labels (what training leaves)."""
    g = torch.Generator().manual_seed(2)
    layer = CompetitiveLayer(64, 12, dt=1e-3, neuron=NEURON, w_inh=5.0, n_classes=4,
                             n_steps=60, max_rate=150.0, rate_step=30.0, min_spikes=2,
                             max_retries=3)
    layer.weight = 0.4 * torch.rand(12, 64, generator=g)
    layer.theta = 2e-3 * torch.rand(12, generator=g)
    layer.labels.copy_(torch.arange(12) % 4)
    return layer


def test_spec_round_trip_through_json_and_the_module_table():
    layer = _trained()
    spec = module_spec(layer)
    assert isinstance(spec, specs.CompetitiveLayer) and spec.neuron == NEURON
    assert (spec.n_in, spec.n_out, spec.w_inh, spec.n_steps, spec.max_retries) == (64, 12, 5.0,
                                                                                   60, 3)
    assert specs.spec_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    rebuilt = build_module(spec, 1e-3)
    assert type(rebuilt) is CompetitiveLayer and rebuilt.spec == spec and rebuilt.dt == 1e-3


def test_saved_layer_reloads_to_the_same_responses_and_votes(tmp_path):
    layer = _trained()
    save_model(tmp_path, layer, info={"neurons": 12})
    doc = json.loads((tmp_path / "model.json").read_text())
    assert doc["dt"] == 1e-3 and doc["spec"]["kind"] == "CompetitiveLayer"
    back, info = load_model(tmp_path)
    assert type(back) is CompetitiveLayer and info == {"neurons": 12}
    for name in ("weight", "theta", "labels"):
        assert torch.equal(getattr(back, name), getattr(layer, name)), name
    images = torch.rand(30, 64, generator=torch.Generator().manual_seed(4))
    counts = layer.responses(images, torch.Generator().manual_seed(7), batch=16)
    again = back.responses(images, torch.Generator().manual_seed(7), batch=16)
    assert counts.sum() > 50 and torch.equal(again, counts)
    assert torch.equal(back.classify(images, torch.Generator().manual_seed(7), batch=16),
                       layer.vote(counts))
    # an untrained layer of the same spec answers differently: the state was loaded
    fresh = build_module(back.spec, 1e-3)
    fresh.labels.copy_(layer.labels)
    assert not torch.equal(fresh.responses(images, torch.Generator().manual_seed(7), batch=16),
                           counts)


def test_export_refuses_it_in_one_line_naming_load_model(tmp_path, capsys):
    save_model(tmp_path, _trained())
    assert main(["export", str(tmp_path), "--to", "nir", str(tmp_path / "net.nir")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "holds a CompetitiveLayer" in err
    assert "conductance-based" in err and "neuromorph.models.load_model" in err
    assert not (tmp_path / "net.nir").exists()
