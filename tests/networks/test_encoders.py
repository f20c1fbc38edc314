"""Spike encoders: rate statistics, latency values and ordering, delta reconstruction."""

import math

import pytest
import torch

from neuromorph.networks.encoders import (
    ENCODERS,
    delta_decode,
    delta_encode,
    encode,
    latency_encode,
    rate_encode,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("method", ["bernoulli", "poisson"])
def test_rate_matches_requested_rate(method):
    x = torch.tensor([0.0, 0.1, 0.5, 1.0]).repeat(200, 1)  # [200, 4]
    T, dt, max_rate = 500, 1e-3, 80.0
    s = rate_encode(x, T, dt=dt, max_rate=max_rate, method=method, generator=gen())
    assert s.shape == (T, 200, 4)
    rate_hz = s.mean(dim=(0, 1)) / dt
    # 100000 steps per column; std of the rate estimate <= sqrt(0.08/1e5)/1e-3 ~ 0.9 Hz
    torch.testing.assert_close(rate_hz, x[0] * max_rate, atol=4.0, rtol=0.0)
    if method == "bernoulli":
        assert set(s.unique().tolist()) <= {0.0, 1.0}


def test_rate_poisson_counts_exceed_one_and_gain_mode():
    s = rate_encode(torch.ones(1000), 10, gain=3.0, method="poisson", generator=gen(1))
    assert s.max() > 1 and abs(s.mean().item() - 3.0) < 0.15
    b = rate_encode(torch.full((4000,), 0.5), 5, gain=0.4, generator=gen(2))
    assert abs(b.mean().item() - 0.2) < 0.02


def test_rate_is_deterministic_and_checks_inputs():
    x = torch.rand(3, 5, generator=gen(9))
    assert torch.equal(rate_encode(x, 7, generator=gen(1)), rate_encode(x, 7, generator=gen(1)))
    assert not torch.equal(rate_encode(x, 7, generator=gen(1)), rate_encode(x, 7, generator=gen(2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rate_encode(x + 1, 5)
    with pytest.raises(ValueError, match="exceeds 1"):
        rate_encode(x, 5, dt=1e-2, max_rate=200.0)
    with pytest.raises(TypeError, match="floating"):
        rate_encode(torch.ones(3, dtype=torch.int64), 5)
    with pytest.raises(ValueError, match="NaN"):
        rate_encode(torch.tensor([float("nan")]), 5)


def test_latency_linear_hand_values_and_ordering():
    x = torch.tensor([1.0, 0.5, 0.25, 0.0])
    s = latency_encode(x, 11)
    assert s.shape == (11, 4)
    assert s.sum(dim=0).tolist() == [1.0, 1.0, 1.0, 0.0]  # x = 0 stays silent
    first = s.argmax(dim=0)[:3].tolist()
    assert first == [0, 5, 8]  # round((1 - x) * 10): 0, 5, 7.5 -> 8 (round half to even = 8)
    xs = torch.rand(200, generator=gen(3)) * 0.98 + 0.01
    t = latency_encode(xs, 50).argmax(dim=0)
    order = xs.argsort(descending=True)
    assert torch.all(t[order][1:] >= t[order][:-1])  # larger inputs fire no later


@pytest.mark.parametrize("method", ["linear", "log"])
def test_latency_equals_snntorch_spikegen(method):
    """Both codes against snnTorch's ``spikegen.latency`` (an RC neuron charged by ``x`` for
    ``"log"``; ``clip=True`` silences inputs below the threshold, ``bypass=True`` drops spikes past
    the window instead of raising)."""
    spikegen = pytest.importorskip("snntorch.spikegen")
    x = torch.rand(400, generator=gen(4))
    thr, n_steps = 0.1, 30
    kw = dict(tau=5.0) if method == "log" else dict(tau=n_steps - 1, linear=True)
    ours = latency_encode(x, n_steps, method=method, threshold=thr, tau=kw["tau"])
    peer = spikegen.latency(x, n_steps, threshold=thr, clip=True, bypass=True, **kw)
    assert 0.5 < float(ours.sum()) / len(x) < 1.0  # most fire, some are silent or too late
    torch.testing.assert_close(ours, peer, rtol=0, atol=0)


def test_latency_log_window_and_errors():
    tau, thr = 5.0, 0.1
    x = torch.tensor([1.0, 0.5, 0.2, 0.105, 0.05])
    s = latency_encode(x, 30, method="log", tau=tau, threshold=thr)
    # the RC membrane x (1 - exp(-t / 5)) reaches 0.1 at t = 15.2 for x = 0.105: step 15;
    # x = 0.05 never reaches the threshold
    assert s[:, 3].nonzero().flatten().tolist() == [15] and s[:, 4].sum() == 0
    short = latency_encode(x, 10, method="log", tau=tau, threshold=thr)
    assert short[:, 3].sum() == 0  # step 15 lies past a 10-step window: dropped
    with pytest.raises(ValueError, match="threshold > 0"):
        latency_encode(x, 10, method="log", threshold=0.0)
    with pytest.raises(ValueError, match="unknown latency method"):
        latency_encode(x, 10, method="cubic")


def test_delta_reconstructs_slow_signal_within_threshold():
    t = torch.linspace(0, 1, 400)
    signal = torch.stack([torch.sin(2 * math.pi * 2 * t), 0.5 * torch.cos(2 * math.pi * 3 * t)], 1)
    thr = 0.05  # the signal moves < 0.05 per step, so one spike per step suffices
    s = delta_encode(signal, thr)
    assert s.shape == (400, 2, 2) and set(s.unique().tolist()) <= {0.0, 1.0}
    rec = delta_decode(s, thr, initial=signal[0])
    assert (rec - signal).abs().max() < thr
    assert s[..., 0].sum() > 0 and s[..., 1].sum() > 0  # both rises and falls coded


def test_delta_fast_signal_needs_counts():
    signal = torch.tensor([0.0, 1.0, 1.0, -0.3, 0.25])
    thr = 0.25
    s = delta_encode(signal, thr, max_spikes_per_step=None)
    # hand: ref 0 -> +4 on (ref 1.0); 0; diff -1.3 -> 5 off (ref -0.25); diff +0.5 -> 2 on
    assert s[:, 0].tolist() == [0.0, 4.0, 0.0, 0.0, 2.0]
    assert s[:, 1].tolist() == [0.0, 0.0, 0.0, 5.0, 0.0]
    rec = delta_decode(s, thr, initial=signal[0])
    assert (rec - signal).abs().max() < thr + 1e-6
    capped = delta_decode(delta_encode(signal, thr), thr, initial=signal[0])
    assert (capped - signal).abs().max() > thr  # one spike per step cannot follow a jump


def test_delta_on_only_and_errors():
    signal = torch.tensor([0.0, 0.3, 0.1, 0.5])
    s = delta_encode(signal, 0.25, off_spikes=False)
    assert s.shape == (4, 1) and s[:, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="threshold"):
        delta_encode(signal, 0.0)
    with pytest.raises(ValueError, match=r"\[T, \.\.\., 2\]"):
        delta_decode(torch.zeros(4, 3), 0.1)


def test_registry_dispatch():
    assert set(ENCODERS) == {"rate", "latency", "delta"}
    x = torch.tensor([0.5])
    assert torch.equal(encode("latency", x, 5), latency_encode(x, 5))
    with pytest.raises(ValueError, match="choose one of"):
        encode("burst", x, 5)
