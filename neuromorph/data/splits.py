"""Seeded, stratified train/test splits shared by every dataset."""

from __future__ import annotations

import torch
from torch import Tensor


def stratified_split(
    labels: Tensor, test_fraction: float, seed: int
) -> tuple[Tensor, Tensor]:
    """Seeded split of ``range(len(labels))`` into (train, test) indices, stratified by class.

    Each class contributes ``round(test_fraction * n_class)`` samples to the test set.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if labels.dim() != 1:
        raise ValueError(f"labels must be 1-D [N], got shape {tuple(labels.shape)}")
    gen = torch.Generator().manual_seed(int(seed))
    train, test = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_test = int(round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    tr, te = torch.cat(train), torch.cat(test)
    # shuffle across classes so that neither list is sorted by label
    return tr[torch.randperm(len(tr), generator=gen)], te[torch.randperm(len(te), generator=gen)]
