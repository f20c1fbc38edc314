"""A CLI that explains itself: --version, every key in `run NAME --help`, a torch-free `list`."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from tqdm import TqdmWarning

from neuromorph import __version__, experiments
from neuromorph.cli import main
from neuromorph.experiments.config import ExperimentConfig, describe_fields


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"neuromorph {__version__}"


@pytest.mark.parametrize("name", ["phyll-vowels", "cuba", "oja-pca"])
def test_run_help_lists_every_key_with_type_and_default(name, capsys):
    assert main(["run", name, "--help"]) == 0
    out = capsys.readouterr().out
    config = experiments.load(name).Config()
    keys = out.split("config keys of", 1)[1].splitlines()[1:]
    lines = {line.split()[0]: line for line in keys if line.strip()}
    assert set(lines) == {f.name for f in dataclasses.fields(config)}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        items = value if isinstance(value, tuple) else (value,)
        shown = ",".join(format(v, ".6g") if isinstance(v, float) else str(v) for v in items)
        assert f" default {shown}" in lines[f.name], lines[f.name]
        kind = lines[f.name].split()[1]
        assert kind in ("int", "float", "bool", "str", "str,...", "float,...", "int,...") or (
            kind.startswith("{") and str(value) in kind[1:-1].split(",")), kind
    assert "--resume" in out and "--overwrite" in out


def test_help_text_comes_from_metadata_or_the_trailing_comment():
    @dataclass
    class Config(ExperimentConfig):
        rate: float = 5.0  # input rate (Hz)
        steps: int = field(default=3, metadata={"help": "how many steps"})
        name: str = "x"

    rows = {r.name: r for r in describe_fields(Config)}
    assert (rows["rate"].type, rows["rate"].default, rows["rate"].help) == (
        "float", 5.0, "input rate (Hz)")
    assert rows["steps"].help == "how many steps" and rows["name"].help == ""
    assert rows["seed"].type == "int"


def test_list_imports_no_torch_and_reads_every_summary():
    code = ("import sys; from neuromorph.cli import main; main(['list']); "
            "print('TORCH', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip().endswith("TORCH False")
    for name in experiments.EXPERIMENTS:
        assert f"{name}  " in out
    # the statically read SUMMARY equals the module's own (independent: import it)
    assert experiments.summary("oja-pca") == experiments.load("oja-pca").SUMMARY


def test_run_without_a_name_explains_what_to_do(capsys):
    assert main(["run"]) == 0
    assert "give an experiment NAME" in capsys.readouterr().out


def test_progress_bar_shows_clean_simulated_seconds(tmp_path, capsys):
    import re
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TqdmWarning)  # n > total from float sums fails
        assert main(["run", "cuba", "--set", "n_neurons=60", "--set", "duration=0.7",
                     "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    shown = re.findall(r"\| ([0-9.]+)/([0-9.]+) s\(bio\)", err)
    assert shown and shown[-1] == ("0.7", "0.7")
    assert all(len(n) <= 5 for n, _ in shown), shown  # 0.20000000000000004 is 19 characters
