"""Neuron groups of the event engine against analytic solutions and hand-written integrators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuromorph.sim import (
    Channel,
    COBALIFGroup,
    CurrentInput,
    IzhikevichGroup,
    LIFGroup,
    Network,
    Projection,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    all_to_all,
)
from neuromorph.sim.propagators import exp_kernel_gain, lif_matrix, refractory_steps

DT = 1e-4
F64 = torch.float64
BACKENDS = ["numpy", "torch"]


def _one_input(net: Network, target, var: str, step: int, weight: float) -> None:
    src = net.add(SpikeGeneratorGroup(1, [0], [step * DT]))
    net.add(Projection(src, target, var, all_to_all(), weight=weight))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tau_e", [5e-3, 20e-3])  # tau_e == tau_m exercises the limit formula
def test_lif_psp_matches_the_analytic_solution(backend, tau_e):
    tau_m, v_rest, w, n0 = 20e-3, -0.07, 2e-3, 10
    net = Network(dt=DT, dtype=F64, backend=backend)
    g = net.add(LIFGroup(1, tau_m=tau_m, v_rest=v_rest, v_threshold=0.0, v_reset=-0.08,
                         channels={"ge": tau_e}))
    _one_input(net, g, "ge", n0, w)
    mon = net.add(StateMonitor(g, ["v", "ge"]))
    net.run(400 * DT)
    # the input lands in the synapses slot of step n0, after that step's update: its effect
    # starts at t = (n0 + 1) dt, and the monitor reads step n at its start, t = n dt
    s = (np.arange(400) - n0 - 1) * DT
    after = s >= 0
    ge = np.where(after, w * np.exp(-s / tau_e), 0.0)
    if abs(tau_e - tau_m) < 1e-15:
        psp = w * s / tau_m * np.exp(-s / tau_m)
    else:
        psp = w * tau_e / (tau_e - tau_m) * (np.exp(-s / tau_e) - np.exp(-s / tau_m))
    v = v_rest + np.where(after, psp, 0.0)
    np.testing.assert_allclose(mon["ge"][:, 0], ge, rtol=0, atol=1e-15)
    np.testing.assert_allclose(mon["v"][:, 0], v, rtol=0, atol=1e-14)


def test_lif_current_step_response_is_exact():
    tau_m, r_m, I = 10e-3, 1e8, 1.5e-10  # r I = 15 mV
    net = Network(dt=DT, dtype=F64)
    g = net.add(LIFGroup(2, tau_m=tau_m, v_rest=-0.06, v_threshold=1.0, v_reset=-0.06, r_m=r_m))
    net.add(CurrentInput(g[1:], torch.full((1,), I)))  # one row, held for all steps
    mon = net.add(StateMonitor(g, "v"))
    net.run(300 * DT)
    t = np.arange(300) * DT
    np.testing.assert_allclose(mon.v[:, 1], -0.06 + r_m * I * (1 - np.exp(-t / tau_m)),
                               atol=1e-15)
    np.testing.assert_array_equal(mon.v[:, 0], -0.06)


def test_exact_propagator_matrix_entries():
    M = lif_matrix(20e-3, -0.05, 2.0, [5e-3], [3.0], DT)
    a = math.exp(-DT / 20e-3)
    assert M[0, 0] == pytest.approx(a, abs=0)
    assert M[0, 1] == pytest.approx(3.0 * exp_kernel_gain(5e-3, 20e-3, DT), rel=1e-15)
    assert M[0, 2] == pytest.approx(2.0 * (1 - a), rel=1e-15)
    assert M[0, 3] == pytest.approx(-0.05 * (1 - a), rel=1e-15)
    assert M[1, 1] == pytest.approx(math.exp(-DT / 5e-3), rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_refractory_clamp_holds_v_and_sets_the_spike_period(backend):
    ref = 2e-3
    R = refractory_steps(ref, DT)
    assert R == 20
    net = Network(dt=DT, dtype=F64, backend=backend)
    g = net.add(LIFGroup(1, tau_m=10e-3, v_rest=0.0, v_threshold=-0.05, v_reset=-0.06,
                         refractory=ref, channels={"ge": 5e-3}))
    g.set("v", -0.07)
    net.add(CurrentInput(g, torch.full((1,), 10.0)))  # r I = 10 V: crosses within one step
    mon = net.add(StateMonitor(g, ["v", "ge"]))
    sm = net.add(SpikeMonitor(g))
    net.run(100 * DT)
    assert sm.steps.tolist() == [0, R, 2 * R, 3 * R, 4 * R]
    v = mon.v[:, 0]
    for k in range(4):  # recorded at the start of steps k R + 1 .. (k + 1) R: still clamped
        np.testing.assert_array_equal(v[k * R + 1: (k + 1) * R + 1], -0.06)


def test_refractory_rounds_like_brian2():
    assert refractory_steps(5e-3, 1e-4) == 50
    assert refractory_steps(0.29999999e-3, 1e-4) == 3  # within the 1e-3 dt shift
    assert refractory_steps(0.25e-3, 1e-4) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_coba_step_is_brian2_exponential_euler(backend):
    """The COBA update against a literal float64 exponential-Euler loop (with refractoriness)."""
    tau_m, El, Ee, Ei, vt, vr, te, ti = 20e-3, -0.06, 0.0, -0.08, -0.05, -0.06, 5e-3, 10e-3
    rng = np.random.default_rng(0)
    steps = np.sort(rng.choice(500, 80, replace=False))
    src_e = steps[:60]
    net = Network(dt=DT, dtype=F64, backend=backend)
    gen = net.add(SpikeGeneratorGroup(2, np.r_[np.zeros(60, int), np.ones(20, int)],
                                      np.r_[src_e, steps[60:]] * DT))
    g = net.add(COBALIFGroup(1, tau_m=tau_m, v_rest=El, v_threshold=vt, v_reset=vr,
                             refractory=3e-3, channels={"ge": Channel(te, e_rev=Ee),
                                                        "gi": Channel(ti, e_rev=Ei)}))
    net.add(Projection(gen[:1], g, "ge", all_to_all(), weight=0.4))
    net.add(Projection(gen[1:], g, "gi", all_to_all(), weight=0.3))
    mon = net.add(StateMonitor(g, "v"))
    sm = net.add(SpikeMonitor(g))
    net.run(500 * DT)
    v, ge, gi, last, vs, spikes = El, 0.0, 0.0, -10**9, [], []
    for n in range(500):
        vs.append(v)
        if n - last >= 30:
            gt = 1 + ge + gi
            vinf = (El + ge * Ee + gi * Ei) / gt
            v = vinf + (v - vinf) * math.exp(-DT * gt / tau_m)
        ge *= math.exp(-DT / te)
        gi *= math.exp(-DT / ti)
        fired = v > vt and n - last >= 30
        if fired:
            last = n
            spikes.append(n)
        ge += 0.4 * np.count_nonzero(src_e == n)
        gi += 0.3 * np.count_nonzero(steps[60:] == n)
        if fired:
            v = vr
    assert sm.steps.tolist() == spikes and len(spikes) > 2
    np.testing.assert_allclose(mon.v[:, 0], vs, rtol=0, atol=1e-15)


def test_coba_g_leak_makes_weights_siemens():
    def trace(g_leak, w):
        net = Network(dt=DT, dtype=F64)
        g = net.add(COBALIFGroup(1, tau_m=10e-3, v_rest=-0.07, v_threshold=1.0, v_reset=-0.07,
                                 g_leak=g_leak, channels={"ge": Channel(5e-3, e_rev=0.0)}))
        _one_input(net, g, "ge", 5, w)
        mon = net.add(StateMonitor(g, "v"))
        net.run(100 * DT)
        return mon.v[:, 0]
    np.testing.assert_allclose(trace(10e-9, 5e-9), trace(None, 0.5), atol=1e-16)


@pytest.mark.parametrize("backend", BACKENDS)
def test_izhikevich_is_forward_euler(backend):
    rng = np.random.default_rng(3)
    current = rng.uniform(0, 20, 600)  # V/s
    net = Network(dt=DT, dtype=F64, backend=backend)
    g = net.add(IzhikevichGroup(1, channels={"x": 3e-3}))
    net.add(CurrentInput(g, torch.tensor(current)))
    _one_input(net, g, "x", 100, 300.0)
    mon = net.add(StateMonitor(g, ["v", "u"]))
    sm = net.add(SpikeMonitor(g))
    net.run(600 * DT)
    a, b, c, d = 20.0, 200.0, -0.065, 8.0
    v, u, x, vs, spikes = c, b * c, 0.0, [], []
    for n in range(600):
        vs.append(v)
        dv = 4e4 * v * v + 5e3 * v + 140.0 - u + x + current[n]
        v, u, x = v + DT * dv, u + DT * a * (b * v - u), x * (1 - DT / 3e-3)
        if v > 0.03:
            spikes.append(n)
        if n == 100:
            x += 300.0
        if v > 0.03:
            v, u = c, u + d
    assert sm.steps.tolist() == spikes and len(spikes) >= 3
    np.testing.assert_allclose(mon.v[:, 0], vs, rtol=0, atol=1e-12)


def test_group_errors_name_the_problem():
    with pytest.raises(ValueError, match="tau_m must be > 0"):
        LIFGroup(3, tau_m=0.0, v_rest=0, v_threshold=1, v_reset=0)
    g = LIFGroup(3, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0, channels={"ge": 5e-3})
    with pytest.raises(KeyError, match="targets: \\['v', 'ge'\\]"):
        g.target_row("gi")
    with pytest.raises(ValueError, match="shape \\[3\\]"):
        g.set("v", torch.zeros(4))
    with pytest.raises(ValueError, match="needs e_rev"):
        COBALIFGroup(2, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0,
                     channels={"ge": Channel(5e-3)})
    with pytest.raises(ValueError, match="invalid channel name"):
        LIFGroup(1, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0, channels={"v": 1e-3})


@pytest.mark.parametrize("backend", BACKENDS)
def test_delta_input_onto_v_is_dropped_while_refractory(backend):
    """Brian2 writes ``v`` conditionally on ``not_refractory``, ``v_post += w`` included."""
    net = Network(dt=DT, dtype=F64, backend=backend)
    g = net.add(LIFGroup(1, tau_m=1e9, v_rest=0.0, v_threshold=1.0, v_reset=0.0,
                         refractory=5e-3))
    g.set("v", 2.0)  # spikes at step 0, refractory for steps 1..49
    src = net.add(SpikeGeneratorGroup(1, [0, 0], [10 * DT, 80 * DT]))
    net.add(Projection(src, g, "v", all_to_all(), weight=0.5))
    mon = net.add(StateMonitor(g, "v"))
    net.run(100 * DT)
    v = mon.v[:, 0]
    assert v[15] == 0.0 and v[80] == 0.0
    assert v[81] == pytest.approx(0.5, abs=1e-9)
