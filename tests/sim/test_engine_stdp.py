"""Event STDP against hand-computed updates and a literal event-by-event reference.

Two neurons: a spike generator (pre) and a LIF neuron (post) forced to fire by a strong delta
synapse from a second generator (a drive spike at step n makes it fire at step n + 1). The
plastic synapse targets a channel with scale 0, so it never changes the post spike times.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuromorph.sim import (
    STDP,
    Channel,
    LIFGroup,
    Network,
    Projection,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    all_to_all,
    from_indices,
)

DT = 1e-4
TAU_PRE, TAU_POST, A_PRE, A_POST, W_MAX = 20e-3, 10e-3, 0.01, -0.012, 0.05
BACKENDS = ["numpy", "torch"]


def _pair_net(pre_steps, post_steps, w0, *, backend="numpy", delay=0.0, n_pre=1, **rule):
    net = Network(dt=DT, dtype=torch.float64, backend=backend)
    pre = net.add(SpikeGeneratorGroup(n_pre, [s[0] for s in pre_steps],
                                      [s[1] * DT for s in pre_steps]))
    drive = net.add(SpikeGeneratorGroup(1, [0] * len(post_steps),
                                        [(s - 1) * DT for s in post_steps]))
    post = net.add(LIFGroup(1, tau_m=1e9, v_rest=0.0, v_threshold=0.5, v_reset=0.0,
                            channels={"ge": Channel(5e-3, scale=0.0)}))
    net.add(Projection(drive, post, "v", all_to_all(), weight=1.0))
    kw = dict(tau_pre=TAU_PRE, tau_post=TAU_POST, a_pre=A_PRE, a_post=A_POST, w_max=W_MAX) | rule
    proj = net.add(Projection(pre, post, "ge", all_to_all(), weight=w0, delay=delay,
                              plasticity=STDP(**kw)))
    sm = net.add(SpikeMonitor(post))
    wmon = net.add(StateMonitor(proj, "w"))
    return net, proj, sm, wmon


def _reference(pre_steps, post_steps, w, pairing="all_to_all", bounds="additive",
               w_min=0.0, w_max=W_MAX):
    """Brian2's on_pre / on_post code, event by event (pre pathway first within a step)."""
    apre = apost = 0.0
    t_last = 0
    events = sorted({*pre_steps, *post_steps})
    for n in events:
        apre *= math.exp(-(n - t_last) * DT / TAU_PRE)
        apost *= math.exp(-(n - t_last) * DT / TAU_POST)
        t_last = n
        for is_pre in (True, False):
            if (is_pre and n not in pre_steps) or (not is_pre and n not in post_steps):
                continue
            if is_pre:
                apre = A_PRE if pairing == "nearest" else apre + A_PRE
                delta = apost
            else:
                apost = A_POST if pairing == "nearest" else apost + A_POST
                delta = apre
            if bounds == "multiplicative":
                delta *= (w_max - w) if delta > 0 else (w - w_min)
                delta /= w_max - w_min
            w = min(max(w + delta, w_min), w_max)
    return w


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_pair_is_the_textbook_update(backend):
    # pre at 10 ms, post at 15 ms: potentiation by a_pre exp(-5/20); then depression of a later
    # pre at 40 ms by a_post exp(-25/10)
    net, proj, sm, _ = _pair_net([(0, 100), (0, 400)], [150], 0.02, backend=backend)
    net.run(0.05)
    assert sm.steps.tolist() == [150]
    w_after_post = 0.02 + A_PRE * math.exp(-5e-3 / TAU_PRE)
    expected = w_after_post + A_POST * math.exp(-25e-3 / TAU_POST)
    assert proj.weights.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
