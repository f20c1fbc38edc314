"""The rules matrix's outputs: flat metrics, a markdown table, a CSV, refusals and heatmaps.

Metric keys (stable across versions): ``"<rule>/<substrate>/test_accuracy"`` (mean over seeds,
a fraction), ``…/test_accuracy_std``, ``…/queries`` (substrate samples measured while
training), ``…/seconds`` (training wall time), ``…/peak_mib`` (peak training-state memory),
``…/drift_accuracy``, ``…/retrained_accuracy`` and ``…/refused`` (1 or 0). A refused cell has
only ``…/refused = 1``; a cell that crashed has ``…/failed = 1`` (and is listed loudly).
Figures: heatmaps (colorbars; backprop on the digital network marked on the accuracy scale)
and every rule's accuracy with its spread over seeds beside backprop's
(:func:`accuracy_figure`).
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

from neuromorph import plot  # noqa: E402
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


REFERENCE = ("bp", "digital")  #: backprop on the digital network: the rules' reference


def _spread_text(values: np.ndarray) -> str:
    """``mean ± std`` (sample std over seeds, as every figure draws it); one seed: the mean."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


def heatmap(cells: dict[tuple[str, str], Cell], rules: Sequence[str], substrates: Sequence[str],
            key: str, title: str, log: bool = False) -> plt.Figure:
    """One colour per cell with a labelled colorbar; accuracy cells read ``mean ± std`` over
    seeds and backprop's accuracy on the digital network is marked on the colorbar; refused
    and failed cells are grey and labelled."""
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
            labels[i][j] = f"{v:.1e}" if log else _spread_text(100 * cell.values(key))
    fig = plot.heatmap(grid, rules, substrates, cell_text=labels, title=title,
                       label="log10(substrate queries)" if log else "test accuracy (%)",
                       xlabel="substrate", ylabel="rule")
    reference = _reference(cells)
    if key == "test_accuracy" and reference is not None:
        fig.axes[1].axhline(100 * reference.mean(), color="red", lw=2,
                            label=f"{REFERENCE[0]} on {REFERENCE[1]}")
        fig.axes[1].text(1.6, 100 * reference.mean(), " backprop", color="red", fontsize=7,
                         va="center", transform=fig.axes[1].get_yaxis_transform())
    return fig


def _reference(cells: dict[tuple[str, str], Cell]) -> np.ndarray | None:
    """Backprop's per-seed accuracies on the digital network, when the matrix ran it."""
    cell = cells.get(REFERENCE)
    if cell is None or cell.refused or cell.error:
        return None
    return cell.values("test_accuracy")


def accuracy_figure(cells: dict[tuple[str, str], Cell], rules: Sequence[str],
                    substrates: Sequence[str], title: str) -> plt.Figure:
    """Test accuracy (%) of every rule (rows) on every substrate (one marker each): mean with a
    ±1 std bar over seeds, beside backprop on the digital network (a vertical line with its
    band) — how far each backprop-free rule is from the gradient it replaces."""
    fig, ax = plt.subplots(figsize=(7.5, 0.38 * len(rules) + 1.8), layout="constrained")
    offsets = np.linspace(-0.3, 0.3, len(substrates)) if len(substrates) > 1 else [0.0]
    for j, sub in enumerate(substrates):
        xs, ys, errs = [], [], []
        for i, rule in enumerate(rules):
            cell = cells.get((rule, sub))
            if cell is None or cell.refused or cell.error:
                continue
            acc = 100 * cell.values("test_accuracy")
            xs.append(acc.mean())
            ys.append(i + offsets[j])
            errs.append(acc.std(ddof=1) if len(acc) > 1 else 0.0)
        if xs:
            ax.errorbar(xs, ys, xerr=errs if any(errs) else None, fmt="os^vDP<>"[j % 8],
                        color=f"C{j % 10}", ms=5, capsize=2, lw=1, label=f"{sub} substrate")
    reference = _reference(cells)
    if reference is not None:
        plot.reference_line(ax, reference, f"backprop on {REFERENCE[1]} (reference)",
                            scale=100.0, color="red", vertical=True)
    ax.set_yticks(range(len(rules)), rules)
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy (%)")
    ax.set_ylabel("rule")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return fig
