"""The sequence models of ``spiking-seq`` (RWKV / LMU blocks, spiking or twin) as spec + state:
the spec carries the constructor arguments, a reloaded model computes the same outputs, and a
bad spec is one error naming the field."""

from __future__ import annotations

import pytest
import torch

from neuromorph import specs
from neuromorph.models import build_module, load_model, module_spec, save_model
from neuromorph.networks.sequence_models import SequenceModel


@pytest.mark.parametrize(("kind", "spiking"), [("rwkv", True), ("lmu", False)])
def test_reloaded_model_gives_the_same_outputs(tmp_path, kind: str, spiking: bool) -> None:
    extra = {"d_u": 2, "order": 3, "theta_steps": 12.0} if kind == "lmu" else {}
    model = SequenceModel(kind, "lm", 7, 7, d=8, d_ffn=6, spiking=spiking, scale=5.0, seed=2,
                          **extra)
    with torch.no_grad():  # "trained": weights away from the seeded start
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    spec = module_spec(model)
    assert spec.kind == ("RWKVSequenceModel" if kind == "rwkv" else "LMUSequenceModel")
    assert (spec.task, spec.n_in, spec.d, spec.d_ffn, spec.spiking) == ("lm", 7, 8, 6, spiking)
    save_model(tmp_path, model, info={"note": "x"})
    again, info = load_model(tmp_path)
    tokens = torch.randint(0, 7, (12, 3), generator=torch.Generator().manual_seed(0))
    assert torch.equal(again(tokens), model.eval()(tokens)) and info == {"note": "x"}
    fresh = build_module(spec, 1.0).eval()  # the spec alone builds the seeded start, not this
    assert not torch.equal(fresh(tokens), model(tokens))


def test_bad_spec_names_the_field() -> None:
    with pytest.raises(ValueError, match="task must be 'classify' or 'lm'"):
        specs.RWKVSequenceModel(task="translate")
    with pytest.raises(ValueError, match=r"LMUSequenceModel.order must be an integer >= 1"):
        specs.LMUSequenceModel(order=0)
    with pytest.raises(ValueError, match="tau_steps must be >= 1"):
        specs.RWKVSequenceModel(tau_steps=0.5)