@pytest.mark.parametrize("bounds", ["additive", "multiplicative"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_pairings_and_bounds_follow_the_event_reference(pairing, bounds, backend):
    pre = [50, 80, 90, 200, 205, 330, 331]
    post = [60, 95, 200, 210, 212, 330, 400]
    net, proj, sm, wmon = _pair_net([(0, s) for s in pre], post, 0.03, backend=backend,
                                    pairing=pairing, bounds=bounds)
    net.run(0.05)
    assert sm.steps.tolist() == post
    expected = _reference(set(pre), set(post), 0.03, pairing, bounds)
    assert proj.weights.item() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    w = wmon.w[:, 0]  # the weight changes only right after events
    changes = np.flatnonzero(np.diff(w)) + 1
    assert set(changes - 1) <= set(pre) | set(post)


def test_all_to_all_and_nearest_differ_by_hand():
    # two pre spikes, then a post spike: all-to-all pairs both, nearest only the last one
    pre, post = [100, 120], [150]
    d1, d2 = math.exp(-50 * DT / TAU_PRE), math.exp(-30 * DT / TAU_PRE)
    for pairing, expected in [("all_to_all", 0.02 + A_PRE * (d1 + d2)),
                              ("nearest", 0.02 + A_PRE * d2)]:
        net, proj, _, _ = _pair_net([(0, s) for s in pre], post, 0.02, pairing=pairing)
        net.run(0.02)
        assert proj.weights.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_additive_bounds_clip(backend):
    net, proj, _, _ = _pair_net([(0, 10), (1, 10)], [20], torch.tensor([0.049, 0.0005]),
                                backend=backend, n_pre=2, a_pre=0.02, a_post=-0.02)
    net.run(0.0025)  # post at 20 -> w0 hits w_max; then pre at 10 ... no more events
    expected = [W_MAX, 0.0005 + 0.02 * math.exp(-1e-3 / TAU_PRE)]
    assert proj.weights.tolist() == pytest.approx(expected)
    net2, proj2, _, _ = _pair_net([(0, 30)], [20], 0.001, backend=backend, a_post=-0.02)
    net2.run(0.004)
    assert proj2.weights.item() == 0.0  # clipped at w_min


@pytest.mark.parametrize("backend", BACKENDS)
def test_plastic_delay_runs_on_pre_at_arrival(backend):
    # Brian2 runs the whole on_pre at arrival: a pre spike at 100 with a 3 ms delay pairs with a
    # post spike at 110 as if it came at 130 (depression), not at 100 (potentiation)
    net, proj, _, _ = _pair_net([(0, 100)], [110], 0.02, backend=backend, delay=3e-3)
    net.run(0.02)
    expected = 0.02 + A_POST * math.exp(-20 * DT / TAU_POST)
    assert proj.weights.item() == pytest.approx(expected, rel=1e-12)


def test_traces_are_readable_and_decay_exactly():
    net, proj, _, _ = _pair_net([(0, 10)], [500], 0.02)
    net.run(0.01)  # 100 steps: the trace was bumped at step 10 and decayed 89 times since
    assert proj.stdp.apre.item() == pytest.approx(A_PRE * math.exp(-89 * DT / TAU_PRE), rel=1e-12)
    assert proj.stdp.apost.item() == 0.0


def test_plastic_projection_rejects_heterogeneous_delays():
    pre = SpikeGeneratorGroup(2, [], [])
    post = LIFGroup(1, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0, channels={"ge": 5e-3})
    rule = STDP(tau_pre=TAU_PRE, tau_post=TAU_POST, a_pre=A_PRE, a_post=A_POST, w_max=W_MAX)
    with pytest.raises(ValueError, match="one homogeneous delay"):
        Projection(pre, post, "ge", from_indices([0, 1], [0, 0]), weight=0.1,
                   delay=torch.tensor([1e-3, 2e-3]), plasticity=rule)
    with pytest.raises(ValueError, match="unknown pairing"):
        STDP(tau_pre=1e-2, tau_post=1e-2, a_pre=1, a_post=1, w_max=1, pairing="triplet")
