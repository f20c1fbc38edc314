"""IR drop: the sparse exact solve against an independent dense netlist solve, and the
first-order approximation against the exact solve."""

import numpy as np
import pytest
import scipy.linalg

from neuromorph.hardware_models.crossbar import ir_drop


def netlist_solve(g: np.ndarray, r: float, volts: np.ndarray) -> np.ndarray:
    """Independent reference: stamp every resistor of the netlist into a dense matrix.

    Nodes are numbered row by row as (word-line node, bit-line node) pairs; sources and the
    virtual grounds are fixed potentials stamped into the right-hand side.
    """
    n, m = g.shape
    node = {}
    for i in range(n):
        for j in range(m):
            node[("a", i, j)] = len(node)
            node[("b", i, j)] = len(node)
    resistors = []  # (node p, node q or fixed potential, conductance)
    for i in range(n):
        resistors.append((node[("a", i, 0)], ("V", volts[i]), 1 / r))
        for j in range(m - 1):
            resistors.append((node[("a", i, j)], node[("a", i, j + 1)], 1 / r))
        for j in range(m):
            resistors.append((node[("a", i, j)], node[("b", i, j)], g[i, j]))
    for j in range(m):
        for i in range(n - 1):
            resistors.append((node[("b", i, j)], node[("b", i + 1, j)], 1 / r))
        resistors.append((node[("b", n - 1, j)], ("V", 0.0), 1 / r))
    a = np.zeros((len(node), len(node)))
    rhs = np.zeros(len(node))
    for p, q, c in resistors:
        a[p, p] += c
        if isinstance(q, tuple):
            rhs[p] += c * q[1]
        else:
            a[q, q] += c
            a[p, q] -= c
            a[q, p] -= c
    v = scipy.linalg.solve(a, rhs)
    return np.array([v[node[("b", n - 1, j)]] / r for j in range(m)])


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (8, 6), (12, 12)])
def test_sparse_solve_equals_dense_netlist_solve(shape):
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 25e-6, size=shape)
    r = 2.5
    volts = rng.uniform(-0.2, 0.2, size=shape[0])
    exact = ir_drop.output_currents(g, r, volts[None, :])[0]
    ref = netlist_solve(g, r, volts)
    assert np.abs(exact - ref).max() <= 1e-9 * np.abs(ref).max()


def test_single_cell_is_a_series_circuit():
    g, r = np.array([[20e-6]]), 10.0
    t = ir_drop.effective_conductance(g, r)[0, 0]
    assert t == pytest.approx(1 / (2 * r + 1 / 20e-6), rel=1e-12)


def test_no_wire_resistance_limit_and_monotone_drop():
    g = np.random.default_rng(1).uniform(1e-6, 25e-6, size=(16, 16))
    t_small = ir_drop.effective_conductance(g, 1e-6)
    assert np.abs(t_small - g).max() < 1e-8 * g.max()
    t = ir_drop.effective_conductance(g, 5.0)
    assert (t < g).all()  # every path loses current to the wires


def test_first_order_error_is_second_order_in_r():
    g = np.random.default_rng(2).uniform(0, 25e-6, size=(32, 32))
    errs = []
    for r in (0.5, 1.0, 2.0):
        exact = ir_drop.effective_conductance(g, r)
        approx = ir_drop.first_order_conductance(g, r)
        errs.append(np.abs(approx - exact).max())
    # halving r divides the first-order error by ~4
    assert errs[1] / errs[0] == pytest.approx(4.0, rel=0.1)
    assert errs[2] / errs[1] == pytest.approx(4.0, rel=0.15)


def test_bad_inputs_are_clear():
    with pytest.raises(ValueError, match="must be > 0 ohm"):
        ir_drop.effective_conductance(np.ones((2, 2)) * 1e-6, 0.0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        ir_drop.first_order_conductance(-np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="2-D array"):
        ir_drop.effective_conductance(np.ones(3), 1.0)
