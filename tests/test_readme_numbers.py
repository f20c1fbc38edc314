"""The main job's table in the README is what the main job prints today, to the printed digit.

Runs ``neuromorph run phyll-vowels`` with its defaults (what ``bash scripts/demo.sh`` runs) into a
temporary folder, reads ``metrics.json``, and compares every cell of the README's
``phyll-vowels`` table, each rounded to the digits the README prints. The numbers come from the
README and the run only; a README edit or a change of the defaults that moves a figure fails here.
Cost: the full main job, 1 min 33 s of CPU (about 2 min wall on the quiet 2-core machine; 4 min
52 s at load average 8-11), kept in the default suite so the README cannot drift.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "phyll-vowels"
#: the table follows the first line that starts with this
SECTION = f"**`{EXPERIMENT}` (the main job)**"
#: README row label -> the method's key in metrics.json (``<key>_test_accuracy_mean`` ...)
ROWS = {
    "PhyLL (model-free, forward only)": "phyll",
    "same network and rule, physics switched off": "physics_off",
    "linear readout on the physical features P(x)": "linear_readout",
    "linear readout on the raw formants": "linear_raw",
    "backprop through an exact twin, deployed": "backprop",
    "PAT, exact twin": "pat",
    "PAT, mismatched twin (30 % parameter error)": "pat_mismatched",
}
_ACCURACY = re.compile(r"^\**(\d+\.?\d*) \+- (\d+\.?\d*) %\**$")


def readme_table(readme: str) -> dict[str, tuple[str, str]]:
    """``{row label: (accuracy cell, queries cell)}`` of the first table after ``SECTION``."""
    lines = iter(readme.splitlines())
    if not any(line.startswith(SECTION) for line in lines):
        raise AssertionError(f"README.md has no line starting with {SECTION!r}")
    rows = []
    for line in lines:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break  # the first line after the table
    table: dict[str, tuple[str, str]] = {}
    for line in rows[2:]:  # after the header and the |---| rule
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0]] = (cells[1], cells[2])
    return table


def decimals(printed: str) -> int:
    """Digits after the decimal point of a printed number (``"85.8"`` -> 1)."""
    return len(printed.split(".")[1]) if "." in printed else 0


def as_printed(value: float, like: str) -> str:
    """``value`` written the way ``like`` is: fixed point, or ``3.6e5``-style; ``0`` as ``0``."""
    if "e" not in like:
        return f"{value:.{decimals(like)}f}"
    mantissa = like.split("e")[0]
    text = f"{value:.{decimals(mantissa)}e}"  # "3.6e+05"
    head, exponent = text.split("e")
    return f"{head}e{int(exponent)}"


@pytest.fixture(scope="module")
def metrics(tmp_path_factory) -> dict[str, float]:
    out = tmp_path_factory.mktemp("main_job") / EXPERIMENT
    done = subprocess.run(
        [sys.executable, "-m", "neuromorph.cli", "run", EXPERIMENT, "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=1200,
    )
    assert done.returncode == 0, f"{EXPERIMENT} failed:\n{done.stderr[-3000:]}"
    return json.loads((out / "metrics.json").read_text())


def test_table_parser_reads_the_readme() -> None:
    table = readme_table((ROOT / "README.md").read_text())
    assert set(table) == set(ROWS), f"README rows changed: {sorted(set(table) ^ set(ROWS))}"
    for label, (accuracy, queries) in table.items():
        assert _ACCURACY.match(accuracy), f"{label}: accuracy cell {accuracy!r} is not 'm +- s %'"
        float(queries)  # "3.6e5" or "0"


def test_printed_digits() -> None:
    assert as_printed(85.777, "85.8") == "85.8" and as_printed(83.44, "83.40") == "83.44"
    assert as_printed(359200.0, "3.6e5") == "3.6e5" and as_printed(1520.0, "1.5e3") == "1.5e3"
    assert as_printed(0.0, "0") == "0"


def test_main_job_matches_readme(metrics: dict[str, float]) -> None:
    table = readme_table((ROOT / "README.md").read_text())
    wrong = []
    for label, key in ROWS.items():
        accuracy, queries = table[label]
        mean, std = _ACCURACY.match(accuracy).groups()
        fresh = {
            "mean": (as_printed(100 * metrics[f"{key}_test_accuracy_mean"], mean), mean),
            "std": (as_printed(100 * metrics[f"{key}_test_accuracy_std"], std), std),
            "queries": (as_printed(metrics[f"{key}_physical_queries"], queries), queries),
        }
        wrong += [f"{label} {what}: run {ours}, README {printed}"
                  for what, (ours, printed) in fresh.items() if ours != printed]
    assert not wrong, "README.md's main-job table differs from the run:\n" + "\n".join(wrong)
    assert metrics["test_accuracy"] == metrics["phyll_test_accuracy_mean"]  # the bold headline
