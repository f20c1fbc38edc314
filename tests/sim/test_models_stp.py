"""Tsodyks-Markram short-term plasticity against a hand-written Brian2 synapse (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

b2 = pytest.importorskip("brian2")

from neuromorph.sim import (  # noqa: E402
    LIFGroup,
    Network,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    TsodyksMarkram,
    all_to_all,
)
from neuromorph.sim.brian2_bridge import poisson_spike_times, set_target  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DT = 1e-4
N_IN, N_POST, T = 20, 3, 0.5
DEPRESSING = TsodyksMarkram(U=0.5, tau_d=0.3)
FACILITATING = TsodyksMarkram(U=0.05, tau_d=0.13, tau_f=0.53)


def run_ours(rule: TsodyksMarkram, delay: float, backend: str):
    idx, times = poisson_spike_times(N_IN, 30.0, T, DT, seed=3)
    w = np.random.default_rng(4).random(N_IN * N_POST) * 8e-3
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    inp = net.add(SpikeGeneratorGroup(N_IN, idx, times))
    g = net.add(LIFGroup(N_POST, tau_m=20e-3, v_rest=-65e-3, v_threshold=-55e-3,
                         v_reset=-65e-3, refractory=2e-3, channels={"I_syn": 5e-3}))
    proj = net.connect(inp, g, "I_syn", all_to_all(), weight=torch.tensor(w), delay=delay,
                       plasticity=rule)
    vm = net.add(StateMonitor(g, "v"))
    sm = net.add(SpikeMonitor(g))
    net.run(T)
    return (idx, times, w), vm["v"], sm, proj


def run_brian2(rule: TsodyksMarkram, delay: float, data) -> tuple[np.ndarray, np.ndarray, dict]:
    idx, times, w = data
    set_target("numpy")
    ms, dtq = b2.ms, DT * b2.second
    G = b2.NeuronGroup(N_POST, """dv/dt = (-65*mV - v + I_syn) / (20*ms) : volt (unless refractory)
                                  dI_syn/dt = -I_syn / (5*ms) : volt""",
                       threshold="v > -55*mV", reset="v = -65*mV", refractory=2 * ms,
                       method="exact", dt=dtq)
    G.v = -65 * b2.mV
    src = b2.SpikeGeneratorGroup(N_IN, idx, times * b2.second, dt=dtq)
    if rule.tau_f is None:  # depressing: u stays U
        model = "w : volt\ndx/dt = (1 - x) / tau_d : 1 (event-driven)"
        on_pre = "I_syn_post += w * U * x\nx -= U * x"
    else:
        model = ("w : volt\ndu/dt = -u / tau_f : 1 (event-driven)\n"
                 "dx/dt = (1 - x) / tau_d : 1 (event-driven)")
        on_pre = "u += U * (1 - u)\nI_syn_post += w * u * x\nx -= u * x"
    ns = {"U": rule.U, "tau_d": rule.tau_d * b2.second,
          "tau_f": (rule.tau_f or 1.0) * b2.second}
    S = b2.Synapses(src, G, model, on_pre=on_pre, namespace=ns, delay=delay * b2.second, dt=dtq)
    S.connect()
    S.x = 1
    S.w[:] = w.reshape(N_IN, N_POST)[S.i[:], S.j[:]] * b2.volt
    M = b2.StateMonitor(G, "v", record=True)
    spikes = b2.SpikeMonitor(G)
    b2.Network(G, src, S, M, spikes).run(T * b2.second)
    last = {"x": np.asarray(S.x[:]), "i": np.asarray(S.i[:])}
    if rule.tau_f is not None:
        last["u"] = np.asarray(S.u[:])
    return np.asarray(M.v_[:]).T, np.asarray(spikes.t_[:]), last


@pytest.mark.parametrize("rule", [DEPRESSING, FACILITATING], ids=["depressing", "facilitating"])
@pytest.mark.parametrize("backend,delay", [("numpy", 0.0), ("torch", 1e-3)])
def test_tsodyks_markram_matches_brian2(rule, backend, delay) -> None:
    data, v, sm, proj = run_ours(rule, delay, backend)
    v_b, t_b, last = run_brian2(rule, delay, data)
    assert np.abs(v - v_b).max() < 1e-9  # volts
    np.testing.assert_array_equal(sm.steps, np.round(t_b / DT).astype(int))
    # per-synapse state of Brian2 == our per-source state (all synapses of a source agree)
    np.testing.assert_allclose(proj.stdp.x.numpy()[last["i"]], last["x"], atol=1e-12)
    if "u" in last:
        np.testing.assert_allclose(proj.stdp.u.numpy()[last["i"]], last["u"], atol=1e-12)


def test_depression_and_facilitation_change_the_response_the_right_way() -> None:
    """A regular 50 Hz train: depressing releases shrink, facilitating releases grow."""
    times = np.arange(10) * 0.02 + 0.01
    releases = {}
    for name, rule in (("dep", DEPRESSING), ("fac", FACILITATING)):
        net = Network(dt=DT, dtype=torch.float64)
        inp = net.add(SpikeGeneratorGroup(1, np.zeros(10, dtype=int), times))
        g = net.add(LIFGroup(1, tau_m=20e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0,
                             channels={"I_syn": 1e-5}))
        net.connect(inp, g, "I_syn", all_to_all(), weight=1.0, plasticity=rule)
        mon = net.add(StateMonitor(g, "I_syn"))
        net.run(0.21)
        trace = mon["I_syn"][:, 0]
        releases[name] = trace[np.round(times / DT).astype(int) + 1]  # just after each spike
    assert np.all(np.diff(releases["dep"]) < 0)
    assert releases["fac"][3] > releases["fac"][0]


def test_bad_parameters_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="U must be in"):
        TsodyksMarkram(U=1.5, tau_d=0.1)
    with pytest.raises(ValueError, match="tau_f must be > 0"):
        TsodyksMarkram(U=0.5, tau_d=0.1, tau_f=0.0)
