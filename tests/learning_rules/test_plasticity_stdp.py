"""Spike rules: traces, pair STDP against the event-driven engine, triplet STDP against a literal
event-by-event reference and hand-computed pairings, reward-modulated STDP, neuromodulated Hebb."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neuromorph.learning_rules.plasticity import (
    NeuromodulatedHebb,
    PairSTDP,
    RewardSTDP,
    TripletParams,
    TripletSTDP,
)
from neuromorph.learning_rules.plasticity.traces import before, reverse_filter, spike_trace
from neuromorph.sim import (
    STDP,
    Channel,
    LIFGroup,
    Network,
    Projection,
    RewardSTDPRule,
    SpikeGeneratorGroup,
    TripletSTDPRule,
    from_indices,
)
from neuromorph.sim import all_to_all as connect_all

D = torch.float64
DT = 1e-4


def trains(T: int, n: int, p: float, seed: int, b: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, b, n, generator=g, dtype=D) < p).to(D)


# ------------------------------------------------------------------ traces
@pytest.mark.parametrize("nearest", [False, True])
def test_spike_trace_matches_the_step_loop(nearest):
    s = trains(5000, 3, 0.02, 0, b=2)
    d, a = math.exp(-DT / 7e-3), 0.7
    x0 = torch.tensor([[0.3, 0.0, 1.0], [0.0, 2.0, 0.1]], dtype=D)
    ref, x = [], x0.clone()
    for k in range(len(s)):
        x = torch.where(s[k] > 0, a, d * x) if nearest else d * x + a * s[k]
        ref.append(x)
    ref = torch.stack(ref)
    got = spike_trace(s, d, a, nearest, x0)
    assert torch.allclose(got, ref, rtol=1e-12, atol=1e-15)
    assert torch.allclose(before(got, d, x0)[1:], d * ref[:-1])


def test_reverse_filter_matches_the_definition():
    g = torch.Generator().manual_seed(1)
    m = torch.randn(300, 2, generator=g, dtype=D)
    d = 0.97
    ref = torch.stack([sum(d ** (t - s) * m[t] for t in range(s, 300)) for s in range(300)])
    assert torch.allclose(reverse_filter(m, d), ref, atol=1e-10)


# ------------------------------------------------------------------ pair STDP
def _engine_net(pre: torch.Tensor, post: torch.Tensor, w0: float, rule: object,
                backend: str = "numpy") -> tuple[Network, Projection]:
    """The event-driven engine on the same spike trains (every post neuron forced by its own
    drive one step early; the plastic synapses feed a channel that changes nothing).
    ``backend="cuda"``: the torch backend on the GPU."""
    n_pre, n_post = pre.shape[2], post.shape[2]
    ps = pre[:, 0].nonzero().tolist()
    qs = post[:, 0].nonzero().tolist()
    device = "cuda" if backend == "cuda" else "cpu"
    net = Network(dt=DT, dtype=D, backend="torch" if backend == "cuda" else backend,
                  device=device)
    src = net.add(SpikeGeneratorGroup(n_pre, [i for _, i in ps], [k * DT for k, _ in ps]))
    drive = net.add(SpikeGeneratorGroup(n_post, [j for _, j in qs], [(k - 1) * DT for k, _ in qs]))
    tgt = net.add(LIFGroup(n_post, tau_m=1e9, v_rest=0.0, v_threshold=0.5, v_reset=0.0,
                           channels={"ge": Channel(5e-3, scale=0.0)}))
    net.add(Projection(drive, tgt, "v", from_indices(torch.arange(n_post), torch.arange(n_post)),
                       weight=1.0))
    proj = net.add(Projection(src, tgt, "ge", connect_all(), weight=w0, plasticity=rule))
    return net, proj


def forcible(post: torch.Tensor) -> torch.Tensor:
    """Post trains the drive can force: none at step 0 (forced from the step before) and none
    right after another (the reset follows the synapses slot, so that drive is lost)."""
    post = post.clone()
    post[1:] *= 1 - post[:-1]
    post[0] = 0.0
    return post


def _engine_run(pre: torch.Tensor, post: torch.Tensor, w0: float, rule: object,
                backend: str = "numpy", extra_steps: int = 2) -> tuple[Network, Projection]:
    net, proj = _engine_net(pre, post, w0, rule, backend)
    net.run((len(pre) + extra_steps) * DT)
    return net, proj


def _engine_weights(pre: torch.Tensor, post: torch.Tensor, w0: float, rule: object,
                    backend: str = "numpy") -> np.ndarray:
    """Final engine weights as ``[n_post, n_pre]`` (all-to-all synapses are row-major by pre)."""
    _, proj = _engine_run(pre, post, w0, rule, backend)
    return proj.weights.cpu().numpy().reshape(pre.shape[2], post.shape[2]).T.copy()


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
def test_pair_stdp_equals_the_event_driven_engine(pairing):
    pre, post = trains(3000, 6, 0.01, 2), trains(3000, 1, 0.01, 3)
    post[0] = 0.0  # the engine's post spikes are forced from the previous step
    spec = STDP(tau_pre=20e-3, tau_post=10e-3, a_pre=1e-3, a_post=-1.2e-3, w_max=1.0,
                pairing=pairing)
    rule = PairSTDP(spec, dt=DT)
    assert rule.engine_rule() is spec
    dw, _ = rule.update(pre, post, torch.full((1, 6), 0.5, dtype=D))
    w_engine = _engine_weights(pre, post, 0.5, spec)
    np.testing.assert_allclose(0.5 + dw.numpy(), w_engine, rtol=0, atol=1e-14)


def test_pair_stdp_single_pairs_are_the_textbook_window():
    rule = PairSTDP(dt=DT, tau_pre=20e-3, tau_post=10e-3, a_pre=0.01, a_post=-0.012, w_max=1.0)
    pre, post = torch.zeros(1000, 1, 2, dtype=D), torch.zeros(1000, 1, 1, dtype=D)
    pre[100, 0, 0] = 1  # pre 5 ms before post: potentiation
    pre[700, 0, 1] = 1  # pre 20 ms after post: depression
    post[150, 0, 0] = 1
    dw, _ = rule.update(pre, post, torch.zeros(1, 2, dtype=D))
    assert dw[0, 0] == pytest.approx(0.01 * math.exp(-5 / 20), rel=1e-12)
    assert dw[0, 1] == pytest.approx(-0.012 * math.exp(-55 / 10), rel=1e-12)


def test_pair_stdp_state_carries_traces_across_windows():
    pre, post = trains(2000, 4, 0.02, 4), trains(2000, 3, 0.02, 5)
    rule = PairSTDP(dt=DT, tau_pre=20e-3, tau_post=20e-3, a_pre=1e-3, a_post=-1e-3, w_max=1.0)
    w = torch.zeros(3, 4, dtype=D)
    whole, _ = rule.update(pre, post, w)
    a, st = rule.update(pre[:700], post[:700], w)
    b, _ = rule.update(pre[700:], post[700:], w, state=st)
    assert torch.allclose(a + b, whole, atol=1e-15)


def test_pair_stdp_causal_inputs_win_the_competition():
    # input 0 always fires 2 ms before the post neuron, the others at random; repeated windows
    g = torch.Generator().manual_seed(0)
    rule = PairSTDP(dt=1e-3, tau_pre=20e-3, tau_post=20e-3, a_pre=5e-3, a_post=-6.5e-3,
                    w_max=1.0)
    w = torch.full((1, 5), 0.5, dtype=D)
    for _ in range(200):
        post = (torch.rand(500, 1, 1, generator=g, dtype=D) < 0.02).to(D)
        pre = (torch.rand(500, 1, 5, generator=g, dtype=D) < 0.02).to(D)
        pre[:, :, 0] = 0
        pre[:-2, 0, 0] = post[2:, 0, 0]
        w = (w + rule.update(pre, post, w)[0]).clamp(0, 1)
    assert w[0, 0] == 1.0 and (w[0, 1:] < 0.1).all()


# ------------------------------------------------------------------ triplet STDP
FULL = TripletParams(a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3, a3_minus=2e-3,
                     tau_plus=16.8e-3, tau_minus=33.7e-3, tau_x=101e-3, tau_y=125e-3)


def _triplet_reference(pre: np.ndarray, post: np.ndarray, p: TripletParams, dt: float,
                       nearest: bool) -> np.ndarray:
    """Pfister & Gerstner's update, event by event, one synapse per (post, pre) pair."""
    n_post, n_pre = post.shape[1], pre.shape[1]
    w = np.zeros((n_post, n_pre))
    r1, r2 = np.zeros(n_pre), np.zeros(n_pre)
    o1, o2 = np.zeros(n_post), np.zeros(n_post)
    dec = [math.exp(-dt / tau) for tau in (p.tau_plus, p.tau_x, p.tau_minus, p.tau_y)]
    for t in range(len(pre)):
        r1 *= dec[0]
        r2 *= dec[1]
        o1 *= dec[2]
        o2 *= dec[3]
        for i in np.flatnonzero(pre[t]):
            w[:, i] -= o1 * (p.a2_minus + p.a3_minus * r2[i])
            r1[i] = 1.0 if nearest else r1[i] + 1.0
            r2[i] = 1.0 if nearest else r2[i] + 1.0
        for j in np.flatnonzero(post[t]):
            w[j, :] += r1 * (p.a2_plus + p.a3_plus * o2[j])
            o1[j] = 1.0 if nearest else o1[j] + 1.0
            o2[j] = 1.0 if nearest else o2[j] + 1.0
    return w


