"""The CSR order of the synapses: the radix path of ``lex_order`` gives the one stable order.

Every spike-identical test depends on this order (it is Brian2's synapse order too); the
reference here is numpy's stable comparison sort of the combined key."""

from __future__ import annotations

import numpy as np
import pytest

from neuromorph.sim.connectivity import RADIX_LIMIT, lex_order


@pytest.mark.parametrize("n_major,n_minor", [(300, 50), (RADIX_LIMIT, 7), (5, RADIX_LIMIT + 9)])
def test_lex_order_is_the_stable_sort_of_the_combined_key(n_major: int, n_minor: int) -> None:
    rng = np.random.default_rng(4)
    major = rng.integers(0, n_major, 20_000)
    minor = rng.integers(0, n_minor, 20_000)  # many duplicate pairs: stability matters
    want = np.argsort(major * n_minor + minor, kind="stable")
    np.testing.assert_array_equal(lex_order(major, minor, n_minor), want)


def test_lex_order_of_nothing_is_empty() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert lex_order(empty, empty, 3).size == 0
