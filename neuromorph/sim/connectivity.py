"""Seeded connectivity builders; every builder returns ``(pre, post)`` sorted by ``(pre, post)``.

A builder is a callable ``(n_pre, n_post, generator, diag) -> (pre, post)`` (int64 tensors of
*local* indices). ``diag`` says where autapses are: synapse ``(i, j)`` connects a neuron to
itself iff source and target are the same group and ``j == i + diag`` (``None`` otherwise).

- :func:`fixed_probability` — every pair independently with probability ``p`` (Brian2's
  ``connect(p=p)``); expected in-degree ``p * n_pre``.
- :func:`fixed_indegree` — every target gets exactly ``k`` distinct sources (uniform).
- :func:`all_to_all` — every pair (Brian2's ``connect()``).
- :func:`from_indices` — explicit lists (Brian2's ``connect(i=pre, j=post)``); duplicates are
  kept as separate synapses.

The order ``(pre, post)`` (stable for duplicates) is the CSR order, and also the order Brian2
creates the same synapses in with ``connect(i=pre, j=post)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neuromorph.sim.events_cpu import CHUNK

Pairs = tuple[Tensor, Tensor]
Connector = Callable[[int, int, torch.Generator | None, int | None], Pairs]

_DENSE_LIMIT = 4_000_000  # pairs drawn as a dense Bernoulli matrix below this many


RADIX_LIMIT = 1 << 16  # indices below this sort as 16-bit keys (numpy's O(n) radix sort)


def lex_order(major: np.ndarray, minor: np.ndarray, n_minor: int) -> np.ndarray:
    """The stable permutation that sorts pairs by ``(major, minor)`` (int64 indices >= 0).

    Both below :data:`RADIX_LIMIT`: two stable radix passes on 16-bit keys, minor then major
    (about 5x faster than one comparison sort at millions of pairs); otherwise one stable sort
    of ``major * n_minor + minor``. A stable sort's permutation is unique: both give the same.
    """
    if major.size and max(int(major.max()), int(minor.max())) < RADIX_LIMIT:
        by_minor = np.argsort(minor.astype(np.uint16), kind="stable")
        return by_minor[np.argsort(major[by_minor].astype(np.uint16), kind="stable")]
    return np.argsort(major * n_minor + minor, kind="stable")


def pair_order(pre: Tensor, post: Tensor, n_post: int) -> Tensor:
    """The stable permutation that sorts ``(pre, post)`` pairs (numpy: ~10x torch's CPU sort)."""
    return torch.from_numpy(lex_order(pre.long().numpy(), post.long().numpy(), n_post))


def pairs_sorted(pre: Tensor, post: Tensor) -> bool:
    """Whether ``(pre, post)`` is already in ``(pre, post)`` order (then the stable sort is the
    identity); checked in blocks, so it needs no full-size temporaries."""
    a, b = pre.numpy(), post.numpy()
    for start in range(0, max(a.size - 1, 0), CHUNK):
        stop = min(start + CHUNK, a.size - 1)
        p0, p1 = a[start:stop], a[start + 1: stop + 1]
        q0, q1 = b[start:stop], b[start + 1: stop + 1]
        if not ((p1 > p0) | ((p1 == p0) & (q1 >= q0))).all():
            return False
    return True


def _distinct_per_row(row: Tensor, n_cols: int, g: torch.Generator,
                      own: Tensor | None = None) -> Tensor:
    """Uniform distinct columns for the entries of ``row`` (sorted ascending): draw, then
    redraw duplicates within a row (and ``own[row]``, if given) until there are none. The
    result is uniform over the subsets of each row's size (the redraws are label-symmetric)."""
    col = torch.randint(0, n_cols, (row.numel(),), generator=g)
    r = row.numpy()
    while True:
        key = r * n_cols + col.numpy()
        order = lex_order(r, col.numpy(), n_cols)
        ks = key[order]
        bad = np.zeros(ks.size, dtype=bool)
        bad[1:] = ks[1:] == ks[:-1]
        if own is not None:
            bad |= col.numpy()[order] == own.numpy()[r[order]]
        n_bad = int(bad.sum())
        if n_bad == 0:
            return col
        col[torch.from_numpy(order[bad])] = torch.randint(0, n_cols, (n_bad,), generator=g)


def sort_pairs(pre: Tensor, post: Tensor, n_post: int) -> Pairs:
    """``(pre, post)`` sorted by ``(pre, post)`` (stable, so duplicates keep their order)."""
    order = pair_order(pre, post, n_post)
    return pre.long()[order].contiguous(), post.long()[order].contiguous()


def _drop_autapses(pre: Tensor, post: Tensor, diag: int | None) -> Pairs:
    if diag is None:
        return pre, post
    keep = post != pre + diag
    return pre[keep], post[keep]


def _need(generator: torch.Generator | None, what: str) -> torch.Generator:
    if generator is None:
        raise ValueError(f"{what} is random: pass generator= (or seed=) to Projection, or use "
                         "Network.connect, which uses net.generator('connect')")
    return generator


@dataclass(frozen=True)
class FixedProbability:
    p: float
    allow_self: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"connection probability must be in [0, 1], got {self.p}")

    def __call__(self, n_pre: int, n_post: int, generator: torch.Generator | None,
                 diag: int | None) -> Pairs:
        g = _need(generator, "fixed_probability")
        total = n_pre * n_post
        if total <= _DENSE_LIMIT:
            hit = torch.rand(n_pre, n_post, generator=g) < self.p
            pre, post = hit.nonzero(as_tuple=True)
        else:  # k_i ~ Binomial(n_post, p) per source, then k_i distinct targets uniformly
            counts = torch.binomial(torch.full((n_pre,), float(n_post), dtype=torch.float64),
                                    torch.full((n_pre,), self.p, dtype=torch.float64),
                                    generator=g).long()
            pre = torch.repeat_interleave(torch.arange(n_pre), counts)
            post = _distinct_per_row(pre, n_post, g)
        if not self.allow_self:
            pre, post = _drop_autapses(pre, post, diag)
        return sort_pairs(pre, post, n_post)


