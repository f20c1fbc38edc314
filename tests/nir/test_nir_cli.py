"""``neuromorph export MODEL --to nir OUT.nir`` and ``neuromorph inspect FILE.nir``."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("nir")

from neuromorph.cli import main  # noqa: E402
from neuromorph.experiments import snn_digits  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.experiments.snn_common import build_network  # noqa: E402
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential  # noqa: E402
from neuromorph.nir import from_nir  # noqa: E402


def _same_outputs(a: torch.nn.Module, b: torch.nn.Module, n_in: int, exact: bool = True) -> None:
    x = (torch.rand(12, 3, n_in, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    with torch.no_grad():
        ya, yb = a(x), b(x)
    assert torch.equal(ya, yb) if exact else torch.allclose(ya, yb, rtol=1e-5, atol=1e-5)


def test_export_a_torch_saved_module_and_inspect_it(tmp_path, capsys) -> None:
    torch.manual_seed(0)
    net = SpikingSequential(SpikingLinear(5, 4, dt=1e-3, reset="subtract"),
                            SpikingLinear(4, 2, neuron="li", dt=1e-3))
    model, out = tmp_path / "net.pt", tmp_path / "net.nir"
    torch.save(net, model)
    assert main(["export", str(model), "--to", "nir", str(out), "--trust-pickle"]) == 0
    assert "wrote" in capsys.readouterr().out and out.is_file()
    _same_outputs(net, from_nir(out), 5)
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "0.neuron   LIF" in text and "1.neuron   LI" in text and "dt = 0.001 s" in text
    assert "reset='subtract'" in text  # flagged as not plain NIR


def test_export_a_run_directory_model(tmp_path, capsys) -> None:
    cfg = snn_digits.Config(hidden=(8,), epochs=1, seeds=1)
    run = RunDir(tmp_path / "run", "snn-digits", cfg)
    torch.manual_seed(1)
    net = build_network(cfg, 64, 10)
    run.save_network(net, info={"seed": 0})
    out = tmp_path / "digits.nir"
    assert main(["export", str(run.path), "--to", "nir", str(out), "--dt-target", "1e-4"]) == 0
    back = from_nir(out)
    assert back[0].neuron.dt == pytest.approx(1e-4)
    # retimed graph: the same discrete dynamics up to float rounding of 1 - dt/tau
    _same_outputs(net, back, 64, exact=False)
    assert torch.equal(back[0](torch.ones(5, 2, 64)), net[0](torch.ones(5, 2, 64)))


def test_cli_errors_are_reported_not_raised(tmp_path, capsys) -> None:
    assert main(["export", str(tmp_path / "missing.pt"), "--to", "nir",
                 str(tmp_path / "x.nir")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.nir"
    bad.write_text("nope")
    assert main(["inspect", str(bad)]) == 2
    assert "not a readable NIR" in capsys.readouterr().err
    torch.save({"state_dict": {}}, tmp_path / "orphan.pt")
    assert main(["export", str(tmp_path / "orphan.pt"), "--to", "nir",
                 str(tmp_path / "y.nir")]) == 2
    assert "no orphan.json beside it" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--to", "nir", str(tmp_path / "y.nir")]) == 2
    assert "holds no model.json" in capsys.readouterr().err
