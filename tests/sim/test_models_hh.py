"""Hodgkin-Huxley (Traub-Miles) neurons with COBA synapses against hand-written Brian2 (COBAHH).

The Brian2 side is Brian2's own COBAHH example (Brette et al. 2007, benchmark 3), written out
here with Brian2 units; our side is :class:`HHGroup`. Deterministic runs (pre-drawn input
spikes, float64) must agree spike for spike; the chaotic 4000-neuron network is compared
statistically (rates and ISI CV), started from the same connectivity and initial state.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

b2 = pytest.importorskip("brian2")

from neuromorph.sim import (  # noqa: E402
    HHGroup,
    Network,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    all_to_all,
    fixed_probability,
)
from neuromorph.sim.brian2_bridge import poisson_spike_times, set_target  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DT = 1e-4
F64 = torch.float64

COBAHH_EQS = """
dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-g_na*(m*m*m)*h*(v-ENa)-g_kd*(n*n*n*n)*(v-EK))/Cm : volt
dm/dt = alpha_m*(1-m)-beta_m*m : 1
dn/dt = alpha_n*(1-n)-beta_n*n : 1
dh/dt = alpha_h*(1-h)-beta_h*h : 1
dge/dt = -ge*(1./taue) : siemens
dgi/dt = -gi*(1./taui) : siemens
alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
"""


def cobahh_namespace() -> dict:
    """The parameters of Brian2's COBAHH example, in Brian2 units."""
    area = 20000 * b2.umetre**2
    ms, mV = b2.ms, b2.mV
    return {"Cm": 1 * b2.ufarad * b2.cm**-2 * area, "gl": 5e-5 * b2.siemens * b2.cm**-2 * area,
            "El": -60 * mV, "EK": -90 * mV, "ENa": 50 * mV,
            "g_na": 100 * b2.msiemens * b2.cm**-2 * area,
            "g_kd": 30 * b2.msiemens * b2.cm**-2 * area, "VT": -63 * mV, "taue": 5 * ms,
            "taui": 10 * ms, "Ee": 0 * mV, "Ei": -80 * mV}


def brian2_hh_group(n: int):
    set_target("numpy")
    return b2.NeuronGroup(n, COBAHH_EQS, threshold="v > -20*mV", refractory=3 * b2.ms,
                          method="exponential_euler", namespace=cobahh_namespace(),
                          dt=DT * b2.second)


def test_driven_hh_neurons_match_brian2_spike_for_spike() -> None:
    n_in, n_post, T = 50, 3, 0.3
    idx, times = poisson_spike_times(n_in, 40.0, T, DT, seed=1)
    w = np.random.default_rng(2).random((n_in, n_post)) * 30e-9  # siemens
    pre, post = np.nonzero(np.ones((n_in, n_post)))
    net = Network(dt=DT, dtype=F64)
    inp = net.add(SpikeGeneratorGroup(n_in, idx, times))
    g = net.add(HHGroup(n_post, name="g"))
    net.connect(inp[:40], g, "ge", all_to_all(), weight=torch.tensor(w[:40].ravel()))
    net.connect(inp[40:], g, "gi", all_to_all(), weight=torch.tensor(w[40:].ravel()))
    vm = net.add(StateMonitor(g, ("v", "m", "n")))
    sm = net.add(SpikeMonitor(g))
    net.run(T)

    G = brian2_hh_group(n_post)
    G.v = -60 * b2.mV
    src = b2.SpikeGeneratorGroup(n_in, idx, times * b2.second, dt=DT * b2.second)
    syn = {}
    for var, cond in (("ge", "i < 40"), ("gi", "i >= 40")):
        S = b2.Synapses(src, G, "w : siemens", on_pre=f"{var}_post += w", dt=DT * b2.second)
        S.connect(cond)
        S.w[:] = w[S.i[:], S.j[:]] * b2.siemens
        syn[var] = S
    M = b2.StateMonitor(G, ["v", "m", "n"], record=True)
    spikes = b2.SpikeMonitor(G)
    b2.Network(G, src, *syn.values(), M, spikes).run(T * b2.second)

    assert sm.num_spikes >= 20, "the input must make the neurons fire"
    np.testing.assert_array_equal(sm.i, np.asarray(spikes.i[:]))
    np.testing.assert_array_equal(sm.steps, np.round(np.asarray(spikes.t_[:]) / DT).astype(int))
    assert np.abs(vm["v"] - np.asarray(M.v_[:]).T).max() < 1e-9  # volts
    assert np.abs(vm["n"] - np.asarray(M.n[:]).T).max() < 1e-9


