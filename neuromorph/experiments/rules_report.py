"""The rules matrix's outputs: flat metrics, a markdown table, a CSV, refusals and heatmaps.

Metric keys (stable across versions): ``"<rule>/<substrate>/test_accuracy"`` (mean over seeds,
a fraction), ``…/test_accuracy_std``, ``…/queries`` (substrate samples measured while
training), ``…/seconds`` (training wall time), ``…/peak_mib`` (peak training-state memory),
``…/drift_accuracy``, ``…/retrained_accuracy`` and ``…/refused`` (1 or 0). A refused cell has
only ``…/refused = 1``; a cell that crashed has ``…/failed = 1`` (and is listed loudly).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neuromorph.experiments.rules_cell import CellResult  # noqa: E402

NUMERIC = ("test_accuracy", "queries", "seconds", "peak_mib", "drift_accuracy",
           "retrained_accuracy")


@dataclass
class Cell:
    """All seeds of one (rule, substrate)."""

    runs: list[CellResult] = field(default_factory=list)

    @property
    def refused(self) -> str:
        return next((r.refused for r in self.runs if r.refused), "")

    @property
    def error(self) -> str:
        return next((r.error for r in self.runs if r.error), "")

    def values(self, key: str) -> np.ndarray:
        return np.array([getattr(r, key) for r in self.runs], dtype=float)

    def mean(self, key: str) -> float:
        return float(self.values(key).mean())


def collect(results: Sequence[CellResult]) -> dict[tuple[str, str], Cell]:
    cells: dict[tuple[str, str], Cell] = {}
    for r in results:
        cells.setdefault((r.rule, r.substrate), Cell()).runs.append(r)
    return cells


def metrics(cells: dict[tuple[str, str], Cell]) -> dict[str, float]:
    out: dict[str, float] = {}
    for (rule, sub), cell in cells.items():
        key = f"{rule}/{sub}"
        out[f"{key}/refused"] = 1.0 if cell.refused else 0.0
        if cell.refused:
            continue
        if cell.error:
            out[f"{key}/failed"] = 1.0
            continue
        for name in NUMERIC:
            out[f"{key}/{name}"] = cell.mean(name)
        out[f"{key}/test_accuracy_std"] = float(cell.values("test_accuracy").std())
    return out


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return ""
    if cell.refused:
        return "refused"
    if cell.error:
        return "**error**"
    acc = cell.values("test_accuracy") * 100
    return f"{acc.mean():.1f} ± {acc.std():.1f}" if len(acc) > 1 else f"{acc.mean():.1f}"


def markdown(cells: dict[tuple[str, str], Cell], rules: Sequence[str],
             substrates: Sequence[str], title: str) -> str:
    """Rules down, substrates across: test accuracy (%) mean ± std over seeds, or refused."""
    lines = [f"{title}", "", "| rule | " + " | ".join(substrates) + " |",
             "|---|" + "---|" * len(substrates)]
    for rule in rules:
        row = [_cell_text(cells.get((rule, s))) for s in substrates]
        lines.append(f"| {rule} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def refusals(cells: dict[tuple[str, str], Cell]) -> str:
    lines = ["# Refused and failed cells", ""]
    for (rule, sub), cell in sorted(cells.items()):
        if cell.refused:
            lines.append(f"- **{rule} × {sub}**: refused — {cell.refused}")
        elif cell.error:
            lines.append(f"- **{rule} × {sub}**: ERROR — {cell.error}")
    return "\n".join(lines) + "\n"


def csv_text(results: Sequence[CellResult]) -> str:
    buf = io.StringIO()
    rows = [r.to_dict() for r in results]
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["rule"])
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def heatmap(cells: dict[tuple[str, str], Cell], rules: Sequence[str], substrates: Sequence[str],
            key: str, title: str, log: bool = False) -> plt.Figure:
    """One colour per cell (refused and failed cells are hatched grey and labelled)."""
    grid = np.full((len(rules), len(substrates)), np.nan)
    labels = [["" for _ in substrates] for _ in rules]
    for i, rule in enumerate(rules):
        for j, sub in enumerate(substrates):
            cell = cells.get((rule, sub))
            if cell is None:
                continue
            if cell.refused or cell.error:
                labels[i][j] = "refused" if cell.refused else "error"
                continue
            v = cell.mean(key)
            grid[i, j] = np.log10(max(v, 1.0)) if log else 100 * v
            labels[i][j] = f"{v:.1e}" if log else f"{100 * v:.1f}"
    fig, ax = plt.subplots(figsize=(1.3 * len(substrates) + 3, 0.42 * len(rules) + 1.6))
    ax.set_facecolor("0.85")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(substrates)), substrates, rotation=30, ha="right")
    ax.set_yticks(range(len(rules)), rules)
    for i in range(len(rules)):
        for j in range(len(substrates)):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=7,
                    color="black" if np.isnan(grid[i, j]) else "white")
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("log10(queries)" if log else "test accuracy (%)")
    ax.set_title(title)
    return fig
