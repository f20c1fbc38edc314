"""Neuron models against hand-written loops of their documented equations."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.networks.neurons import (
    ALIF,
    IF,
    LI,
    LIF,
    CubaLIF,
    LIFParams,
    LIFState,
    lif_step,
    make_neuron,
)
from neuromorph.primitives.discretize import (
    decay,
    integrator_gain,
    leaky_coefficients,
    synapse_coefficients,
    tau_from_decay,
)


def test_discretisation_values_and_errors():
    a, g, b = leaky_coefficients(10e-3, 2.0, 0.1, 1e-3, "euler")
    assert math.isclose(a, 0.9) and math.isclose(g, 0.2) and math.isclose(b, 0.01)
    a, g, b = leaky_coefficients(10e-3, 2.0, 0.1, 1e-3, "exact")
    assert math.isclose(a, math.exp(-0.1)) and math.isclose(g, 2 * (1 - math.exp(-0.1)))
    assert math.isclose(b, 0.1 * (1 - math.exp(-0.1)))
    assert math.isclose(integrator_gain(3.0, 1e-3), 3e-3)
    assert synapse_coefficients(5e-3, 1e-3, "euler", w_in=2.0) == pytest.approx((0.8, 0.4))
    t = torch.tensor([5e-3, 20e-3], requires_grad=True)
    decay(t, 1e-3, "exact").sum().backward()  # differentiable in tau
    torch.testing.assert_close(t.grad, torch.exp(-1e-3 / t.detach()) * 1e-3 / t.detach() ** 2)
    assert math.isclose(decay(tau_from_decay(0.95), 1.0), 0.95)
    assert math.isclose(decay(tau_from_decay(0.7, 1e-3, "exact"), 1e-3, "exact"), 0.7)
    with pytest.raises(ValueError, match="dt <= tau"):
        decay(0.5e-3, 1e-3)
    with pytest.raises(ValueError, match="unknown discretisation method 'rk4'"):
        decay(1.0, 0.1, "rk4")
    with pytest.raises(ValueError, match="positive"):
        decay(-1.0, 0.1, "exact")
    with pytest.raises(ValueError, match="dt must be a positive"):
        decay(1.0, 0.0)


def _lif_loop(x, tau, r, v_leak, thr, dt, reset="subtract", v_reset=0.0, method="euler"):
    a = math.exp(-dt / tau) if method == "exact" else 1 - dt / tau
    v, spikes, vs = 0.0, [], []
    for xt in x:
        h = a * v + (1 - a) * (v_leak + r * xt)
        s = 1.0 if h > thr else 0.0
        v = h - s * thr if reset == "subtract" else (v_reset if s else h)
        spikes.append(s)
        vs.append(v)
    return spikes, vs


@pytest.mark.parametrize("method", ["euler", "exact"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_lif_matches_hand_loop(method, reset, backend):
    x = [0.8, 1.5, 2.0, 0.1, 3.0, -0.5, 2.5, 2.5, 0.0, 1.0]
    kw = dict(tau=5e-3, r=2.0, v_leak=0.1, v_threshold=0.6, v_reset=-0.1)
    want_s, want_v = _lif_loop(x, kw["tau"], kw["r"], kw["v_leak"], kw["v_threshold"], 1e-3,
                               reset, kw["v_reset"], method)
    lif = LIF(dt=1e-3, method=method, reset=reset, backend=backend, **kw)
    out = lif(torch.tensor(x, dtype=torch.float64).view(-1, 1, 1).float(), return_v=True)
    assert sum(want_s) >= 3
    assert out.spikes.flatten().tolist() == want_s
    torch.testing.assert_close(out.v.flatten(), torch.tensor(want_v), rtol=1e-5, atol=1e-6)


def _continuation(neuron, x, split=4):
    """Running in two pieces with the state passed on equals one run; fresh state per call."""
    full = neuron(x, return_state=True)
    first = neuron(x[:split], return_state=True)
    second = neuron(x[split:], first.state, return_state=True)
    torch.testing.assert_close(torch.cat([first.spikes, second.spikes]), full.spikes)
    again = neuron(x)
    torch.testing.assert_close(again, full.spikes)  # no state leaked from previous calls
    for a, b in zip(second.state, full.state, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "neuron",
    [
        lambda: LIF((2, 3), dt=1e-3, tau=8e-3, r=3.0, v_threshold=0.5),
        lambda: LIF(dt=1e-3, reset_delay=True, reset="zero", v_threshold=0.5),
        lambda: CubaLIF((2, 3), dt=1e-3, tau_syn=3e-3, v_leak=0.2, r=4.0, v_threshold=0.5),
        lambda: IF(dt=1.0, r=0.5),
        lambda: ALIF(dt=1e-3, tau=10e-3, v_threshold=0.3, r=5.0),
        lambda: LI((2, 3), dt=1e-3, tau=4e-3),
    ],
)
def test_state_is_explicit_and_fresh_per_call(neuron):
    x = torch.rand(9, 4, 2, 3, generator=torch.Generator().manual_seed(0)) * 2
    _continuation(neuron(), x)


def test_cuba_matches_hand_loop_with_leak_and_gain():
    dt, ts, tm, r, w_in, vl, thr = 1e-3, 4e-3, 10e-3, 3.0, 2.0, 0.2, 0.5
    x = torch.rand(15, 1, 1, generator=torch.Generator().manual_seed(1)).double()
    a_s, a_m = 1 - dt / ts, 1 - dt / tm
    i = v = 0.0
    want_s, want_v = [], []
    for xt in x.flatten().tolist():
        i = a_s * i + (1 - a_s) * w_in * xt
        h = a_m * v + (1 - a_m) * (vl + r * i)
        s = 1.0 if h > thr else 0.0
        v = h - s * thr
        want_s.append(s)
        want_v.append(v)
    cuba = CubaLIF(dt=dt, tau_syn=ts, tau_mem=tm, r=r, w_in=w_in, v_leak=vl, v_threshold=thr)
    cuba = cuba.double()
    out = cuba(x, return_v=True, return_state=True)
    assert sum(want_s) >= 2
    assert out.spikes.flatten().tolist() == want_s
    torch.testing.assert_close(out.v.flatten(), torch.tensor(want_v, dtype=torch.float64))
    assert math.isclose(float(out.state.i), i, rel_tol=1e-9)  # the physical current


def test_if_and_alif_and_li_hand_loops():
    x = torch.tensor([0.4, 0.4, 0.4, 0.9, 0.0, 0.6]).view(-1, 1, 1)
    out = IF(dt=0.5, r=2.0, v_threshold=1.0, reset="zero")(x, return_v=True)  # v += r dt x
    assert out.spikes.flatten().tolist() == [0, 0, 1, 0, 0, 1]
    torch.testing.assert_close(out.v.flatten(), torch.tensor([0.4, 0.8, 0.0, 0.9, 0.9, 0.0]))

    dt, tau, ta, beta, thr = 1e-3, 20e-3, 50e-3, 0.5, 0.3
    alif = ALIF(dt=dt, tau=tau, tau_adapt=ta, beta_adapt=beta, v_threshold=thr, r=tau / dt)
    xs = torch.full((20, 1, 1), 0.2)
    got = alif(xs).flatten().tolist()
    a, rho, v, adapt, want = 1 - dt / tau, 1 - dt / ta, 0.0, 0.0, []
    for xt in xs.flatten().tolist():
        h = a * v + xt
        th = thr + beta * adapt
        s = 1.0 if h > th else 0.0
        v = h - s * th
        adapt = rho * adapt + (1 - rho) * s
        want.append(s)
    assert got == want and 2 <= sum(want) < 20

    li = LI(dt=1e-3, tau=5e-3, r=2.0, v_leak=0.1)
    y = li(x).flatten()
    v, want = 0.0, []
    for xt in x.flatten().tolist():
        v = 0.8 * v + 0.2 * (0.1 + 2.0 * xt)
        want.append(v)
    torch.testing.assert_close(y, torch.tensor(want))


@pytest.mark.parametrize("delay", [False, True])
def test_learnable_tau_and_threshold_cpu_equals_reference(delay):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(12, 3, 5, generator=g) * 2
    grads = []
    for backend in ("cpu", "reference"):
        lif = LIF(5, dt=1e-3, tau=torch.linspace(3e-3, 9e-3, 5), r=2.0, v_leak=0.05,
                  learn_tau=True, learn_threshold=True, reset_delay=delay, backend=backend)
        out = lif(x, return_v=True)
        (out.spikes.sum() + out.v.square().sum()).backward()
        grads.append((lif.tau.grad, lif.v_threshold.grad))
        assert lif.tau.grad.abs().sum() > 0 and lif.v_threshold.grad.abs().sum() > 0
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_functional_step_equals_module_and_errors():
    x = torch.rand(6, 2, 3, generator=torch.Generator().manual_seed(3)) * 3
    lif = LIF(dt=1e-3, tau=5e-3, r=1.5, v_threshold=0.7)
    want = lif(x)
    p = LIFParams(tau=5e-3, r=1.5, v_threshold=0.7)
    state, got = None, []
    for t in range(6):
        s, state = lif_step(x[t], state, p, 1e-3)
        got.append(s)
    torch.testing.assert_close(torch.stack(got), want)
    with pytest.raises(ValueError, match=r"time-major input \[T, B, \*features\]"):
        lif(x[0, 0])
    with pytest.raises(ValueError, match="built for features"):
        LIF(4, dt=1e-3)(x)
    with pytest.raises(ValueError, match="state v has shape"):
        lif(x, LIFState(torch.zeros(5, 3)))
    with pytest.raises(ValueError, match="unknown neuron 'hh'"):
        make_neuron("hh", dt=1e-3)
    with pytest.raises(ValueError, match="tau must be positive"):
        LIF(dt=1e-3, tau=-1.0)
    with pytest.raises(ValueError, match="unknown reset"):
        LIF(dt=1e-3, reset="hard")
