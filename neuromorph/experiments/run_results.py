"""Per-job results of a run folder: written as each job (a seed, a matrix cell) finishes,
read back on ``--resume`` so a finished job is never recomputed.

``seeds/KEY.pt`` holds one job's results as plain data (tensors, numbers, strings, lists,
dicts), read with ``torch.load(weights_only=True)``. :meth:`ResultStore.results` is the one
loop every multi-seed experiment uses: for each job, the saved result or the computed one,
saved as it finishes (one after another, or on a process pool).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from pathlib import Path
from typing import Any

import torch

from neuromorph.errors import CheckpointError, one_line

SEEDS_DIR = "seeds"
#: a saved job's key (its file is ``seeds/KEY.pt``); a seed's key is ``seed-N``
RESULT_KEY, SEED_KEY = re.compile(r"[A-Za-z0-9_.=-]+"), re.compile(r"seed-\d+")


def seed_key(seed: int) -> str:
    """The result key of one seed: ``seed-N`` (file ``seeds/seed-N.pt``)."""
    return f"seed-{int(seed)}"


class ResultStore:
    """The per-job results of the run folder ``self.path`` (a mixin of
    :class:`~neuromorph.experiments.rundir.RunDir`, which provides ``set_status``)."""

    path: Path

    def set_status(self, status: str, **extra: Any) -> None:
        raise NotImplementedError("RunDir writes status.json")

    # -- per-seed results: written as each seed finishes, read back on --resume --------------

    def _result_path(self, key: str) -> Path:
        if not RESULT_KEY.fullmatch(key):
            raise ValueError(f"result key {key!r} must be letters, digits and _ . = - only "
                             "(it names the file seeds/KEY.pt)")
        return self.path / SEEDS_DIR / f"{key}.pt"

    def save_result(self, key: str, result: dict[str, Any]) -> Path:
        """Store one finished job's results as ``seeds/KEY.pt`` (tensors, numbers, strings,
        lists, dicts: what ``torch.load(weights_only=True)`` reads back) and record it in
        ``status.json``."""
        path = self._result_path(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            torch.save(dict(result), tmp)
            os.replace(tmp, path)
        except BaseException:  # an interrupt mid-write leaves no temporary file behind
            tmp.unlink(missing_ok=True)
            raise
        self.set_status("running")
        return path

    def load_result(self, key: str) -> dict[str, Any] | None:
        """The saved results of ``key`` (``None`` when that job has not finished)."""
        path = self._result_path(key)
        if not path.is_file():
            return None
        try:
            return dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as err:  # noqa: BLE001 - any unpickling failure is a corrupt file
            raise CheckpointError(f"{path} is corrupt ({one_line(err)}); delete it to rerun "
                                  f"{key}, or pass --overwrite") from None

    def save_seed(self, seed: int, result: dict[str, Any]) -> Path:
        """:meth:`save_result` under the seed's key ``seed-N``."""
        return self.save_result(seed_key(seed), result)

    def load_seed(self, seed: int) -> dict[str, Any] | None:
        """The saved results of ``seed`` (``None`` when it has not finished)."""
        return self.load_result(seed_key(seed))

    def finished_results(self) -> list[str]:
        """Keys of every saved job (seeds and, e.g., the rules matrix's cells)."""
        folder = self.path / SEEDS_DIR
        return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []

    def finished_seeds(self) -> list[int]:
        keys = self.finished_results()
        return sorted(int(k.split("-", 1)[1]) for k in keys if SEED_KEY.fullmatch(k))

    def results(self, jobs: Mapping[str, Callable[[], dict[str, Any]]], *,
                pool: Executor | None = None,
                on_done: Callable[[str, bool], None] | None = None) -> dict[str, dict[str, Any]]:
        """Every job's result, by key: the saved one where the job finished before (a resumed
        run: not recomputed), else ``job()``, saved (:meth:`save_result`) as it finishes.

        Jobs run one after another in key order, or on ``pool`` (jobs must then pickle: a
        ``functools.partial`` of a module-level function), saved in the order they finish. A
        job returns plain data, so a fresh result and a resumed one are the same values.
        ``on_done(key, resumed)`` is called once per job (for progress bars). On an interrupt
        the pool's pending jobs are cancelled; finished ones stay saved."""
        done: dict[str, dict[str, Any]] = {}
        for key in jobs:
            saved = self.load_result(key)
            if saved is not None:
                done[key] = saved
                if on_done is not None:
                    on_done(key, True)
        todo = [k for k in jobs if k not in done]
        if pool is None:
            for key in todo:
                done[key] = self._keep(key, jobs[key](), on_done)
        else:
            futures = {pool.submit(jobs[key]): key for key in todo}
            try:
                for future in as_completed(futures):
                    done[futures[future]] = self._keep(futures[future], future.result(), on_done)
            finally:
                for future in futures:
                    future.cancel()
        return {key: done[key] for key in jobs}

    def seed_results(self, seeds: Sequence[int], compute: Callable[[int], dict[str, Any]], *,
                     on_done: Callable[[int, bool], None] | None = None
                     ) -> list[dict[str, Any]]:
        """For each seed in order: its saved result (resume) or ``compute(seed)``, saved as it
        finishes (:meth:`results` with keys ``seed-N``)."""
        jobs = {seed_key(s): functools.partial(compute, s) for s in seeds}
        by_key = dict(zip(jobs, seeds, strict=True))
        report = None if on_done is None else (lambda k, resumed: on_done(by_key[k], resumed))
        return list(self.results(jobs, on_done=report).values())

    def _keep(self, key: str, result: dict[str, Any],
              on_done: Callable[[str, bool], None] | None) -> dict[str, Any]:
        self.save_result(key, result)
        if on_done is not None:
            on_done(key, False)
        return result


def advance_when_resumed(bar: Any, units: int) -> Callable[[int, bool], None]:
    """An ``on_done`` for :meth:`ResultStore.seed_results`: a seed finished by an earlier run
    moves the progress ``bar`` by the ``units`` its training would have."""

    def on_done(seed: int, resumed: bool) -> None:
        if resumed:
            bar.update(units)

    return on_done


__all__ = ["RESULT_KEY", "SEED_KEY", "SEEDS_DIR", "ResultStore", "advance_when_resumed",
           "seed_key"]
