"""The run directory every experiment writes: config, seed, metrics, plots and the model."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from neuromorph.experiments.config import ExperimentConfig  # noqa: E402


class RunDir:
    """Owns ``out/``: ``config.yaml``, ``metrics.json``, ``*.png`` and ``model.pt``."""

    def __init__(self, out: str | Path, name: str, config: ExperimentConfig) -> None:
        self.path = Path(out)
        self.path.mkdir(parents=True, exist_ok=True)
        meta = {
            "experiment": name,
            "config": config.to_dict(),
            "seed": config.seed,
            "versions": {"torch": str(torch.__version__), "python": platform.python_version()},
        }
        (self.path / "config.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))

    def write_metrics(self, metrics: dict[str, float]) -> Path:
        """Write flat numeric metrics; a non-numeric value is a programming error."""
        flat: dict[str, float] = {}
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"metric {key!r} must be a number, got {type(value).__name__}")
            flat[key] = float(value) if math.isfinite(value) else float("nan")
        path = self.path / "metrics.json"
        path.write_text(json.dumps(flat, indent=2, sort_keys=True))
        return path

    def save_figure(self, fig: plt.Figure, name: str) -> Path:
        path = self.path / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path

    def save_model(self, obj: Any, name: str = "model") -> Path:
        path = self.path / f"{name}.pt"
        torch.save(obj, path)
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.path / name
        path.write_text(text)
        return path
