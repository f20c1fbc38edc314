"""Vowel formant datasets: Peterson & Barney (1952), embedded offline, and Hillenbrand-style CSVs.

Peterson & Barney: 76 speakers (men, women, children) x 10 American-English vowels x 2
repetitions = 1520 tokens with F0..F3 in Hz, shipped inside ``praat-parselmouth`` (no download).
Hillenbrand et al. (1995), 7-vowel subset in the PhyLL authors' layout: a CSV with columns
``speaker, vowel, <features...>`` (``../shared/data/phyll/hillenbrand_vowels_7class.csv``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuromorph.data.splits import stratified_split


@dataclass(frozen=True)
class LabelledData:
    """Features ``x [N, F]`` (float32), integer labels ``y [N]`` and their names."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    speakers: tuple[str, ...] = ()

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def peterson_barney(features: tuple[str, ...] = ("F0", "F1", "F2", "F3")) -> LabelledData:
    """The Peterson & Barney (1952) formant table from Praat (via parselmouth)."""
    from parselmouth.praat import call

    table = call("Create formant table (Peterson & Barney 1952)")
    n_rows = int(call(table, "Get number of rows"))
    cols = [
        call(table, "Get column label", j)
        for j in range(1, int(call(table, "Get number of columns")) + 1)
    ]
    unknown = [f for f in features if f not in cols]
    if unknown:
        raise ValueError(f"unknown Peterson-Barney features {unknown}; available: {cols}")
    rows = [
        {c: call(table, "Get value", i, c) for c in ("Vowel", "Speaker", *features)}
        for i in range(1, n_rows + 1)
    ]
    vowels = sorted({str(r["Vowel"]) for r in rows})
    x = np.array([[float(r[f]) for f in features] for r in rows], dtype=np.float32)
    y = np.array([vowels.index(str(r["Vowel"])) for r in rows], dtype=np.int64)
    speakers = tuple(str(int(r["Speaker"])) for r in rows)
    return LabelledData(x, y, tuple(vowels), tuple(features), speakers)


def vowel_csv(path: str | Path) -> LabelledData:
    """Read a CSV with header ``speaker, vowel, f1, f2, ...`` (the Hillenbrand layout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vowel CSV not found: {path}")
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if len(header) < 3 or header[1].strip().lower() != "vowel":
            raise ValueError(
                f"{path}: expected a header 'speaker,vowel,<features...>', got {header[:4]}"
            )
        rows = [r for r in reader if r]
    vowels = sorted({r[1] for r in rows})
    try:
        x = np.array([[float(v) for v in r[2:]] for r in rows], dtype=np.float32)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric feature value ({exc})") from None
    if not np.isfinite(x).all():
        raise ValueError(f"{path}: NaN or infinite feature values")
    y = np.array([vowels.index(r[1]) for r in rows], dtype=np.int64)
    return LabelledData(x, y, tuple(vowels), tuple(header[2:]), tuple(r[0] for r in rows))


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split_data(data: LabelledData, test_fraction: float, seed: int) -> Split:
    """Seeded stratified split of ``data`` (``test_fraction`` of every class to test)."""
    train, test = stratified_split(torch.as_tensor(data.y), test_fraction, seed)
    tr, te = train.numpy(), test.numpy()
    return Split(data.x[tr], data.y[tr], data.x[te], data.y[te])


def standardize_nonnegative(split: Split, log: bool = False) -> Split:
    """Z-score with training statistics, then shift so the training minimum is 0.

    Physical drives are amplitudes (non-negative), as in the PhyLL authors' preprocessing.
    ``log`` takes ``log(x)`` first (formants in Hz are roughly log-distributed).
    """
    xtr, xte = split.x_train, split.x_test
    if log:
        xtr, xte = np.log(xtr), np.log(xte)
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    lo = xtr.min()
    return Split(
        (xtr - lo).astype(np.float32), split.y_train, (xte - lo).astype(np.float32), split.y_test
    )
