"""Homeostasis: adaptive thresholds, synaptic scaling, weight normalisation, the branching-ratio
estimator and the astrocyte-modulated STDP that steers a recurrent network to criticality."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.learning_rules.plasticity import (
    AdaptiveThreshold,
    AstrocyteModulation,
    SynapticScaling,
    WeightNormalization,
    branching_ratio,
)

D = torch.float64


# ------------------------------------------------------------------ adaptive threshold
def test_adaptive_threshold_step_hand_computed_and_window_closed_form():
    at = AdaptiveThreshold(theta_plus=0.5, tau_theta=10e-3, dt=1e-3, theta_rest=1.0)
    d = math.exp(-0.1)
    theta = at.step(torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=D), torch.tensor([2.0, 3.0],
                                                                                  dtype=D))
    assert torch.allclose(theta, torch.tensor([1 + d * 1.0 + 1.0, 1 + d * 2.0], dtype=D))
    spikes = (torch.rand(50, 3, 2, generator=torch.Generator().manual_seed(0)) < 0.2).to(D)
    th = torch.tensor([1.5, 0.5], dtype=D)
    loop = th.clone()
    for t in range(50):
        loop = at.step(spikes[t], loop)
    assert torch.allclose(at.update(spikes, th), loop, atol=1e-12)


def test_adaptive_threshold_converges_to_the_homeostatic_rate():
    """A unit fires when its drive exceeds theta: the rate settles where spike-triggered
    increments balance the decay, r = (I - theta_rest) / (theta_plus tau_theta)."""
    dt, tau, plus, drive = 1e-3, 0.5, 0.05, 1.0
    at = AdaptiveThreshold(theta_plus=plus, tau_theta=tau, dt=dt)
    theta, spikes = torch.zeros(1, dtype=D), 0
    for t in range(40000):
        s = (torch.tensor([drive], dtype=D) > theta).to(D)
        theta = at.step(s[None], theta)
        spikes += int(s.sum()) if t >= 20000 else 0
    rate = spikes / (20000 * dt)
    assert rate == pytest.approx(drive / (plus * tau), rel=0.05)


# ------------------------------------------------------------------ scaling, normalisation
def test_synaptic_scaling_hand_computed():
    w = torch.tensor([[1.0, 2.0], [0.5, 0.5]], dtype=D)
    post = torch.tensor([[2.0, 6.0], [4.0, 2.0]], dtype=D)  # mean rates 3 and 4
    dw, rbar = SynapticScaling(target=4.0, lr=0.1).update(torch.zeros(2, 2, dtype=D), post, w)
    assert torch.allclose(rbar, torch.tensor([3.0, 4.0], dtype=D))
    assert torch.allclose(dw, torch.tensor([[0.025, 0.05], [0.0, 0.0]], dtype=D))


def test_synaptic_scaling_spike_rate_in_hz():
    post = torch.zeros(100, 1, 1, dtype=D)
    post[::10] = 1.0  # 10 spikes in 100 ms = 100 Hz
    rule = SynapticScaling(target=50.0, lr=1.0, dt=1e-3)
    dw, rbar = rule.update(torch.zeros(100, 1, 1, dtype=D), post, torch.ones(1, 1, dtype=D))
    assert float(rbar) == pytest.approx(100.0) and float(dw) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="dt="):
        SynapticScaling(target=5.0).update(torch.zeros(3, 1, 1), torch.zeros(3, 1, 1),
                                           torch.ones(1, 1))


def test_synaptic_scaling_converges_to_the_target_rate():
    g = torch.Generator().manual_seed(0)
    w = torch.rand(5, 20, generator=g, dtype=D) * 0.3
    rule, rbar = SynapticScaling(target=2.0, lr=0.05, tau_avg=2.0), None
    for _ in range(400):
        x = torch.rand(16, 20, generator=g, dtype=D)
        y = torch.relu(x @ w.T)
        dw, rbar = rule.update(x, y, w, state=rbar)
        w = w + dw
    x = torch.rand(4000, 20, generator=g, dtype=D)
    rates = torch.relu(x @ w.T).mean(0)
    assert torch.allclose(rates, torch.full((5,), 2.0, dtype=D), rtol=0.03)


def test_weight_normalization_hand_computed_and_idempotent():
    w = torch.tensor([[1.0, -3.0], [0.0, 0.0]], dtype=D)
    rule = WeightNormalization(total=2.0, norm="l1")
    dw, _ = rule.update(None, None, w)
    assert torch.allclose(w + dw, torch.tensor([[0.5, -1.5], [0.0, 0.0]], dtype=D))
    again, _ = rule.update(None, None, w + dw)
    assert torch.allclose(again, torch.zeros(2, 2, dtype=D))
    unit = WeightNormalization(norm="l2").normalize(torch.tensor([[3.0, 4.0]], dtype=D))
    assert torch.allclose(unit, torch.tensor([[0.6, 0.8]], dtype=D))
    with pytest.raises(ValueError, match="unknown norm"):
        WeightNormalization(norm="max")


# ------------------------------------------------------------------ branching ratio
def test_branching_ratio_is_the_regression_slope():
    n = [1.0]
    for _ in range(30):
        n.append(0.5 * n[-1] + 3.0)  # driven: the slope, not the ratio n(t+1)/n(t)
    n = torch.tensor(n) + torch.tensor([0.0, 0.3] * 15 + [0.0])
    a, b = n[:-1], n[1:]
    slope = float(((a - a.mean()) * (b - b.mean())).sum() / ((a - a.mean()) ** 2).sum())
    assert branching_ratio(n) == pytest.approx(slope)
    assert branching_ratio(torch.full((10,), 3.0)) == 0.0
    assert AstrocyteModulation.sensed_branching(10.0, 100.0) == pytest.approx(0.9)
    assert AstrocyteModulation.sensed_branching(10.0, 0.0) == 0.0


def test_astrocyte_update_hand_computed():
    pre = torch.zeros(5, 1, 1, dtype=D)
    pre[1] = 1.0
    post = torch.zeros(5, 1, 1, dtype=D)
    post[3] = 1.0  # pre 2 steps before post: causal
    rule = AstrocyteModulation(dt=1e-3, target=0.9, tau_plus=10e-3, tau_astro=2.0, lr=0.1)
    dw, st = rule.update(pre, post, torch.zeros(1, 1, dtype=D), modulator=torch.tensor(0.5))
    assert st.branching == pytest.approx(0.5)  # 1 - 0.5 / 1
    assert st.astro == pytest.approx((0.9 - 0.5) / 2)
    assert float(dw) == pytest.approx(0.1 * 0.2 * math.exp(-2e-3 / 10e-3))


def _branching_network(sigma0: float, windows: int, seed: int = 0):
    """Binary stochastic units: unit j fires at t+1 with prob 1 - (1-h) prod_i (1 - W_ji s_i),
    i.e. a driven branching process with branching ratio ~ mean column sum of W."""
    N, p, h, T, B = 40, 0.3, 0.006, 200, 8
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(N, N, generator=g) < p).to(D)
    mask.fill_diagonal_(0)
    w = mask * sigma0 / (N * p)
    rule = AstrocyteModulation(dt=1e-3, target=0.9, lr=0.15, tau_astro=2.0, w_max=0.3)
    state, s, sensed = None, torch.zeros(B, N, dtype=D), []
    for _ in range(windows):
        log_keep = torch.log1p(-w).T
        u = torch.rand(T, 2, B, N, generator=g, dtype=D)
        spikes, inputs = [], []
        for t in range(T):
            ext = u[t, 0] < h
            s = (ext | (u[t, 1] < -torch.expm1(s @ log_keep))).to(D)
            spikes.append(s)
            inputs.append(ext)
        sp = torch.stack(spikes)
        dw, state = rule.update(sp, sp, w, modulator=torch.stack(inputs).to(D), state=state)
        w = ((w + dw) * mask).clamp(*rule.bounds)
        sensed.append((state.branching, state.regression))
    return torch.tensor(sensed, dtype=D), w


@pytest.mark.parametrize("sigma0", [0.5, 1.3])
def test_astrocyte_steers_the_network_to_the_target_branching_ratio(sigma0):
    sensed, w = _branching_network(sigma0, windows=28)
    assert abs(float(sensed[0, 0]) - 0.9) > 0.08  # starts away from the target
    assert float(sensed[-6:, 0].mean()) == pytest.approx(0.9, abs=0.04)
    assert float(sensed[-6:, 1].mean()) == pytest.approx(0.9, abs=0.1)  # the regression agrees
    assert float(w.sum(0).mean()) == pytest.approx(0.95, abs=0.1)  # structural branching