@pytest.mark.parametrize("interaction", ["all_to_all", "nearest"])
def test_triplet_equals_the_event_by_event_reference(interaction):
    pre, post = trains(4000, 4, 0.01, 6), trains(4000, 3, 0.01, 7)
    pre[1000, 0, :] = 1.0
    post[1000, 0, :] = 1.0  # simultaneous spikes: the pre pathway runs first
    rule = TripletSTDP(FULL, dt=DT, interaction=interaction, w_min=-10, w_max=10)
    dw, _ = rule.update(pre, post, torch.zeros(3, 4, dtype=D))
    ref = _triplet_reference(pre[:, 0].numpy(), post[:, 0].numpy(), FULL, DT,
                             interaction == "nearest")
    np.testing.assert_allclose(dw.numpy(), ref, rtol=1e-10, atol=1e-16)


def test_triplet_hand_computed_triplet():
    # pre at 0 ms, post at 10 and 20 ms, pre at 30 ms (dt = 1 ms)
    pre, post = torch.zeros(40, 1, 1, dtype=D), torch.zeros(40, 1, 1, dtype=D)
    pre[0] = pre[30] = 1.0
    post[10] = post[20] = 1.0
    p = FULL
    dw, _ = TripletSTDP(p, dt=1e-3, w_min=-1, w_max=1).update(pre, post, torch.zeros(1, 1, dtype=D))
    ltp = p.a2_plus * math.exp(-10 / 16.8) + \
        (p.a2_plus + p.a3_plus * math.exp(-10 / 125)) * math.exp(-20 / 16.8)
    o1 = math.exp(-20 / 33.7) + math.exp(-10 / 33.7)
    ltd = o1 * (p.a2_minus + p.a3_minus * math.exp(-30 / 101))
    assert float(dw) == pytest.approx(ltp - ltd, rel=1e-10)


