"""Where trials run: a local process pool (default) or Ray (a local instance or a cluster).

Both call :func:`run_trial`, which runs one trial as a normal run directory with
``resume=True``: a complete trial is skipped, an interrupted one continues, a new one starts.
A trial's stdout goes to ``logs/<trial>.log`` in the sweep folder. An executor returns one
:class:`TrialOutcome` per trial; a failed trial is reported, not raised, so the others finish.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuromorph.errors import EXIT_INTERRUPTED, NeuromorphError, RunInterruptedError, one_line


@dataclass(frozen=True)
class TrialJob:
    """Everything a worker needs (plain data, so it pickles to any process or Ray node)."""

    experiment: str
    overrides: dict[str, str]
    out: str
    log: str


@dataclass(frozen=True)
class TrialOutcome:
    out: str
    metrics: dict[str, float] | None
    error: str | None = None


def run_trial(job: TrialJob) -> TrialOutcome:
    """Run (or resume, or skip when complete) one trial; its metrics, or its one-line error."""
    from neuromorph import experiments

    Path(job.log).parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(job.log, "a") as log, contextlib.redirect_stdout(log):
            path = experiments.run(job.experiment, job.overrides, job.out, progress=False,
                                   resume=True)
        metrics = json.loads((Path(path) / "metrics.json").read_text())
        return TrialOutcome(job.out, {k: float(v) for k, v in metrics.items()})
    except (KeyboardInterrupt, RunInterruptedError):
        if multiprocessing.parent_process() is not None:
            # a pool worker told to stop (Pool.terminate sends SIGTERM, which the run turned
            # into an interrupt to mark its folder): now exit, or the pool waits on it forever
            raise SystemExit(EXIT_INTERRUPTED) from None
        return TrialOutcome(job.out, None, "interrupted")
    except Exception as exc:  # noqa: BLE001 - reported per trial; the sweep goes on
        return TrialOutcome(job.out, None, f"{type(exc).__name__}: {one_line(exc)}")


Executor = Callable[[list[TrialJob]], Iterator[TrialOutcome]]


def local_executor(workers: int = 1) -> Executor:
    """A pool of ``workers`` spawned processes (``1``: run in this process, one by one).
    SIGINT / SIGTERM stop the pool; workers get SIGTERM and leave resumable trial folders."""

    def execute(jobs: list[TrialJob]) -> Iterator[TrialOutcome]:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                outcome = run_trial(job)
                if outcome.error == "interrupted":
                    raise KeyboardInterrupt
                yield outcome
            return
        pool = multiprocessing.get_context("spawn").Pool(min(workers, len(jobs)))
        try:
            yield from pool.imap_unordered(run_trial, jobs)
        except KeyboardInterrupt:
            pool.terminate()  # SIGTERM: each worker marks its trial interrupted
            raise
        finally:
            pool.close()
            pool.join()

    return execute


def ray_executor(address: str | None = None, num_cpus: int | None = None) -> Executor:
    """Ray tasks on a new local Ray instance (``address=None``, ``num_cpus`` workers; Ray >= 2.5x
    dropped the serial ``local_mode``) or on a cluster (``address="auto"`` or
    ``"ray://host:10001"``). The trial folders must be on storage every node sees."""

    def execute(jobs: list[TrialJob]) -> Iterator[TrialOutcome]:
        try:
            import ray
        except ImportError:
            raise NeuromorphError("--executor ray needs Ray; install it with "
                                  "pip install 'neuromorph[ray]'") from None
        started = not ray.is_initialized()
        if started:
            options: dict[str, Any] = {"address": address, "include_dashboard": False,
                                       "log_to_driver": False, "configure_logging": False}
            if num_cpus is not None and address is None:
                options["num_cpus"] = num_cpus
            ray.init(**options)
        try:
            remote = ray.remote(num_cpus=1)(run_trial)
            pending = [remote.remote(job) for job in jobs]
            try:
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    yield ray.get(done[0])
            except KeyboardInterrupt:
                for ref in pending:
                    ray.cancel(ref)
                raise
        finally:
            if started:
                ray.shutdown()

    return execute


__all__ = ["Executor", "TrialJob", "TrialOutcome", "local_executor", "ray_executor",
           "run_trial"]
