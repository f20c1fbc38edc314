"""Astrocyte-gated STDP on events: with a fixed gate it is the engine's pair STDP (itself
validated against Brian2) scaled by the gate; the branching astrocyte's estimate is the batch
regression of the binned population counts; NALSM's input-sensing astrocyte and the STDP it
gates equal a plain numpy loop of their equations on the same spike trains."""

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


# ---------------------------------------------------------------- NALSM's input-sensing astrocyte
def _input_net(rule, backend: str = "numpy", seed: int = 5):
    """``_net`` with monitors on the plastic projection's source and on the astrocyte's input
    group ``drive``."""
    net, proj, mon = _net(rule, backend, seed)
    mon_src = net.add(SpikeMonitor(net["src"]))
    mon_in = net.add(SpikeMonitor(net["drive"]))
    return net, proj, mon, mon_src, mon_in


def _reference_run(n_steps, pre_spikes, post_spikes, in_spikes, w0, rule):
    """A plain numpy loop of the module docstring: per step, traces decay, pre spikes depress
    by ``g_-``, post spikes potentiate by ``g_+``, then the astrocyte integrates this step's
    counts (``L``, ``I`` in Hz); returns the final weights ``[pre, post]`` and ``(t, L / I,
    g_-)`` at the end of every bin."""
    w = w0.copy()
    r, o = np.zeros(w.shape[0]), np.zeros(w.shape[1])
    d_plus, d_minus = np.exp(-DT / rule.tau_plus), np.exp(-DT / rule.tau_minus)
    d_astro = np.exp(-DT / rule.tau_astro)
    liq = inp = 0.0
    hist = []
    bin_steps = int(round(rule.bin_time / DT))
    for k in range(n_steps):
        g_minus = 1.0 + rule.w_astro * (liq - rule.input_weight * inp)
        r *= d_plus
        o *= d_minus
        for i in pre_spikes[k]:
            w[i] = np.clip(w[i] + g_minus * rule.a_minus * o, rule.w_min, rule.w_max)
            r[i] += 1.0
        for j in post_spikes[k]:
            w[:, j] = np.clip(w[:, j] + rule.a_plus * r, rule.w_min, rule.w_max)
            o[j] += 1.0
        liq = liq * d_astro + len(post_spikes[k]) / rule.tau_astro
        inp = inp * d_astro + len(in_spikes[k]) / rule.tau_astro
        if (k + 1) % bin_steps == 0:
            hist.append(((k + 1) * DT, liq / inp if inp > 0 else np.nan,
                         1.0 + rule.w_astro * (liq - rule.input_weight * inp)))
    return w, np.asarray(hist)


def _per_step(mon, n_steps):
    out = [[] for _ in range(n_steps)]
    for s, i in zip(mon.steps, mon.i, strict=True):
        out[int(s)].append(int(i))
    return out


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_input_astrocyte_and_its_stdp_match_a_numpy_loop(backend):
    rule = AstroSTDPRule(a_plus=A_PLUS, a_minus=A_MINUS, tau_plus=20e-3, tau_minus=10e-3,
                         w_max=W_MAX, sense="input", input_group="drive", tau_astro=30e-3,
                         w_astro=2e-3, input_weight=0.5, bin_time=1e-3)
    net, proj, mon, mon_src, mon_in = _input_net(rule, backend)
    n_steps = 3000
    net.run(n_steps * DT)
    w_ref, h_ref = _reference_run(n_steps, _per_step(mon_src, n_steps),
                                  _per_step(mon, n_steps), _per_step(mon_in, n_steps),
                                  np.full((20, 10), 0.02), rule)
    h = np.asarray(proj.stdp.astro.history)
    assert mon.num_spikes > 20 and len(h) == n_steps // 10
    np.testing.assert_allclose(h, h_ref, rtol=1e-9, equal_nan=True)
    assert np.ptp(h[:, 2]) > 0.5  # the depression factor really moved (both signs of A)
    assert h[:, 2].min() < 1.0 < h[:, 2].max()
    pre, post = proj.pre.long().numpy(), proj.post.long().numpy()
    np.testing.assert_allclose(proj.weights.double().numpy(), w_ref[pre, post], rtol=1e-9,
                               atol=1e-12)
    assert not np.allclose(w_ref, 0.02)


def test_input_astrocyte_depresses_a_liquid_louder_than_its_input_and_potentiates_a_quiet_one():
    """Same spikes at the start, three balance points: a liquid judged too loud for its input
    (``input_weight`` small, ``A > 0``) ends with weaker synapses than plain balanced STDP
    (``w_astro = 0``), one judged too quiet (``input_weight`` large, ``A < 0``) with
    stronger ones."""
    final = {}
    for name, k, w_astro in (("loud", 0.05, 5e-3), ("plain", 1.0, 0.0), ("quiet", 20.0, 5e-3)):
        rule = AstroSTDPRule(a_plus=A_PLUS, a_minus=A_MINUS, w_max=W_MAX, sense="input",
                             input_group="drive", tau_astro=20e-3, w_astro=w_astro,
                             input_weight=k)
        net, proj, mon, _, _ = _input_net(rule)
        net.run(0.3)
        h = np.asarray(proj.stdp.astro.history)
        late = h[len(h) // 2:, 2]
        if name == "loud":
            assert np.all(late > 1.0)
        if name == "quiet":
            assert np.all(late < 0.0)  # depression turned into potentiation
        final[name] = float(proj.weights.mean())
    assert final["loud"] < final["plain"] < final["quiet"]


def test_input_sense_needs_an_input_group():
    with pytest.raises(ValueError, match="input_group"):
        AstroSTDPRule(sense="input")
    with pytest.raises(ValueError, match="unknown sense"):
        AstroSTDPRule(sense="liquid")
