"""The run directory every experiment writes, and the rules that keep it honest.

A run folder holds ``config.yaml`` (experiment, resolved config, its hash, versions),
``status.json`` (``running`` / ``interrupted`` / ``failed`` / ``complete``), ``seeds/KEY.pt``
(each seed's or matrix cell's results, written as it finishes and never recomputed on
``--resume``: :mod:`.run_results`), plots, ``model.pt`` and ``metrics.json``.

Rules (one place: :func:`check_out_dir`):

- a new run never writes into a non-empty folder; ``mode="resume"`` continues a run whose saved
  config equals this one (finished seeds are skipped), ``mode="overwrite"`` empties a folder
  that holds a neuromorph run (never any other folder);
- every file is written atomically (temporary file, then ``os.replace``);
- under :func:`managed_run` (what ``neuromorph run`` uses) ``metrics.json`` is written last and
  ``status.json`` says ``complete`` only after the experiment returned; SIGINT / SIGTERM mark the
  folder ``interrupted`` and raise :class:`~neuromorph.errors.RunInterruptedError` (one line,
  with the command that resumes). A ``RunDir`` made outside a managed run writes metrics at
  once and is marked complete by :meth:`RunDir.finish` (or by leaving ``with RunDir(...)``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from neuromorph.errors import RunDirError, RunInterruptedError, one_line  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.run_results import (  # noqa: E402
    SEED_KEY,
    ResultStore,
    seed_key,
)

Mode = Literal["new", "resume", "overwrite"]
MODES: tuple[str, ...] = ("new", "resume", "overwrite")
CONFIG_FILE, STATUS_FILE, METRICS_FILE = "config.yaml", "status.json", "metrics.json"


def config_hash(name: str, config: ExperimentConfig | dict[str, Any]) -> str:
    """First 8 hex digits of SHA-256 over the experiment name and the resolved config."""
    values = config if isinstance(config, dict) else config.to_dict()
    text = json.dumps({"experiment": name, "config": values}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_out_dir(name: str, config: ExperimentConfig, root: str | Path = "runs") -> Path:
    """``root/NAME-YYYYmmdd-HHMMSS-HASH``: unique per run, and two configs never share one."""
    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{config_hash(name, config)}"
    path, n = Path(root) / stem, 2
    while path.exists():
        path, n = Path(root) / f"{stem}-{n}", n + 1
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # an interrupt mid-write leaves no temporary file behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def _is_temporary(path: Path) -> bool:
    """A half-written file of :func:`atomic_write_text` (``.NAME.tmpPID``), never a result."""
    return path.name.startswith(".") and ".tmp" in path.name


def _holds_files(out: Path) -> bool:
    return any(not _is_temporary(p) for p in out.iterdir())


def read_status(out: str | Path) -> dict[str, Any]:
    """The folder's ``status.json`` (``{}`` when absent or unreadable)."""
    try:
        return dict(json.loads((Path(out) / STATUS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def read_saved(out: str | Path) -> dict[str, Any]:
    """The folder's ``config.yaml`` as a dict (``{}`` when absent or unreadable)."""
    try:
        return dict(yaml.safe_load((Path(out) / CONFIG_FILE).read_text()) or {})
    except (OSError, yaml.YAMLError, TypeError, ValueError):
        return {}


def _alive_elsewhere(status: dict[str, Any]) -> bool:
    """True when the folder's writer is another live process on this host."""
    pid = status.get("pid")
    if status.get("status") != "running" or status.get("host") != socket.gethostname():
        return False
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> str:
    keys = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    return ", ".join(f"{k} (saved {saved.get(k)!r}, now {now.get(k)!r})" for k in keys[:4])


def check_out_dir(out: str | Path, name: str, config: ExperimentConfig, mode: str) -> None:
    """Raise :class:`RunDirError` unless ``out`` may receive this run in ``mode`` (pure check)."""
    out = Path(out)
    if mode not in MODES:
        raise RunDirError(f"unknown run mode {mode!r}; use one of {list(MODES)}")
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out} is a file; give a folder path (it is created if missing)")
    if not out.exists() or not _holds_files(out):
        return
    saved, status = read_saved(out), read_status(out)
    if "experiment" not in saved:
        raise RunDirError(f"{out} is not empty and holds no neuromorph run; choose an empty or "
                          "new --out (--overwrite only replaces a neuromorph run folder)")
    state = status.get("status", "unfinished")
    if _alive_elsewhere(status):
        raise RunDirError(f"{out} is being written by process {status['pid']}; wait for it or "
                          "choose another --out")
    if mode == "new":
        raise RunDirError(f"{out} already holds a {state} {saved['experiment']} run; pass "
                          "--resume to continue it, --overwrite to replace it, or another --out")
    if mode == "resume":
        if saved["experiment"] != name:
            raise RunDirError(f"{out} holds a {saved['experiment']} run, not {name}; resume it "
                              f"with `neuromorph run {saved['experiment']}` or choose another "
                              "--out")
        now = config.to_dict()
        if config_hash(name, saved.get("config", {})) != config_hash(name, now):
            raise RunDirError(f"cannot resume {out}: the config differs in "
                              f"{_differences(saved.get('config', {}), now)}; drop those --set "
                              "values to resume, or pass --overwrite to start again")


@dataclass
class _Session:
    """The run that :func:`managed_run` supervises (set in a context variable)."""

    path: Path
    name: str
    mode: str
    rundir: RunDir | None = None


_SESSION: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
    "neuromorph_run_session", default=None)


class RunDir(ResultStore):
    """Owns ``out/``: config, status, per-seed results, metrics, plots and the model."""

    def __init__(self, out: str | Path, name: str, config: ExperimentConfig,
                 mode: Mode | None = None) -> None:
        self.path, self.name, self.config = Path(out), name, config
        session = _SESSION.get()
        self.managed = session is not None and session.path.resolve() == self.path.resolve()
        self.mode = mode or (session.mode if session is not None and self.managed else "new")
        check_out_dir(self.path, name, config, self.mode)
        if self.mode == "overwrite" and self.path.is_dir():
            for child in self.path.iterdir():  # config.yaml stays until replaced, so an
                if child.name != CONFIG_FILE:  # interrupted overwrite can be overwritten again
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        self._metrics: dict[str, float] | None = None
        (self.path / METRICS_FILE).unlink(missing_ok=True)  # a resumed run is not complete yet
        meta = {
            "experiment": name,
            "config": config.to_dict(),
            "config_hash": config_hash(name, config),
            "seed": config.seed,
            "versions": {"torch": str(torch.__version__), "python": platform.python_version()},
        }
        atomic_write_text(self.path / CONFIG_FILE, yaml.safe_dump(meta, sort_keys=False))
        if self.managed:  # from here on an interrupt marks this folder
            session.rundir = self  # type: ignore[union-attr]
        self.set_status("running")

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if kind is None:
            self.finish()
        else:
            self.set_status("interrupted" if issubclass(kind, KeyboardInterrupt) else "failed",
                            error=one_line(exc) if exc is not None else None)

    def set_status(self, status: str, **extra: Any) -> None:
        """Write ``status.json`` atomically (with pid and host, so a live writer is detected)."""
        info = {"status": status, "pid": os.getpid(), "host": socket.gethostname(),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "finished_seeds": self.finished_seeds()}
        info.update({k: v for k, v in extra.items() if v is not None})
        atomic_write_text(self.path / STATUS_FILE, json.dumps(info, indent=2))

    def write_metrics(self, metrics: dict[str, float]) -> Path:
        """Flat numeric metrics; a non-numeric value is a programming error. In a managed run
        they are written by :meth:`finish`, last; otherwise at once (atomically)."""
        flat: dict[str, float] = {}
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"metric {key!r} must be a number, got {type(value).__name__}")
            flat[key] = float(value) if math.isfinite(value) else float("nan")
        self._metrics = flat
        path = self.path / METRICS_FILE
        if not self.managed:
            atomic_write_text(path, json.dumps(flat, indent=2, sort_keys=True))
        return path

    def finish(self) -> None:
        """Write the pending ``metrics.json`` (atomically, last) and mark the run complete."""
        if self._metrics is not None:
            text = json.dumps(self._metrics, indent=2, sort_keys=True)
            atomic_write_text(self.path / METRICS_FILE, text)
        self.set_status("complete")

    def save_figure(self, fig: plt.Figure, name: str) -> Path:
        path = self.path / f"{name}.png"
        tmp = path.with_name(f".{name}.tmp{os.getpid()}.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        plt.close(fig)
        os.replace(tmp, path)
        return path

    def save_model(self, obj: Any, name: str = "model") -> Path:
        path = self.path / f"{name}.pt"
        tmp = path.with_name(f".{name}.tmp{os.getpid()}.pt")
        torch.save(obj, tmp)
        os.replace(tmp, path)
        return path

    def save_network(self, module: Any, *, info: dict[str, Any] | None = None,
                     name: str = "model") -> Path:
        """Save a trained network as ``NAME.json`` (spec) + ``NAME.pt`` (state): reloadable and
        exportable (``neuromorph export RUN_DIR``) without this experiment's code."""
        from neuromorph.models import save_model

        return save_model(self.path, module, name=name,
                          info={"experiment": self.name, **(info or {})})

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.path / name, text)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt (main thread only), like SIGINT."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def managed_run(out: Path, name: str, config: ExperimentConfig, mode: str) -> Iterator[_Session]:
    """Supervise one experiment writing into ``out``: status, metrics last, interrupts.

    The caller's autograd mode is restored on the way out: a Ctrl-C that lands inside
    ``torch.no_grad().__enter__`` (after autograd was switched off, before the ``with`` took
    hold) would otherwise leave autograd off for everything the process does next."""
    check_out_dir(out, name, config, mode)
    session = _Session(Path(out), name, mode)
    grad_enabled = torch.is_grad_enabled()
    token = _SESSION.set(session)
    try:
        with _sigterm_as_interrupt():  # covers finish() too: no signal lands unhandled
            try:
                yield session
                if session.rundir is None:
                    raise RunDirError(f"experiment {name!r} wrote no RunDir into {out}")
                session.rundir.finish()
            except KeyboardInterrupt:
                done = session.rundir.finished_results() if session.rundir else []
                if session.rundir is not None:
                    session.rundir.set_status("interrupted")
                noun = "seed" if all(SEED_KEY.fullmatch(k) for k in done) else "result"
                raise RunInterruptedError(
                    f"{len(done)} finished {noun}(s) kept in {out}; continue with: "
                    f"neuromorph run {name} --out {out} --resume") from None
            except RunInterruptedError:
                raise
            except BaseException as exc:
                if session.rundir is not None:
                    session.rundir.set_status("failed", error=one_line(exc))
                raise
    finally:
        torch.set_grad_enabled(grad_enabled)
        _SESSION.reset(token)


__all__ = ["MODES", "RunDir", "atomic_write_text", "check_out_dir", "config_hash",
           "default_out_dir", "managed_run", "read_saved", "read_status", "seed_key"]