def test_triplet_presets_are_pfister_gerstner_minimal():
    p = TripletSTDP(dt=1e-3).params
    assert (p.a2_plus, p.a3_plus, p.a2_minus, p.a3_minus) == (0.0, 6.5e-3, 7.1e-3, 0.0)
    assert (p.tau_plus, p.tau_minus, p.tau_y) == (16.8e-3, 33.7e-3, 114e-3)
    with pytest.raises(ValueError, match="unknown triplet preset"):
        TripletSTDP("minimal", dt=1e-3)


def test_triplet_poisson_drift_has_the_bcm_threshold():
    """Independent Poisson trains: <dw>/T = r_pre r_post (-A2- tau- + A3+ tau+ tau_y r_post)
    (minimal model), depression below r* ~ 19 Hz and potentiation above."""
    p, dt, T, B = TripletSTDP(dt=1e-3).params, 1e-3, 20000, 40
    rule = TripletSTDP(dt=dt, w_min=-1e3, w_max=1e3)
    g = torch.Generator().manual_seed(0)
    for r_post in (8.0, 40.0):
        pre = (torch.rand(T, B, 1, generator=g, dtype=D) < 10.0 * dt).to(D)
        post = (torch.rand(T, B, 1, generator=g, dtype=D) < r_post * dt).to(D)
        drift = float(rule.update(pre, post, torch.zeros(1, 1, dtype=D))[0]) / (T * dt * B)
        rp, ro = pre.mean() / dt, post.mean() / dt
        expect = rp * ro * (-p.a2_minus * p.tau_minus + p.a3_plus * p.tau_plus * p.tau_y * ro)
        assert drift == pytest.approx(float(expect), rel=0.12), r_post
        assert (drift > 0) == (r_post > 19.2)


