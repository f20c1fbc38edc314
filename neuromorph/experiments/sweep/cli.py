"""``neuromorph sweep``: the sub-command's options and its dispatch (one place per executor)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from neuromorph.errors import NeuromorphError
from neuromorph.experiments.config import ConfigError, parse_overrides

EXECUTORS = ("local", "ray", "optuna")


def add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to the CLI's sub-parsers (no heavy imports)."""
    p = sub.add_parser(
        "sweep", help="run an experiment over a grid of configs and seeds (or an Optuna search)",
        description="Every --grid combination x every seed is one run folder under "
                    "OUT/trials; OUT/results.md holds mean ± std over seeds. Separate values "
                    "that hold commas with ';' (--grid 'methods=phyll;pat'). With --executor "
                    "optuna a value lo:hi (or lo:hi:log) is a range to search.")
    p.add_argument("name", help="experiment name (see `neuromorph list`)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="values of one config key (repeatable)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a config key fixed for every trial (repeatable)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per grid point (default 1)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--out", default=None,
                   help="sweep folder (default sweeps/NAME-TIME, unique per sweep)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue the sweep in --out (complete trials are kept)")
    mode.add_argument("--overwrite", action="store_true", help="replace the sweep in --out")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local process pool (default), Ray, or an Optuna search")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes (default: CPU count; 1 runs in this process)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address ('auto', 'ray://host:10001'); default: start a "
                        "local Ray instance")
    p.add_argument("--metric", default=None,
                   help="metric of the table and plots (default test_accuracy)")
    goal = p.add_mutually_exclusive_group()
    goal.add_argument("--maximize", metavar="METRIC", default=None, help="Optuna: maximise it")
    goal.add_argument("--minimize", metavar="METRIC", default=None, help="Optuna: minimise it")
    p.add_argument("--trials", type=int, default=20, help="Optuna: trials in the study")
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL shared by machines (default sqlite in --out)")
    p.add_argument("--optuna-workers", choices=("local", "ray"), default="local",
                   help="Optuna: where each trial's seeds run")
    p.add_argument("--quiet", action="store_true", help="no per-trial lines")


def _executor(kind: str, args: argparse.Namespace):
    from neuromorph.experiments.sweep.executors import local_executor, ray_executor

    if kind == "ray":
        return ray_executor(address=args.address)
    return local_executor(args.workers if args.workers is not None else os.cpu_count() or 1)


def sweep_command(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe; print where its table is."""
    from neuromorph import experiments
    from neuromorph.experiments.sweep.plan import parse_grid
    from neuromorph.experiments.sweep.runner import read_spec, run_grid_sweep

    experiments.load(args.name)  # an unknown name fails before anything else
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    grid, base = parse_grid(args.grid), parse_overrides(args.set or [])
    seeds = [args.seed + i for i in range(args.seeds)]
    if args.resume:
        if args.out is None:
            raise NeuromorphError("--resume needs --out, the sweep folder to continue")
        saved = read_spec(args.out)
        if saved and not args.grid:  # `--resume` alone continues what was asked
            grid, seeds, base = saved["grid"], saved["seeds"], saved["set"]
            args.metric = args.metric or saved.get("metric")
            args.maximize = args.maximize or (
                saved.get("metric") if saved.get("direction") == "maximize" else None)
            args.minimize = args.minimize or (
                saved.get("metric") if saved.get("direction") == "minimize" else None)
            args.executor = "optuna" if saved.get("search") == "optuna" else args.executor
    mode = "resume" if args.resume else "overwrite" if args.overwrite else "new"
    root = "sweeps" if args.executor != "optuna" else "studies"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path(root) / f"{args.name}-{stamp}"
    metric = args.maximize or args.minimize or args.metric or "test_accuracy"
    if args.executor == "optuna":
        from neuromorph.experiments.sweep.optuna_search import run_optuna_search

        if not (args.maximize or args.minimize):
            raise ConfigError("--executor optuna needs --maximize METRIC or --minimize METRIC")
        run_optuna_search(args.name, grid, seeds, base, out, mode,
                          _executor(args.optuna_workers, args), args.trials, metric,
                          "maximize" if args.maximize else "minimize", args.storage,
                          progress=not args.quiet)
    else:
        if args.maximize or args.minimize:
            raise ConfigError("--maximize/--minimize need --executor optuna; a grid uses --metric")
        run_grid_sweep(args.name, grid, seeds, base, out, mode, _executor(args.executor, args),
                       metric, progress=not args.quiet)
    print(f"wrote {out} (table: {out / 'results.md'})")
    print((out / "results.md").read_text(), end="")
    return 0


__all__ = ["EXECUTORS", "add_sweep_parser", "sweep_command"]
