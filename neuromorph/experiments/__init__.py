"""Runnable, reproducible studies: ``neuromorph run NAME``.

Each experiment module defines ``SUMMARY`` (one line), ``Config`` (a dataclass subclassing
:class:`~neuromorph.experiments.config.ExperimentConfig`) and ``main(config, out_dir) -> Path``.
This registry maps the CLI name to the module; experiments import the library, never the reverse.
Importing this package imports no torch: :func:`summary` reads ``SUMMARY`` from the module's
source, so ``neuromorph list`` is fast.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from neuromorph.errors import RunDirError
from neuromorph.experiments.config import ConfigError, build_config

EXPERIMENTS: dict[str, str] = {
    "phyll-vowels": "neuromorph.experiments.phyll_vowels",
    "phyll-digits": "neuromorph.experiments.phyll_digits",
    "phyll-drift": "neuromorph.experiments.phyll_drift",
    "ff-digits": "neuromorph.experiments.ff_digits",
    "cuba": "neuromorph.experiments.cuba",
    "stdp-song2000": "neuromorph.experiments.stdp_song2000",
    "snn-randman": "neuromorph.experiments.snn_randman",
    "snn-digits": "neuromorph.experiments.snn_digits",
    "deploy-digits": "neuromorph.experiments.deploy_digits",
    "snn-timesteps": "neuromorph.experiments.snn_timesteps",
    "snn-attack": "neuromorph.experiments.snn_attack",
    "spiking-seq": "neuromorph.experiments.spiking_seq",
    "oja-pca": "neuromorph.experiments.oja_pca",
    "bcm-selectivity": "neuromorph.experiments.bcm_selectivity",
    "stdp-window": "neuromorph.experiments.stdp_window",
    "diehl-cook-digits": "neuromorph.experiments.diehl_cook_digits",
    "rstdp-task": "neuromorph.experiments.rstdp_task",
    "hebbian-physical": "neuromorph.experiments.hebbian_physical",
    "microcircuit": "neuromorph.experiments.microcircuit",
    "analog-drift": "neuromorph.experiments.analog_drift",
    "lsm-digits": "neuromorph.experiments.lsm_digits",
    "rules": "neuromorph.experiments.rules_matrix",
}


def load(name: str) -> ModuleType:
    """Import the module of experiment ``name``; an unknown name lists the valid ones."""
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"unknown experiment {name!r}; choose one of: {', '.join(sorted(EXPERIMENTS))}"
        )
    return importlib.import_module(EXPERIMENTS[name])


def summary(name: str) -> str:
    """The one-line ``SUMMARY`` of ``name``, read from its source without importing it."""
    if name not in EXPERIMENTS:
        load(name)  # raises the error listing the valid names
    spec = importlib.util.find_spec(EXPERIMENTS[name])
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        tree = ast.parse(Path(spec.origin).read_text())
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [
                getattr(node, "target", None)]
            value = getattr(node, "value", None)
            if any(isinstance(t, ast.Name) and t.id == "SUMMARY" for t in targets) and \
                    isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return str(load(name).SUMMARY)  # a computed SUMMARY: import the module


def run(
    name: str,
    overrides: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> Path:
    """Resolve the config of ``name`` with ``overrides`` and run it into ``out_dir``.

    ``out_dir=None`` makes a unique folder ``runs/NAME-TIME-HASH``. A non-empty ``out_dir`` is
    refused unless ``resume`` (continue it: its saved config is the base, ``overrides`` must
    agree with it, finished seeds are skipped) or ``overwrite`` (replace it). The folder says
    ``complete`` in ``status.json`` only when the experiment returned.
    """
    from neuromorph.experiments import rundir  # torch and matplotlib load here, not at import

    if resume and overwrite:
        raise RunDirError("--resume and --overwrite exclude each other; pass one")
    module = load(name)
    values = dict(overrides or {})
    if resume:
        if out_dir is None:
            raise RunDirError("--resume needs --out, the folder of the run to continue")
        saved = rundir.read_saved(out_dir)
        if saved.get("experiment") == name:
            values = {**saved.get("config", {}), **values}
    config = build_config(module.Config, values)
    mode = "resume" if resume else "overwrite" if overwrite else "new"
    out = Path(out_dir) if out_dir is not None else rundir.default_out_dir(name, config)
    rundir.check_out_dir(out, name, config, mode)
    if resume and rundir.read_status(out).get("status") == "complete":
        print(f"{out}: already complete, nothing to resume")
        return out
    with rundir.managed_run(out, name, config, mode):
        module.main(config, out, progress=progress)
    return out
