"""The one error path for user mistakes: one line naming the problem and the fix.

Every error a user can cause (a config typo, a folder that already holds a run, a corrupt
checkpoint) is a :class:`NeuromorphError`. The CLI prints its message on one line and exits
with :data:`EXIT_USER_ERROR`; ``NEUROMORPH_DEBUG=1`` shows the traceback instead. This module
imports nothing heavy, so ``neuromorph --help`` and ``neuromorph list`` stay fast.
"""

from __future__ import annotations

import os

#: exit status of a user error (argparse uses the same for a bad command line)
EXIT_USER_ERROR = 2
#: exit status after SIGINT / SIGTERM (128 + SIGINT, the shell convention)
EXIT_INTERRUPTED = 130
#: exit status of an unexpected internal error
EXIT_INTERNAL = 1


class NeuromorphError(Exception):
    """A user error: the message names what was wrong and how to fix it, on one line."""


class RunDirError(NeuromorphError):
    """The output folder cannot hold this run (exists, is a file, differs from ``--resume``)."""


class CheckpointError(NeuromorphError):
    """A saved file (model, per-seed result) cannot be read back safely."""


class RunInterruptedError(NeuromorphError):
    """SIGINT / SIGTERM stopped a run; the message says how to resume it."""


def debug_enabled() -> bool:
    """True when ``NEUROMORPH_DEBUG`` is set to a non-empty value other than ``0``."""
    return os.environ.get("NEUROMORPH_DEBUG", "") not in ("", "0")


def one_line(exc: BaseException) -> str:
    """``exc``'s message squeezed onto one line (tracebacks never reach the user)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_USER_ERROR",
    "CheckpointError",
    "NeuromorphError",
    "RunDirError",
    "RunInterruptedError",
    "debug_enabled",
    "one_line",
]
