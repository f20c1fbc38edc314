"""The rules matrix's datasets: embedded or generated, with reserved label slots in front.

Every input row is ``[0_C, x]``: ``C = n_classes`` zero columns that label-embedding rules
(forward-forward, PhyLL) overwrite with the label, then the features. ``digits`` are pixels in
[0, 1]; ``mnist1d`` and ``vowels`` are z-scored with training statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neuromorph.data.digits import sklearn_digits
from neuromorph.data.mnist1d import make_mnist1d
from neuromorph.data.vowels import peterson_barney, split_data

DATASETS = ("digits", "mnist1d", "vowels")


@dataclass
class MatrixTask:
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    n_classes: int

    @property
    def n_in(self) -> int:
        return self.x_train.shape[1]


def _zscore(xtr: np.ndarray, xte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
    return (xtr - mu) / sd, (xte - mu) / sd


def _arrays(name: str, seed: int) -> tuple[np.ndarray, ...]:
    if name == "digits":
        s = split_data(sklearn_digits(), 0.2, seed)
        return s.x_train, s.y_train, s.x_test, s.y_test, 10
    if name == "mnist1d":
        d = make_mnist1d(4000, seed=42 + seed)
        xtr, xte = _zscore(d.x_train, d.x_test)
        return xtr, d.y_train, xte, d.y_test, 10
    if name == "vowels":
        data = peterson_barney()
        s = split_data(data, 0.2, seed)
        xtr, xte = _zscore(np.log(s.x_train), np.log(s.x_test))
        return xtr, s.y_train, xte, s.y_test, data.n_classes
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")


def load_task(name: str, seed: int) -> MatrixTask:
    """The seeded split of dataset ``name`` with ``n_classes`` reserved zero columns in front."""
    xtr, ytr, xte, yte, c = _arrays(name, seed)

    def prep(x: np.ndarray) -> Tensor:
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        return torch.cat([torch.zeros(x.shape[0], int(c)), x], dim=1)

    return MatrixTask(prep(xtr), torch.as_tensor(np.asarray(ytr)).long(), prep(xte),
                      torch.as_tensor(np.asarray(yte)).long(), int(c))
