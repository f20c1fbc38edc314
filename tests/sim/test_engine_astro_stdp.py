"""Astrocyte-gated STDP on events: with a fixed gate it is the engine's pair STDP (itself
validated against Brian2) scaled by the gate; its astrocyte's branching-ratio estimate is the
batch regression of the binned population counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.learning_rules.plasticity.homeostasis import branching_ratio
from neuromorph.sim import (
    STDP,
    Channel,
    LIFGroup,
    Network,
    PoissonGroup,
    Projection,
    SpikeMonitor,
    all_to_all,
    fixed_probability,
)
from neuromorph.sim.plasticity_astro import AstroSTDPRule

DT = 1e-4
A_PLUS, A_MINUS, W_MAX = 4e-3, -5e-3, 0.05


def _net(rule, backend: str, seed: int = 3):
    net = Network(dt=DT, dtype=torch.float64, backend=backend, seed=seed)
    src = net.add(PoissonGroup(20, 40.0, name="src"))
    post = net.add(LIFGroup(10, tau_m=10e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0,
                            channels={"ge": Channel(5e-3)}, name="post"))
    drive = net.add(PoissonGroup(10, 30.0, name="drive", stream="drive"))
    net.add(Projection(drive, post, "v", fixed_probability(0.5), weight=0.6,
                       generator=net.generator("connect")))
    proj = net.add(Projection(src, post, "ge", all_to_all(), weight=0.02, plasticity=rule))
    mon = net.add(SpikeMonitor(post))
    return net, proj, mon


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("gate", [1.0, -0.5])
def test_fixed_gate_is_pair_stdp_scaled_by_the_gate(backend, gate):
    astro = AstroSTDPRule(a_plus=A_PLUS, a_minus=A_MINUS, tau_plus=20e-3, tau_minus=10e-3,
                          w_max=W_MAX, fixed_gate=gate)
    pair = STDP(tau_pre=20e-3, tau_post=10e-3, a_pre=gate * A_PLUS, a_post=gate * A_MINUS,
                w_max=W_MAX)
    net_a, proj_a, mon_a = _net(astro, backend)
    net_b, proj_b, mon_b = _net(pair, backend)
    net_a.run(0.3)
    net_b.run(0.3)
    assert mon_a.num_spikes > 20
    np.testing.assert_array_equal(mon_a.steps, mon_b.steps)
    w0 = torch.full_like(proj_a.weights, 0.02)
    assert not torch.allclose(proj_a.weights, w0)  # plasticity acted
    torch.testing.assert_close(proj_a.weights, proj_b.weights, rtol=1e-12, atol=1e-14)


def test_astrocyte_estimate_is_the_regression_of_binned_counts():
    rule = AstroSTDPRule(a_plus=A_PLUS, a_minus=A_MINUS, w_max=W_MAX, bin_time=2e-3,
                         tau_astro=1e9, gain=0.0, warmup_bins=2)
    net, proj, mon = _net(rule, "numpy")
    net.run(0.4)
    astro = proj.stdp.astro
    bs = 20  # steps per 2 ms bin
    n_bins = astro.bins
    assert n_bins == 200
    counts = np.bincount(mon.steps // bs, minlength=n_bins)[:n_bins]
    expected = branching_ratio(torch.as_tensor(counts))
    assert astro.sigma == pytest.approx(expected, rel=1e-6)
    # gain 0: the gate stays closed, the weights never move
    assert torch.all(proj.weights == 0.02)


def test_gate_follows_the_branching_error_and_opens_after_warmup():
    rule = AstroSTDPRule(a_plus=A_PLUS, a_minus=A_MINUS, w_max=W_MAX, bin_time=2e-3,
                         tau_astro=0.05, gain=3.0, target=1.0, warmup_bins=10)
    net, proj, _ = _net(rule, "numpy")
    net.run(0.3)
    h = np.asarray(proj.stdp.astro.history)
    assert np.all(h[:9, 2] == 0.0)
    ok = h[9:][np.isfinite(h[9:, 1])]
    assert len(ok) > 100
    np.testing.assert_allclose(ok[:, 2], np.clip(3.0 * (1.0 - ok[:, 1]), -1, 1), rtol=1e-12)


def test_bad_parameters_raise_one_clear_error():
    with pytest.raises(ValueError, match="target branching ratio"):
        AstroSTDPRule(target=0.0)
    with pytest.raises(ValueError, match="fixed_gate"):
        AstroSTDPRule(fixed_gate=2.0)
    with pytest.raises(ValueError, match="w_max > w_min"):
        AstroSTDPRule(w_min=1.0, w_max=0.5)
