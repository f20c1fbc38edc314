"""Command-line interface: ``neuromorph list | run | sweep | export | inspect``.

Every user error is one line on stderr naming the problem and the fix, with exit status 2;
Ctrl-C / SIGTERM print one line and exit 130; ``NEUROMORPH_DEBUG=1`` shows tracebacks instead.
Nothing imports torch before a command needs it, so ``--help``, ``--version`` and ``list`` are
fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from neuromorph import __version__, experiments
from neuromorph.cli_export import add_subparsers, export_command, inspect_command
from neuromorph.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    NeuromorphError,
    RunInterruptedError,
    debug_enabled,
    one_line,
)
from neuromorph.experiments.config import describe_fields, parse_overrides


def _list(args: argparse.Namespace) -> int:
    width = max(len(n) for n in experiments.EXPERIMENTS)
    for name in sorted(experiments.EXPERIMENTS):
        print(f"{name:<{width}}  {experiments.summary(name)}")
    return 0


def keys_help(name: str) -> str:
    """The table of ``name``'s config keys: key, type, default and meaning."""
    rows = describe_fields(experiments.load(name).Config)
    defaults = [_show(r.default) for r in rows]
    w_key, w_type = max(len(r.name) for r in rows), max(len(r.type) for r in rows)
    w_default = max(len(d) for d in defaults)
    lines = [f"config keys of {name} (set with --set KEY=VALUE):"]
    for r, default in zip(rows, defaults, strict=True):
        text = f"  {r.name:<{w_key}}  {r.type:<{w_type}}  default {default:<{w_default}}"
        lines.append((text + f"  {r.help}" if r.help else text).rstrip())
    return "\n".join(lines)


def _show(value: object) -> str:
    """A default as ``--set`` would take it: ``0.00162`` (not 0.0016200000000000003), ``a,b``."""
    if isinstance(value, list | tuple):
        return ",".join(_show(v) for v in value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    overrides = parse_overrides(args.set or [])
    if args.seed is not None:
        overrides["seed"] = str(args.seed)
    return overrides


def _run(args: argparse.Namespace) -> int:
    if args.help or args.name is None:
        args.parser.print_help()
        print("\n" + (keys_help(args.name) if args.name else
                      "give an experiment NAME to see its config keys (neuromorph list)"))
        return 0
    out = experiments.run(args.name, _overrides(args), args.out, progress=not args.quiet,
                          resume=args.resume, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from neuromorph.experiments.sweep.cli import sweep_command

    return sweep_command(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": _list, "run": _run, "sweep": _sweep, "export": export_command,
    "inspect": inspect_command,
}


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run one experiment into a run directory", add_help=False,
                         description="Run one experiment; `neuromorph run NAME --help` lists "
                                     "its config keys with types, defaults and meanings.")
    run.add_argument("name", nargs="?", help="experiment name (see `neuromorph list`)")
    run.add_argument("-h", "--help", action="store_true", help="show this help and NAME's keys")
    add_run_options(run)
    run.add_argument("--out", default=None,
                     help="run folder (default runs/NAME-TIME-HASH, unique per run)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue the run in --out (same config; finished seeds are kept)")
    mode.add_argument("--overwrite", action="store_true",
                      help="replace the run in --out")
    run.set_defaults(parser=run)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--set``, ``--seed`` and ``--quiet``: shared by ``run`` and ``sweep``."""
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (same seed, same run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuromorph",
        description="Simulate, train and export physical and spiking neural networks.",
        epilog="NEUROMORPH_DEBUG=1 shows full tracebacks.",
    )
    parser.add_argument("--version", action="version", version=f"neuromorph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments, one line each")
    _add_run(sub)
    from neuromorph.experiments.sweep.cli import add_sweep_parser

    add_sweep_parser(sub)
    add_subparsers(sub)
    return parser


def _error(prefix: str, exc: BaseException, code: int) -> int:
    print(f"neuromorph: {prefix}: {one_line(exc)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if debug_enabled():
        return COMMANDS[args.command](args)
    try:
        return COMMANDS[args.command](args)
    except RunInterruptedError as exc:
        return _error("interrupted", exc, EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        print("neuromorph: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (NeuromorphError, ValueError, OSError) as exc:  # library validation = user errors
        return _error("error", exc, EXIT_USER_ERROR)
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are reported
        return _error(f"internal error ({type(exc).__name__}; rerun with NEUROMORPH_DEBUG=1 "
                      "for the traceback and report it)", exc, EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