def isi_cv(i: np.ndarray, t: np.ndarray) -> float:
    """Mean ISI CV over neurons with >= 3 spikes."""
    cvs = []
    for k in np.unique(i):
        isi = np.diff(np.sort(t[i == k]))
        if isi.size >= 2:
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs))


def run_cobahh_pair(seed: int, T: float, n: int = 4000) -> tuple[tuple, tuple]:
    """COBAHH in both simulators from one connectivity and initial state: (rate, CV) each."""
    n_e = int(0.8 * n)
    rng = np.random.default_rng(seed)
    v0 = -60e-3 + (rng.standard_normal(n) * 5 - 5) * 1e-3
    ge0 = (rng.standard_normal(n) * 1.5 + 4) * 10e-9
    gi0 = (rng.standard_normal(n) * 12 + 20) * 10e-9
    net = Network(dt=DT, dtype=F64, seed=seed)
    P = net.add(HHGroup(n, name="P"))
    for var, val in (("v", v0), ("ge", ge0), ("gi", gi0)):
        P.set(var, torch.tensor(val))
    ce = net.connect(P[:n_e], P, "ge", fixed_probability(0.02), weight=6e-9)
    ci = net.connect(P[n_e:], P, "gi", fixed_probability(0.02), weight=67e-9)
    sm = net.add(SpikeMonitor(P))
    net.run(T)
    ours = (sm.num_spikes / (n * T), isi_cv(sm.i, sm.t))

    G = brian2_hh_group(n)
    G.v, G.ge, G.gi = v0 * b2.volt, ge0 * b2.siemens, gi0 * b2.siemens
    Ce = b2.Synapses(G, G, on_pre="ge += we", namespace={"we": 6 * b2.nS}, dt=DT * b2.second)
    Ci = b2.Synapses(G, G, on_pre="gi += wi", namespace={"wi": 67 * b2.nS}, dt=DT * b2.second)
    Ce.connect(i=ce.pre.numpy(), j=ce.post.numpy())
    Ci.connect(i=ci.pre.numpy() + n_e, j=ci.post.numpy())
    spikes = b2.SpikeMonitor(G)
    b2.Network(G, Ce, Ci, spikes).run(T * b2.second)
    i, t = np.asarray(spikes.i[:]), np.asarray(spikes.t_[:])
    theirs = (i.size / (n * T), isi_cv(i, t))
    return ours, theirs


def test_cobahh_network_rate_and_cv_match_brian2_short() -> None:
    (r, cv), (r_b, cv_b) = run_cobahh_pair(seed=0, T=0.15)
    assert r > 5.0, f"COBAHH must be active, got {r:.2f} Hz"
    assert abs(r / r_b - 1) < 0.05, f"rate ours {r:.3f} Hz vs Brian2 {r_b:.3f} Hz"
    assert abs(cv / cv_b - 1) < 0.05, f"ISI CV ours {cv:.3f} vs Brian2 {cv_b:.3f}"


@pytest.mark.slow
def test_cobahh_network_rate_and_cv_match_brian2_over_seeds() -> None:
    pairs = [run_cobahh_pair(seed=s, T=1.0) for s in range(3)]
    for s, (ours, theirs) in enumerate(pairs):  # the figures, shown with pytest -s
        print(f"seed {s}: rate {ours[0]:.3f} / {theirs[0]:.3f} Hz, "
              f"ISI CV {ours[1]:.4f} / {theirs[1]:.4f} (ours / Brian2)")
    r, cv = np.mean([p[0] for p in pairs], axis=0)
    r_b, cv_b = np.mean([p[1] for p in pairs], axis=0)
    assert abs(r / r_b - 1) < 0.05, f"rate ours {r:.3f} Hz vs Brian2 {r_b:.3f} Hz"
    assert abs(cv / cv_b - 1) < 0.05, f"ISI CV ours {cv:.3f} vs Brian2 {cv_b:.3f}"


def test_hh_group_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="c_m must be > 0"):
        HHGroup(2, c_m=0.0)
    from neuromorph.sim import Channel

    with pytest.raises(ValueError, match="needs e_rev"):
        HHGroup(2, channels={"ge": Channel(5e-3)})
