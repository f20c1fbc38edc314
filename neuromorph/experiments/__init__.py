"""Runnable, reproducible studies: ``neuromorph run NAME``.

Each experiment module defines ``SUMMARY`` (one line), ``Config`` (a dataclass subclassing
:class:`~neuromorph.experiments.config.ExperimentConfig`) and ``main(config, out_dir) -> Path``.
This registry maps the CLI name to the module; experiments import the library, never the reverse.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from neuromorph.experiments.config import ConfigError, build_config

EXPERIMENTS: dict[str, str] = {
    "phyll-vowels": "neuromorph.experiments.phyll_vowels",
    "phyll-digits": "neuromorph.experiments.phyll_digits",
    "phyll-drift": "neuromorph.experiments.phyll_drift",
    "cuba": "neuromorph.experiments.cuba",
    "stdp-song2000": "neuromorph.experiments.stdp_song2000",
    "snn-randman": "neuromorph.experiments.snn_randman",
    "snn-digits": "neuromorph.experiments.snn_digits",
    "deploy-digits": "neuromorph.experiments.deploy_digits",
    "oja-pca": "neuromorph.experiments.oja_pca",
    "bcm-selectivity": "neuromorph.experiments.bcm_selectivity",
    "stdp-window": "neuromorph.experiments.stdp_window",
    "diehl-cook-digits": "neuromorph.experiments.diehl_cook_digits",
    "rstdp-task": "neuromorph.experiments.rstdp_task",
    "hebbian-physical": "neuromorph.experiments.hebbian_physical",
    "microcircuit": "neuromorph.experiments.microcircuit",
}


def load(name: str) -> ModuleType:
    """Import the module of experiment ``name``; an unknown name lists the valid ones."""
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"unknown experiment {name!r}; choose one of: {', '.join(sorted(EXPERIMENTS))}"
        )
    return importlib.import_module(EXPERIMENTS[name])


def run(
    name: str,
    overrides: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """Resolve the config of ``name`` with ``overrides`` and run it into ``out_dir``."""
    module = load(name)
    config = build_config(module.Config, dict(overrides or {}))
    out = Path(out_dir) if out_dir is not None else Path("runs") / f"{name}-seed{config.seed}"
    return module.main(config, out, progress=progress)
