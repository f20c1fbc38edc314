"""Command-line interface: ``neuromorph list`` and ``neuromorph run NAME``."""

from __future__ import annotations

import argparse
import sys

from neuromorph import experiments
from neuromorph.experiments.config import ConfigError, parse_overrides
from neuromorph.nir.cli_commands import add_subparsers, export_command, inspect_command


def _list(args: argparse.Namespace) -> int:
    width = max(len(n) for n in experiments.EXPERIMENTS)
    for name in sorted(experiments.EXPERIMENTS):
        print(f"{name:<{width}}  {experiments.load(name).SUMMARY}")
    return 0


def _run(args: argparse.Namespace) -> int:
    overrides: dict[str, str] = parse_overrides(args.set or [])
    if args.seed is not None:
        overrides["seed"] = str(args.seed)
    out = experiments.run(args.name, overrides, args.out, progress=not args.quiet)
    print(f"wrote {out}")
    return 0


COMMANDS = {"list": _list, "run": _run, "export": export_command, "inspect": inspect_command}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuromorph",
        description="Simulate, train and export physical and spiking neural networks.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments, one line each")
    run = sub.add_parser("run", help="run one experiment into a run directory")
    run.add_argument("name", help="experiment name (see `neuromorph list`)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    run.add_argument("--seed", type=int, default=None, help="random seed (same seed, same run)")
    run.add_argument("--out", default=None, help="run directory (default runs/NAME-seedN)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_subparsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"neuromorph: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