@dataclass(frozen=True)
class FixedIndegree:
    k: int
    allow_self: bool = True

    def __post_init__(self) -> None:
        if int(self.k) != self.k or self.k < 0:
            raise ValueError(f"in-degree k must be an integer >= 0, got {self.k}")

    def __call__(self, n_pre: int, n_post: int, generator: torch.Generator | None,
                 diag: int | None) -> Pairs:
        g = _need(generator, "fixed_indegree")
        k = int(self.k)
        own = None  # source index of each target's own neuron (n_pre: not among the sources)
        if not self.allow_self and diag is not None:
            own = torch.arange(n_post) - diag
            own = torch.where((own >= 0) & (own < n_pre), own, torch.full_like(own, n_pre))
        n_cand = n_pre - (0 if own is None or bool((own == n_pre).all()) else 1)
        if k > n_cand:
            raise ValueError(f"fixed_indegree k={k} exceeds the {n_cand} available sources")
        if k == 0:
            z = torch.zeros(0, dtype=torch.int64)
            return z, z.clone()
        if k * 2 > n_cand and n_post * n_pre <= 50_000_000:  # dense: k smallest of a random row
            keys = torch.rand(n_post, n_pre, generator=g)
            if own is not None:
                inside = own < n_pre
                keys[inside.nonzero().flatten(), own[inside]] = 2.0  # never among the k smallest
            src = keys.argsort(dim=1)[:, :k]
        else:  # sparse: draw, then redraw duplicates and autapses until none are left
            post = torch.arange(n_post).repeat_interleave(k)
            src = _distinct_per_row(post, n_pre, g, own).reshape(n_post, k)
        post = torch.arange(n_post).repeat_interleave(k)
        return sort_pairs(src.reshape(-1), post, n_post)


@dataclass(frozen=True)
class AllToAll:
    allow_self: bool = True

    def __call__(self, n_pre: int, n_post: int, generator: torch.Generator | None,
                 diag: int | None) -> Pairs:
        pre = torch.arange(n_pre).repeat_interleave(n_post)
        post = torch.arange(n_post).repeat(n_pre)
        if not self.allow_self:
            pre, post = _drop_autapses(pre, post, diag)
        return pre, post


@dataclass(frozen=True)
class FromIndices:
    """Explicit synapses; per-synapse weights / delays given with them follow *their* order
    (the projection permutes them into the CSR order with the ``order`` of :meth:`unsorted`)."""

    pre: Tensor
    post: Tensor

    def unsorted(self, n_pre: int, n_post: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(pre, post, order)``: the index lists as given (checked, not copied) and the stable
        permutation into the CSR order, None when they are in it already (no sort, no copy)."""
        pre, post = torch.as_tensor(self.pre).flatten(), torch.as_tensor(self.post).flatten()
        if pre.shape != post.shape:
            raise ValueError(f"pre and post index lists differ in length: {pre.numel()} vs "
                             f"{post.numel()}")
        for name, idx, n in (("pre", pre, n_pre), ("post", post, n_post)):
            if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
                raise ValueError(f"{name} indices must be in [0, {n}), got range "
                                 f"[{int(idx.min())}, {int(idx.max())}]")
        return pre, post, None if pairs_sorted(pre, post) else pair_order(pre, post, n_post)

    def __call__(self, n_pre: int, n_post: int, generator: torch.Generator | None,
                 diag: int | None) -> Pairs:
        pre, post, order = self.unsorted(n_pre, n_post)
        if order is None:
            return pre.to(torch.int64, copy=True), post.to(torch.int64, copy=True)
        return pre.long()[order].contiguous(), post.long()[order].contiguous()


def fixed_probability(p: float, *, allow_self: bool = True) -> FixedProbability:
    """Each pair independently with probability ``p`` (autapses allowed by default, as Brian2)."""
    return FixedProbability(float(p), allow_self)


def fixed_indegree(k: int, *, allow_self: bool = True) -> FixedIndegree:
    """Every target neuron receives exactly ``k`` distinct sources, drawn uniformly."""
    return FixedIndegree(int(k), allow_self)


def all_to_all(*, allow_self: bool = True) -> AllToAll:
    """Every (pre, post) pair."""
    return AllToAll(allow_self)


def from_indices(pre: Tensor | list[int], post: Tensor | list[int]) -> FromIndices:
    """Explicit synapses ``pre[s] -> post[s]`` (local indices of the source / target)."""
    return FromIndices(torch.as_tensor(pre), torch.as_tensor(post))


def csr_indptr(pre: Tensor, n_rows: int) -> Tensor:
    """Row pointer ``[n_rows + 1]`` of the ``pre`` indices (their counts: any order), counted
    block by block (a bincount of all at once would make an int64 copy of int32 indices)."""
    counts = torch.zeros(n_rows, dtype=torch.int64)
    for start in range(0, pre.numel(), CHUNK):
        counts += torch.bincount(pre[start:start + CHUNK], minlength=n_rows)
    return torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(counts, 0)])


__all__ = [
    "AllToAll",
    "Connector",
    "FixedIndegree",
    "FixedProbability",
    "FromIndices",
    "Pairs",
    "all_to_all",
    "csr_indptr",
    "fixed_indegree",
    "fixed_probability",
    "from_indices",
    "lex_order",
    "pair_order",
    "pairs_sorted",
    "sort_pairs",
]
