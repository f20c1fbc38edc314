"""One error path: issue 12's tracebacks, each reproduced and now one line with exit status 2."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from neuromorph import experiments
from neuromorph.cli import main
from neuromorph.errors import NeuromorphError
from neuromorph.experiments.config import ConfigError


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_non_finite_learning_rate_is_refused_naming_the_key(value, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "phyll-vowels", "--set", f"lr={value}", "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "lr=" in line and "is not a finite number" in line and "--set lr=" in line
    assert not out.exists()


def test_non_finite_values_from_python_are_refused_too(tmp_path):
    with pytest.raises(ConfigError, match="alpha=nan is not a finite number"):
        experiments.run("phyll-vowels", {"alpha": float("nan")}, tmp_path / "a")
    with pytest.raises(ConfigError, match="is not a finite number"):
        experiments.run("stdp-window", {"sweep_frequencies": "1,inf"}, tmp_path / "b")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuba", "stdp-song2000"])
def test_cuda_device_without_cuda_is_a_config_error(name, tmp_path, capsys):
    assert main(["run", name, "--set", "device=cuda", "--out", str(tmp_path / "a")]) == 2
    assert "torch sees no CUDA device" in _one_line(capsys.readouterr().err)
    assert main(["run", name, "--set", "device=gpu", "--out", str(tmp_path / "b")]) == 2
    assert "'gpu' is not a torch device; use cpu, cuda" in _one_line(capsys.readouterr().err)


def test_debug_flag_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROMORPH_DEBUG", "1")
    with pytest.raises(ConfigError, match="lr=inf"):
        main(["run", "phyll-vowels", "--set", "lr=inf", "--out", str(tmp_path / "run")])


def test_an_unexpected_error_is_one_line_with_exit_1(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("something deep\nwith a second line")

    monkeypatch.setattr(experiments, "run", broken)
    assert main(["run", "oja-pca"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "internal error (RuntimeError" in line and "NEUROMORPH_DEBUG=1" in line


class _Payload:
    """A pickle that creates a file when unpickled (what a malicious model.pt would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_export_never_unpickles_code(tmp_path, capsys):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "x": _Payload(marker)}, bad, pickle_protocol=2)
    assert main(["export", str(bad), "--to", "nir", str(tmp_path / "o.nir")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "can run code when loaded" in line and "--trust-pickle" in line
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):  # independent check: torch refuses it as well
        torch.load(bad, weights_only=True)


def test_export_of_a_corrupt_checkpoint_is_one_line(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    assert main(["export", str(bad), "--to", "nir", str(tmp_path / "o.nir")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "is corrupt or not a torch file" in line and "rerun the experiment" in line


def test_export_names_a_run_whose_model_is_not_a_network(tmp_path, capsys):
    # stdp-window measures a learning window: it trains no network, so there is no model.json
    out = experiments.run("stdp-window", {"sweep_frequencies": "1,20", "lag_step": "10e-3"},
                          tmp_path / "w", progress=False)
    assert main(["export", str(out), "--to", "nir", str(tmp_path / "o.nir")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "holds no model.json: its experiment trains no network" in line
    assert main(["export", str(out / "model.pt"), "--to", "nir", str(tmp_path / "o.nir")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "holds pickled Python objects" in line and "export a run folder" in line


def test_inspect_on_a_folder_says_so(tmp_path, capsys):
    (tmp_path / "net.nir").write_bytes(b"")
    assert main(["inspect", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "is a folder; give a .nir file" in line and "net.nir" in line
    assert "does not exist" not in line


def test_user_errors_share_one_base_class():
    assert issubclass(ConfigError, NeuromorphError) and issubclass(ConfigError, ValueError)


def test_export_without_the_nir_package_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    import sys

    out = experiments.run("cuba", {"n_neurons": "100", "duration": "0.02",
                                   "brian2_reference": "false"}, tmp_path / "c", progress=False)
    monkeypatch.setitem(sys.modules, "nir", None)  # import nir now raises ImportError
    assert main(["export", str(out), "--to", "nir", str(tmp_path / "c.nir")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "need the optional nir package" in line and "'.[nir]'" in line
