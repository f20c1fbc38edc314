"""Adaptive thresholds and integration during refractoriness against hand-written Brian2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

b2 = pytest.importorskip("brian2")

from neuromorph.sim import (  # noqa: E402
    AdaptiveLIFGroup,
    LIFGroup,
    Network,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    all_to_all,
)
from neuromorph.sim.brian2_bridge import poisson_spike_times, set_target  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DT = 1e-4
T = 0.5
N_IN, N_POST = 30, 4


def drive(seed: int):
    idx, times = poisson_spike_times(N_IN, 50.0, T, DT, seed=seed)
    w = np.random.default_rng(seed + 1).random(N_IN * N_POST) * 4e-3
    return idx, times, w


def brian2_run(eqs: str, threshold: str, reset: str, refractory: float, data, init: dict,
               target: str, record: list[str]):
    idx, times, w = data
    set_target("numpy")
    dtq = DT * b2.second
    G = b2.NeuronGroup(N_POST, eqs, threshold=threshold, reset=reset,
                       refractory=refractory * b2.second, method="exact", dt=dtq)
    for k, val in init.items():
        setattr(G, k, val * b2.volt)
    src = b2.SpikeGeneratorGroup(N_IN, idx, times * b2.second, dt=dtq)
    S = b2.Synapses(src, G, "w : volt", on_pre=f"{target}_post += w", dt=dtq)
    S.connect()
    S.w[:] = w.reshape(N_IN, N_POST)[S.i[:], S.j[:]] * b2.volt
    M = b2.StateMonitor(G, record, record=True)
    spikes = b2.SpikeMonitor(G)
    b2.Network(G, src, S, M, spikes).run(T * b2.second)
    return {k: np.asarray(getattr(M, k + "_")[:]).T for k in record}, spikes


def test_adaptive_threshold_matches_brian2_spike_for_spike() -> None:
    data = drive(5)
    net = Network(dt=DT, dtype=torch.float64)
    inp = net.add(SpikeGeneratorGroup(N_IN, data[0], data[1]))
    g = net.add(AdaptiveLIFGroup(N_POST, tau_m=10e-3, v_rest=0.0, v_threshold=10e-3,
                                 v_reset=0.0, tau_threshold=15e-3, threshold_jump=3e-3,
                                 refractory=1e-3, channels={"ge": 3e-3}))
    net.connect(inp, g, "ge", all_to_all(), weight=torch.tensor(data[2]))
    vm = net.add(StateMonitor(g, ("v", "v_th")))
    sm = net.add(SpikeMonitor(g))
    net.run(T)
    eqs = """dv/dt = (ge - v) / (10*ms) : volt (unless refractory)
             dvt/dt = (10*mV - vt) / (15*ms) : volt
             dge/dt = -ge / (3*ms) : volt"""
    ref, spikes = brian2_run(eqs, "v > vt", "v = 0*mV\nvt += 3*mV", 1e-3, data,
                             {"vt": 10e-3}, "ge", ["v", "vt"])
    assert sm.num_spikes >= 20
    np.testing.assert_array_equal(sm.i, np.asarray(spikes.i[:]))
    np.testing.assert_array_equal(sm.steps, np.round(np.asarray(spikes.t_[:]) / DT).astype(int))
    assert np.abs(vm["v"] - ref["v"]).max() < 1e-9
    assert np.abs(vm["v_th"] - ref["vt"]).max() < 1e-9
    assert vm["v_th"].max() > 13e-3  # the threshold did adapt


@pytest.mark.parametrize("target", ["v", "ge"])
def test_integration_during_refractoriness_matches_brian2(target: str) -> None:
    """Without ``(unless refractory)``, v (and delta input onto v) moves while refractory."""
    data = drive(7)
    net = Network(dt=DT, dtype=torch.float64)
    inp = net.add(SpikeGeneratorGroup(N_IN, data[0], data[1]))
    g = net.add(LIFGroup(N_POST, tau_m=10e-3, v_rest=-50e-3, v_threshold=-52e-3,
                         v_reset=-70e-3, refractory=5e-3, channels={"ge": 3e-3},
                         integrate_refractory=True))
    net.connect(inp, g, target, all_to_all(), weight=torch.tensor(data[2]))
    vm = net.add(StateMonitor(g, "v"))
    sm = net.add(SpikeMonitor(g))
    net.run(T)
    eqs = """dv/dt = (-50*mV - v + ge) / (10*ms) : volt
             dge/dt = -ge / (3*ms) : volt"""
    ref, spikes = brian2_run(eqs, "v > -52*mV", "v = -70*mV", 5e-3, data, {"v": -50e-3},
                             target, ["v"])
    assert sm.num_spikes >= 40
    np.testing.assert_array_equal(sm.steps, np.round(np.asarray(spikes.t_[:]) / DT).astype(int))
    assert np.abs(vm["v"] - ref["v"]).max() < 1e-9
    # and it differs from the clamped model: v rises during refractoriness
    steps = sm.steps[sm.i == 0]
    assert vm["v"][steps[0] + 20, 0] > -70e-3 + 1e-3


def test_adaptive_group_rejects_bad_tau() -> None:
    with pytest.raises(ValueError, match="tau_threshold must be > 0"):
        AdaptiveLIFGroup(2, tau_m=1e-2, v_rest=0.0, v_threshold=1e-2, v_reset=0.0,
                         tau_threshold=0.0, threshold_jump=1e-3)
