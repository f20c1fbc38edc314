"""Character-level text from a file that ships with Python: nothing is downloaded.

The default corpus is the source of the standard-library module ``argparse``
(``argparse.py`` of the running interpreter, about 100 kB of English docstrings, messages and
Python code; its exact bytes depend on the Python version, so :class:`CharCorpus` records the
file's SHA-256). Any other standard-library module name may be given.

The text is split in order: the first ``train_fraction`` of the characters train, the rest
test (no window crosses the split). The vocabulary is the sorted set of characters of the
whole text; :func:`windows` draws seeded random training windows ``[T + 1, B]``, whose first
``T`` tokens are the input and last ``T`` the next-character targets.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

DEFAULT_MODULE = "argparse"


@dataclass
class CharCorpus:
    """Token ids of the train and test text, the vocabulary and where the text came from."""

    train: Tensor  # int64 [N_train]
    test: Tensor  # int64 [N_test]
    vocab: str
    source: str  # path of the file read
    sha256: str

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


def module_source_path(module: str) -> Path:
    """The ``.py`` file of an importable module; one clear error if it has none."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise ValueError(f"module {module!r} has no Python source file to read; choose a "
                         f"pure-Python standard-library module such as {DEFAULT_MODULE!r}")
    return Path(spec.origin)


def load_char_corpus(module: str = DEFAULT_MODULE, *, max_chars: int = 0,
                     train_fraction: float = 0.9) -> CharCorpus:
    """Read ``module``'s source (its first ``max_chars`` characters when > 0) as a corpus."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    if max_chars < 0:
        raise ValueError(f"max_chars must be >= 0 (0 = the whole file), got {max_chars}")
    path = module_source_path(module)
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    if max_chars:
        text = text[:max_chars]
    vocab = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.int64)
    n_train = int(len(ids) * train_fraction)
    return CharCorpus(ids[:n_train], ids[n_train:], vocab, str(path),
                      hashlib.sha256(raw).hexdigest())


def windows(ids: Tensor, seq_len: int, batch: int, generator: torch.Generator) -> Tensor:
    """``batch`` random windows of ``seq_len + 1`` tokens, time-major ``[seq_len + 1, batch]``."""
    if len(ids) < seq_len + 2:
        raise ValueError(f"text of {len(ids)} characters is shorter than seq_len + 2 = "
                         f"{seq_len + 2}; lower seq_len or raise max_chars")
    start = torch.randint(0, len(ids) - seq_len - 1, (batch,), generator=generator)
    return ids[start[None, :] + torch.arange(seq_len + 1)[:, None]]


def consecutive_windows(ids: Tensor, seq_len: int) -> Tensor:
    """The text cut into non-overlapping windows of ``seq_len + 1`` (neighbours share one
    token), ``[seq_len + 1, n_windows]``: every character after the first is a target once."""
    n = (len(ids) - 1) // seq_len
    if n < 1:
        raise ValueError(f"text of {len(ids)} characters is shorter than seq_len + 1")
    start = torch.arange(n) * seq_len
    return ids[start[None, :] + torch.arange(seq_len + 1)[:, None]]


__all__ = ["DEFAULT_MODULE", "CharCorpus", "consecutive_windows", "load_char_corpus",
           "module_source_path", "windows"]
