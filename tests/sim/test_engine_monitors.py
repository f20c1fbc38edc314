"""Monitors (chunked recording to the host), inputs and network-level errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim import (
    LIFGroup,
    Network,
    PoissonGroup,
    PopulationRateMonitor,
    Projection,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    all_to_all,
)

DT = 1e-4
BACKENDS = ["numpy", "torch"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_spike_generator_monitors_and_subgroups(backend):
    idx = [0, 3, 1, 3, 4, 0]
    times = np.array([0, 0, 2, 5, 5, 9]) * DT + 3e-8  # within Brian2's 1e-3 dt shift of a step
    net = Network(dt=DT, backend=backend)
    src = net.add(SpikeGeneratorGroup(5, idx, times))
    sm = net.add(SpikeMonitor(src))
    sub = net.add(SpikeMonitor(src[3:]))
    rate = net.add(PopulationRateMonitor(src[:2]))
    net.run(12 * DT)
    assert sm.steps.tolist() == [0, 0, 2, 5, 5, 9] and sm.i.tolist() == [0, 3, 1, 3, 4, 0]
    np.testing.assert_allclose(sm.t, sm.steps * DT)
    assert sub.i.tolist() == [0, 0, 1] and sub.steps.tolist() == [0, 5, 5]
    assert sm.count.tolist() == [2, 1, 0, 2, 1]
    expected = np.zeros(12)
    expected[[0, 2, 9]] = 1 / (2 * DT)
    np.testing.assert_allclose(rate.rate, expected)
    np.testing.assert_allclose(rate.t, np.arange(12) * DT)
    assert list(sm.spike_trains()[3]) == pytest.approx([0.0, 5 * DT])


def test_two_spikes_in_one_step_are_an_error():
    net = Network(dt=DT)
    net.add(SpikeGeneratorGroup(2, [1, 1], [1.0e-4, 1.5e-4]))
    with pytest.raises(ValueError, match="neuron 1 has two spikes in step 1"):
        net.run(DT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_monitor_every_k_steps_and_chunks(backend):
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    g = net.add(LIFGroup(4, tau_m=10e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0))
    g.set("v", torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64))
    mon = net.add(StateMonitor(g, "v", record=[3, 1], every=3))
    net.build()
    mon.chunk = 4  # force several flushes to the host
    net.run(0.003)  # 30 steps: samples at steps 0, 3, ..., 27
    steps = np.arange(0, 30, 3)
    np.testing.assert_allclose(mon.t, steps * DT)
    decay = np.exp(-steps * DT / 10e-3)[:, None]
    np.testing.assert_allclose(mon.v, decay * np.array([0.4, 0.2]), rtol=1e-12)
    with pytest.raises(KeyError, match="was not recorded"):
        mon["u"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_poisson_rate_and_reproducibility(backend):
    def counts(seed):
        net = Network(dt=DT, seed=seed, backend=backend)
        p = net.add(PoissonGroup(200, torch.linspace(0.0, 100.0, 200)))
        sm = net.add(SpikeMonitor(p))
        net.run(0.5)
        return sm.count, sm.i
    c1, i1 = counts(0)
    c2, i2 = counts(0)
    assert np.array_equal(i1, i2)
    assert c1[0] == 0  # rate 0
    rates = np.linspace(0.0, 100.0, 200)
    expected = rates * 0.5
    z = (c1.sum() - expected.sum()) / np.sqrt(expected.sum())
    assert abs(z) < 4
    slope = np.polyfit(rates, c1, 1)[0]
    assert abs(slope - 0.5) < 0.05
    assert not np.array_equal(counts(1)[1], i1)


def test_poisson_dense_rates_use_the_other_sampler():
    net = Network(dt=DT, seed=0)
    p = net.add(PoissonGroup(50, 4000.0))  # p = 0.4 per step
    sm = net.add(SpikeMonitor(p))
    net.run(0.1)
    assert abs(sm.num_spikes / (50 * 1000) - 0.4) < 0.02


def test_progress_bar_and_network_errors(capsys):
    net = Network(dt=DT)
    g = LIFGroup(2, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0)
    net.add(SpikeMonitor(g))
    with pytest.raises(ValueError, match="not in the network"):
        net.run(DT)
    net2 = Network(dt=DT)
    net2.add(LIFGroup(2, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0, name="a"))
    with pytest.raises(ValueError, match="two objects are named 'a'"):
        net2.add(LIFGroup(2, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0, name="a"))
    net2.run(0.01, progress=True)
    assert net2.step == 100 and net2.t == pytest.approx(0.01)
    assert "s(bio)" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="before the first run"):
        net2.add(LIFGroup(1, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0))
    with pytest.raises(ValueError, match="unknown backend"):
        Network(backend="fortran")
    with pytest.raises(KeyError, match="no object named"):
        net2["zzz"]


def test_weights_set_between_runs_take_effect():
    net = Network(dt=DT, dtype=torch.float64)
    src = net.add(SpikeGeneratorGroup(1, [0, 0], [1 * DT, 20 * DT]))
    tgt = net.add(LIFGroup(1, tau_m=1e9, v_rest=0, v_threshold=1e9, v_reset=0))
    a = net.add(Projection(src, tgt, "v", all_to_all(), weight=1.0))
    b = net.add(Projection(src, tgt, "v", all_to_all(), weight=1.0))  # fused with a
    net.run(10 * DT)
    a.weights[:] = 5.0
    net.run(20 * DT)
    assert tgt.v.item() == pytest.approx(2.0 + 6.0, abs=1e-9)
    assert b.weights.item() == 1.0