ENGINE_BACKENDS = ["numpy", "torch", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))]


@pytest.mark.parametrize("backend", ENGINE_BACKENDS)
@pytest.mark.parametrize(("interaction", "bounds"), [("all_to_all", "additive"),
                                                     ("nearest", "additive"),
                                                     ("all_to_all", "multiplicative")])
def test_triplet_on_the_event_engine_equals_the_dense_rule(interaction, bounds, backend):
    """Exact for additive bounds; with soft bounds the dense rule scales by the weight at the
    start of the window and the engine by the current one (a second-order difference)."""
    pre, post = trains(3000, 5, 0.01, 16), trains(3000, 3, 0.012, 17)
    pre[900, 0, :], post[900, 0, :] = 1.0, 1.0  # simultaneous: the pre pathway runs first
    post = forcible(post)
    lr = 0.1 if bounds == "additive" else 1e-3  # soft bounds: small steps, small 2nd order
    rule = TripletSTDP(FULL, dt=DT, interaction=interaction, lr=lr, w_min=0.0, w_max=1.0,
                       bounds=bounds)
    spec = rule.engine_rule()
    assert isinstance(spec, TripletSTDPRule)
    assert spec.params.a3_plus == pytest.approx(lr * FULL.a3_plus)
    dw, _ = rule.update(pre, post, torch.full((3, 5), 0.5, dtype=D))
    w_engine = _engine_weights(pre, post, 0.5, spec, backend)
    big = np.abs(dw.numpy()).max()
    assert 0.05 * lr < big < 0.4  # the trains move the weights, inside the bounds
    atol = 1e-13 if bounds == "additive" else 0.01 * big
    np.testing.assert_allclose(0.5 + dw.numpy(), w_engine, rtol=0, atol=atol)


# ------------------------------------------------------------------ reward-modulated STDP
def _reward_reference(pre, post, m, rule: RewardSTDP):
    T, B = pre.shape[:2]
    r = torch.zeros(B, pre.shape[2], dtype=D)
    o = torch.zeros(B, post.shape[2], dtype=D)
    e = torch.zeros(B, post.shape[2], pre.shape[2], dtype=D)
    dw = torch.zeros(post.shape[2], pre.shape[2], dtype=D)
    for t in range(T):
        r, o = rule.d_pre * r, rule.d_post * o
        c = rule.a_minus * o[:, :, None] * pre[t][:, None, :]
        r = r + pre[t]
        c = c + rule.a_plus * post[t][:, :, None] * r[:, None, :]
        o = o + post[t]
        e = rule.d_e * e + c
        dw += (m[t][:, None, None] * e).sum(0)
    return rule.lr * dw, e


