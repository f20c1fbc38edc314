"""Binomial counts by inversion (numba): the draws of :class:`~.poisson_input.PoissonInput`.

For ``k ~ Binomial(n, p)`` with a small mean ``n p`` the inverse-CDF walk is exact and fast:
with one uniform ``u`` in ``[0, 1)``, walk up the probabilities

    f_0 = (1 - p)^n,    f_k = f_{k-1} ((n + 1) s / k - s),    s = p / (1 - p)

subtracting each from ``u`` until ``u <= f_k``; then ``k`` is the count, the smallest ``k``
with ``CDF(k) >= u`` (numpy's ``BINV`` method, which numpy uses for ``n p <= 30``; the reference
is ``scipy.stats.binom.ppf(u, n, p)``, which the tests match draw for draw). The walk takes
``n p + 1`` steps on average: about 2 ns per draw at ``n p = 0.16`` and 15 ns at 1.6 on this
project's CPU, against 21 and 53 ns for ``torch.binomial`` (BTRS rejection). The uniforms come
from a torch generator, so the counts are reproducible from the network seed on every backend.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: largest mean ``n p`` drawn by inversion (numpy's bound); above it the walk gets long
INVERSION_MAX_MEAN = 30.0


def inversion_applies(n_max: float, p: float) -> bool:
    """Whether counts of ``Binomial(n, p)``, ``n <= n_max``, are drawn by inversion: ``p < 0.5``
    and ``n_max p <= 30`` (otherwise the walk's start ``(1 - p)^n`` may underflow)."""
    return p < 0.5 and n_max * p <= INVERSION_MAX_MEAN


@nb.njit(cache=True, nogil=True)
def binomial_by_inversion(u: np.ndarray, n: np.ndarray, p: float, weight: float,
                          out: np.ndarray) -> None:
    """``out[t, j] = weight * k`` with ``k ~ Binomial(n[j], p)`` drawn from ``u[t, j]``
    (uniforms in ``[0, 1)``, shape ``[T, N]``; ``n``: ``[N]`` whole numbers as floats)."""
    s = p / (1.0 - p)
    T, N = u.shape
    start = np.empty(N)
    for j in range(N):
        start[j] = (1.0 - p) ** n[j]
    for t in range(T):
        for j in range(N):
            x, f, m = u[t, j], start[j], n[j]
            a = (m + 1.0) * s
            k = 0
            while x > f and k < m:  # k < m: rounding may leave x a hair above the last f
                x -= f
                k += 1
                f *= a / k - s
            out[t, j] = weight * k


__all__ = ["INVERSION_MAX_MEAN", "binomial_by_inversion", "inversion_applies"]
