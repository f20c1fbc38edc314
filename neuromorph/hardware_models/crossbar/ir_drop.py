"""IR drop: the crossbar as a resistor network with wire resistance, solved exactly or to 1st order.

Circuit (``N`` word lines = inputs ``i``, ``M`` bit lines = outputs ``j``): word line ``i`` is
driven at its left end by ``V_i`` through one wire segment ``r``; nodes ``a_ij`` along it are
joined by segments ``r``. The device ``G_ij`` joins ``a_ij`` to the bit-line node ``b_ij``; bit
line ``j`` runs down through segments ``r`` and ends, through one more segment, at the virtual
ground of its sense amplifier, which reads ``I_j = b_(N-1)j / r``. Kirchhoff's current law at
all ``2 N M`` nodes is a sparse symmetric positive-definite system ``A v = c V``.

The network is linear, so the outputs are ``I = V . T`` with an *effective conductance matrix*
``T [N, M]`` (``T = G`` when ``r = 0``). :func:`effective_conductance` finds it exactly with one
sparse LU factorisation and ``N`` right-hand sides (one per driven row);
:func:`first_order_conductance` is the one-step approximation that computes the wire currents
from the ideal cell currents ``G_ij V_i``::

    T_ej ~= G_ej (1 - r C_ej - r D_ej),  C_ej = sum_(k<=j) sum_(j'>=k) G_ej',
    D_ej = sum_i (N - max(i, e)) G_ij

(word-line and bit-line drops, exact to first order in ``r G``). Its error against the exact
solve grows with the array size; ``benchmarks/bench_crossbar.py`` measures it.
Units: ``G`` and ``T`` in S, ``r`` in ohm, ``V`` in V, ``I`` in A.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu


def _check(g: np.ndarray, r_wire: float) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or min(g.shape) < 1:
        raise ValueError(f"conductances must be a 2-D array [rows, cols], got shape {g.shape}")
    if not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("conductances must be finite and >= 0 (S)")
    if not r_wire > 0:
        raise ValueError(f"wire resistance must be > 0 ohm for an IR-drop solve, got {r_wire}; "
                         "use r_wire = 0 in the tile config to switch IR drop off")
    return g


def kcl_matrix(g: np.ndarray, r_wire: float) -> sp.csc_matrix:
    """The ``2NM x 2NM`` nodal matrix: word-line nodes first (``i M + j``), then bit-line nodes."""
    g = _check(g, r_wire)
    n, m = g.shape
    c = 1.0 / r_wire
    a = np.arange(n * m).reshape(n, m)
    b = a + n * m
    rows, cols, vals = [], [], []

    def link(p: np.ndarray, q: np.ndarray, cond: np.ndarray | float) -> None:
        cond = np.broadcast_to(cond, p.shape).ravel()
        p, q = p.ravel(), q.ravel()
        rows.extend([p, q, p, q])
        cols.extend([p, q, q, p])
        vals.extend([cond, cond, -cond, -cond])

    link(a[:, :-1], a[:, 1:], c)  # word-line segments
    link(b[:-1, :], b[1:, :], c)  # bit-line segments
    link(a, b, g)  # devices
    diag = [a[:, 0], b[-1, :]]  # driver segment and ground segment (to fixed potentials)
    rows.extend(diag)
    cols.extend(diag)
    vals.extend([np.full(n, c), np.full(m, c)])
    mat = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(2 * n * m, 2 * n * m))
    return mat.tocsc()


def effective_conductance(g: np.ndarray, r_wire: float) -> np.ndarray:
    """Exact ``T [N, M]`` with ``I = V . T`` for the array ``g [N, M]`` (S), wires ``r`` (ohm)."""
    g = _check(g, r_wire)
    n, m = g.shape
    c = 1.0 / r_wire
    rhs = np.zeros((2 * n * m, n))
    rhs[np.arange(n) * m, np.arange(n)] = c  # row i driven at unit voltage
    volts = splu(kcl_matrix(g, r_wire), permc_spec="MMD_AT_PLUS_A").solve(rhs)  # SPD ordering
    bottom = n * m + (n - 1) * m + np.arange(m)
    return c * volts[bottom, :].T


def first_order_conductance(g: np.ndarray, r_wire: float) -> np.ndarray:
    """First-order (in ``r G``) approximation of :func:`effective_conductance`."""
    g = _check(g, r_wire)
    n, _ = g.shape
    suffix = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]  # sum_(j' >= k) G_ej'
    word = np.cumsum(suffix, axis=1)
    idx = np.arange(n)
    weight = n - np.maximum(idx[:, None], idx[None, :])  # K_ei = N - max(i, e)
    bit = weight @ g
    return g * (1.0 - r_wire * word - r_wire * bit)


def output_currents(g: np.ndarray, r_wire: float, volts: np.ndarray) -> np.ndarray:
    """Sense currents ``I [B, M]`` (A) for drives ``volts [B, N]`` (V), exact solve."""
    return np.asarray(volts, dtype=np.float64) @ effective_conductance(g, r_wire)