def test_reward_stdp_equals_the_eligibility_loop():
    pre, post = trains(600, 5, 0.03, 8, b=3), trains(600, 2, 0.03, 9, b=3)
    m = torch.randn(600, 3, generator=torch.Generator().manual_seed(0), dtype=D)
    rule = RewardSTDP(dt=1e-3, a_plus=1.0, a_minus=-0.8, tau_e=0.05, lr=0.1, w_min=-5, w_max=5)
    dw, st = rule.update(pre, post, torch.zeros(2, 5, dtype=D), modulator=m)
    ref, e = _reward_reference(pre, post, m, rule)
    assert torch.allclose(dw, ref, atol=1e-12)
    assert torch.allclose(st.eligibility, e, atol=1e-12)
    # split in two windows with the carried state: same total
    a, s1 = rule.update(pre[:250], post[:250], torch.zeros(2, 5, dtype=D), modulator=m[:250])
    b, _ = rule.update(pre[250:], post[250:], torch.zeros(2, 5, dtype=D), modulator=m[250:],
                       state=s1)
    assert torch.allclose(a + b, ref, atol=1e-12)


def test_reward_stdp_delayed_reward_hand_computed():
    pre, post = torch.zeros(100, 1, 1, dtype=D), torch.zeros(100, 1, 1, dtype=D)
    pre[10], post[15] = 1.0, 1.0
    rule = RewardSTDP(dt=1e-3, a_plus=1.0, tau_plus=20e-3, tau_e=0.1, lr=0.5)
    dw, _ = rule.update(pre, post, torch.zeros(1, 1, dtype=D), modulator=torch.tensor(2.0))
    assert float(dw) == pytest.approx(0.5 * 2.0 * math.exp(-5 / 20) * math.exp(-84 / 100))


def test_reward_stdp_rewarded_synapse_grows_punished_shrinks():
    g = torch.Generator().manual_seed(0)
    rule = RewardSTDP(dt=1e-3, tau_e=0.1, lr=2e-3, a_plus=1.0, a_minus=-1.0)
    w = torch.full((1, 2), 0.5, dtype=D)
    for _ in range(150):
        post = (torch.rand(200, 8, 1, generator=g, dtype=D) < 0.05).to(D)
        pre = torch.zeros(200, 8, 2, dtype=D)
        which = torch.randint(0, 2, (8,), generator=g)
        pre[:-3, torch.arange(8), which] = post[3:, :, 0]  # the chosen input leads the post
        reward = torch.where(which == 0, 1.0, -1.0).to(D)
        w = (w + rule.update(pre, post, w, modulator=reward)[0]).clamp(0, 1)
    assert w[0, 0] == 1.0 and w[0, 1] == 0.0


def test_reward_stdp_modulator_shapes_are_checked():
    rule = RewardSTDP(dt=1e-3)
    pre, post = torch.zeros(10, 2, 3, dtype=D), torch.zeros(10, 2, 1, dtype=D)
    with pytest.raises(ValueError, match="modulator must be"):
        rule.update(pre, post, torch.zeros(1, 3, dtype=D), modulator=torch.zeros(4))
    with pytest.raises(ValueError, match="three-factor"):
        rule.update(pre, post, torch.zeros(1, 3, dtype=D))


# ------------------------------------------------------------------ neuromodulated Hebb
@pytest.mark.parametrize("mode,g", [("gain", [2.0, -0.5]), ("sign", [1.0, -1.0]),
                                    ("gate", [1.0, 0.0])])
def test_neuromodulated_hebb_hand_computed(mode, g):
    pre, post = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=D), torch.tensor([[1.0], [2.0]],
                                                                             dtype=D)
    dw, _ = NeuromodulatedHebb(lr=1.0, mode=mode).update(
        pre, post, torch.zeros(1, 2, dtype=D), modulator=torch.tensor([2.0, -0.5]))
    assert torch.allclose(dw, torch.tensor([[g[0] * 1.0 / 2, g[1] * 2.0 / 2]], dtype=D))


def test_neuromodulated_hebb_learns_a_rewarded_association():
    # two patterns; the modulator rewards responding to pattern a and punishes pattern b
    pats = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]], dtype=D)
    g = torch.Generator().manual_seed(0)
    w = torch.full((1, 4), 0.3, dtype=D)
    rule = NeuromodulatedHebb(lr=0.05, mode="sign")
    for _ in range(300):
        k = torch.randint(0, 2, (8,), generator=g)
        x = pats[k]
        y = x @ w.T
        w = (w + rule.update(x, y, w, modulator=torch.where(k == 0, 1.0, -1.0))[0]).clamp(0, 1)
    # pattern a's inputs (incl. the shared one, which a drives harder) saturate, b's vanish
    assert torch.equal(w, torch.tensor([[1.0, 1.0, 0.0, 0.0]], dtype=D))


