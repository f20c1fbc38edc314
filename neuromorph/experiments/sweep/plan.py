"""What a sweep runs: the grid of ``--grid key=v1,v2`` values times the seeds, as trials.

A trial is one normal run directory (``neuromorph run``'s guarantees) whose folder name says its
values, e.g. ``trials/lr=0.01_width=20_seed=1``. Values are kept as the strings the user typed;
the experiment's config parses them, so a bad value is the same one-line error as in ``run``.
A grid value list is split on ``,``; when a value itself holds commas (a tuple key such as
``methods=phyll,pat``) separate the values with ``;`` instead: ``--grid "methods=phyll;pat"``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from neuromorph.experiments.config import ConfigError

_UNSAFE = re.compile(r"[^A-Za-z0-9._+\-=,]")


def parse_grid(specs: list[str]) -> dict[str, list[str]]:
    """``["lr=0.1,0.2", "w=4"]`` -> ``{"lr": ["0.1", "0.2"], "w": ["4"]}`` (order kept)."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        if "=" not in spec:
            raise ConfigError(f"--grid expects key=v1,v2,..., got {spec!r}")
        key, text = (part.strip() for part in spec.split("=", 1))
        sep = ";" if ";" in text else ","
        values = [v.strip() for v in text.split(sep) if v.strip()]
        if not key or not values:
            raise ConfigError(f"--grid {spec!r} names no key or no values; e.g. --grid lr=0.1,0.2")
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice; list all its values in one --grid")
        if key == "seed":
            raise ConfigError("--grid seed=... is not a grid key; use --seeds N (and --seed)")
        if len(set(values)) != len(values):
            raise ConfigError(f"--grid {key} repeats a value: {values}")
        grid[key] = values
    return grid


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: the swept values (strings), the seed and its folder name."""

    values: tuple[tuple[str, str], ...]
    seed: int
    overrides: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        parts = [f"{k}={v}" for k, v in self.values] + [f"seed={self.seed}"]
        return _UNSAFE.sub("-", "_".join(parts))[:150]

    def folder(self, sweep_dir: Path) -> Path:
        return Path(sweep_dir) / "trials" / self.name

    def all_overrides(self) -> dict[str, str]:
        """The base ``--set`` values, then the swept values, then the seed."""
        return {**self.overrides, **dict(self.values), "seed": str(self.seed)}


def grid_trials(grid: dict[str, list[str]], seeds: list[int],
                base: dict[str, str] | None = None) -> list[Trial]:
    """Every combination of ``grid`` values for every seed (grid-major, seeds innermost)."""
    base = dict(base or {})
    clash = sorted(set(grid) & set(base))
    if clash:
        raise ConfigError(f"{clash} are both --set and --grid; give each key once")
    if not seeds:
        raise ConfigError("--seeds must be >= 1")
    keys = list(grid)
    combos = itertools.product(*(grid[k] for k in keys)) if keys else [()]
    return [Trial(tuple(zip(keys, combo, strict=True)), seed, base)
            for combo in combos for seed in seeds]


__all__ = ["Trial", "grid_trials", "parse_grid"]