@pytest.mark.parametrize("backend", ENGINE_BACKENDS)
def test_reward_stdp_on_the_event_engine_equals_the_dense_rule(backend):
    T = 2500
    pre, post = trains(T, 4, 0.02, 18), forcible(trains(T, 2, 0.02, 19))
    g = torch.Generator().manual_seed(5)
    m = torch.where(torch.rand(T, generator=g, dtype=D) < 0.01,
                    torch.randn(T, generator=g, dtype=D), torch.zeros(T, dtype=D))
    rule = RewardSTDP(dt=DT, a_plus=1.0, a_minus=-0.8, tau_e=0.05, lr=0.01, w_min=0.0, w_max=1.0)
    dw, st = rule.update(pre, post, torch.full((2, 4), 0.5, dtype=D), modulator=m[:, None])
    spec = rule.engine_rule(modulator=lambda t: float(m[round(t / DT)]) if t < T * DT else 0.0)
    net, proj = _engine_run(pre, post, 0.5, spec, backend, extra_steps=0)
    w_engine = proj.weights.cpu().numpy().reshape(4, 2).T
    assert 1e-3 < np.abs(dw.numpy()).max() < 0.4  # inside the bounds
    np.testing.assert_allclose(0.5 + dw.numpy(), w_engine, rtol=0, atol=1e-12)
    elig = proj.stdp.eligibility.cpu().numpy().reshape(4, 2).T
    np.testing.assert_allclose(elig, st.eligibility[0].numpy(), rtol=1e-9, atol=1e-14)
    # a reward delivered between runs: w += lr m e for every synapse
    before = proj.weights.clone()
    proj.stdp.deliver(2.0)
    expect = (before + 0.01 * 2.0 * proj.stdp.eligibility).clamp(0.0, 1.0)
    torch.testing.assert_close(proj.weights, expect, rtol=0, atol=1e-15)


def test_event_rule_traces_survive_a_checkpoint(tmp_path):
    from neuromorph.sim import load_checkpoint, save_checkpoint

    pre, post = trains(2000, 3, 0.02, 20), forcible(trains(2000, 2, 0.02, 21))
    spec = TripletSTDPRule(TripletParams(5e-3, 6e-3, 7e-3, 2e-4), w_max=1.0)
    _, p_full = _engine_run(pre, post, 0.5, spec)
    part, _ = _engine_net(pre, post, 0.5, spec)
    part.run(900 * DT)
    save_checkpoint(part, tmp_path / "ck.pt")
    resumed, p_res = _engine_net(pre, post, 0.5, spec)
    load_checkpoint(resumed, tmp_path / "ck.pt")
    resumed.run((2002 - 900) * DT)
    assert not torch.equal(p_full.weights, torch.full_like(p_full.weights, 0.5))
    torch.testing.assert_close(p_res.weights, p_full.weights, rtol=0, atol=1e-15)


def test_event_rule_specs_reject_bad_input():
    with pytest.raises(TypeError, match="TripletParams"):
        TripletSTDPRule(5e-3, w_max=1.0)
    with pytest.raises(ValueError, match="w_max > w_min"):
        TripletSTDPRule(FULL, w_max=0.0)
    with pytest.raises(ValueError, match="unknown interaction"):
        TripletSTDPRule(FULL, w_max=1.0, interaction="pairs")
    with pytest.raises(ValueError, match="tau_e must be > 0"):
        RewardSTDPRule(tau_e=0.0)
    with pytest.raises(ValueError, match="unknown bounds"):
        RewardSTDPRule(bounds="hard")


def test_brian2_bridge_refuses_event_rules_it_cannot_translate():
    pytest.importorskip("brian2")
    from neuromorph.sim.brian2_bridge import _stdp_code

    with pytest.raises(TypeError, match="translates"):
        _stdp_code(RewardSTDPRule(), "ge")
