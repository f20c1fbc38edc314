"""Device models: PCM moments against aihwkit's published equations, ReRAM levels, faults."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from neuromorph.hardware_models.crossbar import PCM, PCMParams, ReRAM, ReRAMParams, StuckAt
from neuromorph.hardware_models.crossbar.registry import make_device

G_MAX = 25e-6
TIMES = [1.0, 3600.0, 86400.0, 3.15576e7, 3.15576e8]


def published_moments(x: float, t: float) -> tuple[float, float]:
    """Mean and std (S) of g(t) for target ``x g_max``, integrated from the published equations.

    Written from the equations (Nandakumar 2019 / Joshi 2020), independently of the sampler:
    Gaussian programming noise (quadrature over g_P), folded-normal drift exponent (quadrature
    over nu), zero-mean 1/f read noise whose variance depends on g_P.
    """
    g_t = x * 25.0  # uS
    sig_p = 0.26348 + 1.9650 * x - 1.1731 * x**2
    mu = min(max(-0.0155 * math.log(x) + 0.0244, 0.049), 0.1)
    sd = min(max(-0.0125 * math.log(x) - 0.0059, 0.008), 0.045)
    log_ratio = math.log((t + 20.0) / 20.0)
    noise_time = math.log((t + 20.0 + 250e-9) / (2 * 250e-9))

    def folded(nu: float) -> float:
        return (stats.norm.pdf(nu, mu, sd) + stats.norm.pdf(-nu, mu, sd)) if nu >= 0 else 0.0

    def e_drift(k: int) -> float:
        return integrate.quad(lambda nu: math.exp(-k * nu * log_ratio) * folded(nu), 0, 1)[0]

    def q_s(g: float) -> float:
        return min(0.0088 / max((abs(g) / 25.0) ** 0.65, 1e-3), 0.2)

    lo, hi = g_t - 9 * sig_p, g_t + 9 * sig_p
    pdf = stats.norm(g_t, sig_p).pdf
    m1 = integrate.quad(lambda g: g * pdf(g), lo, hi)[0]
    m2 = integrate.quad(lambda g: g * g * (1 + q_s(g) ** 2 * noise_time) * pdf(g), lo, hi)[0]
    mean = m1 * e_drift(1)
    second = m2 * e_drift(2)
    return mean * 1e-6, math.sqrt(second - mean**2) * 1e-6


@pytest.mark.parametrize("x", [0.1, 0.5, 0.9])
def test_pcm_moments_match_published_equations_at_each_time(x):
    n = 400_000
    pcm = PCM()
    g_target = torch.full((n,), x * G_MAX, dtype=torch.float64)
    state = pcm.program(g_target, torch.Generator().manual_seed(1))
    for t in TIMES:
        g = pcm.read(state, t, torch.Generator().manual_seed(2)).numpy()
        mean, std = published_moments(x, t)
        assert abs(g.mean() - mean) < 5 * std / math.sqrt(n), (x, t, g.mean(), mean)
        assert abs(g.std() - std) < 5 * std / math.sqrt(2 * n) + 1e-3 * std, (x, t, g.std(), std)


def test_pcm_programming_sigma_and_drift_exponent_statistics():
    pcm = PCM()
    x = 0.5
    g_target = torch.full((200_000,), x * G_MAX, dtype=torch.float64)
    state = pcm.program(g_target, torch.Generator().manual_seed(3))
    sigma = (0.26348 + 1.9650 * 0.5 - 1.1731 * 0.25) * 1e-6  # 0.953 uS, by hand
    assert state.g_prog.std().item() == pytest.approx(sigma, rel=0.01)
    nu = state.extras["nu"]
    assert nu.mean().item() == pytest.approx(0.049, rel=0.01)  # mu clipped to its floor
    assert nu.std().item() == pytest.approx(0.008, rel=0.02)  # sigma clipped to its floor


def test_pcm_is_seeded():
    pcm = PCM()
    g = torch.linspace(0, G_MAX, 50, dtype=torch.float64)
    a = pcm.read(pcm.program(g, torch.Generator().manual_seed(5)), 60.0,
                 torch.Generator().manual_seed(6))
    b = pcm.read(pcm.program(g, torch.Generator().manual_seed(5)), 60.0,
                 torch.Generator().manual_seed(6))
    c = pcm.read(pcm.program(g, torch.Generator().manual_seed(7)), 60.0,
                 torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_device_errors_are_clear():
    pcm = PCM()
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"must lie in \[0, g_max"):
        pcm.program(torch.tensor([30e-6]), gen)
    with pytest.raises(ValueError, match="NaN"):
        pcm.program(torch.tensor([float("nan")]), gen)
    state = pcm.program(torch.tensor([1e-6]), gen)
    with pytest.raises(ValueError, match="inference time"):
        pcm.read(state, -1.0, gen)
    with pytest.raises(ValueError, match="drift_scale must be >= 0"):
        PCMParams(drift_scale=-1)
    with pytest.raises(ValueError, match="n_states must be >= 2"):
        ReRAMParams(n_states=1)
    with pytest.raises(ValueError, match="unknown device 'flash'"):
        make_device("flash")
    with pytest.raises(ValueError, match="bad parameters for device 'pcm'"):
        make_device("pcm", n_states=4)
    with pytest.raises(ValueError, match="p_on \\+ p_off <= 1"):
        StuckAt(pcm, 0.7, 0.7)


def test_reram_snaps_to_levels_and_spreads_as_specified():
    p = ReRAMParams(sigma_d2d=0.0, sigma_c2c=0.0, sigma_relax=0.0, n_states=8)
    dev = ReRAM(p)
    g = torch.rand(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * G_MAX
    g_prog = dev.program(g, torch.Generator().manual_seed(1)).g_prog
    levels = p.g_min + np.arange(8) * (p.g_max - p.g_min) / 7
    dist = np.abs(g_prog.numpy()[:, None] - levels[None, :]).min(axis=1)
    assert dist.max() < 1e-18
    assert (g_prog - g).abs().max() <= (p.g_max - p.g_min) / 14 + 1e-15

    noisy = ReRAM(ReRAMParams(sigma_d2d=0.0, sigma_c2c=0.02, sigma_relax=0.01, tau_relax=1.0))
    target = torch.full((200_000,), 12.2e-6, dtype=torch.float64)  # level 7 of 16
    state = noisy.program(target, torch.Generator().manual_seed(2))
    assert state.g_prog.std().item() == pytest.approx(0.02 * G_MAX, rel=0.01)
    g_t = noisy.read(state, 99.0, torch.Generator().manual_seed(3))
    expected = math.hypot(0.02, 0.01 * math.sqrt(math.log(100.0))) * G_MAX
    assert g_t.std().item() == pytest.approx(expected, rel=0.01)

    d2d = ReRAM(ReRAMParams(sigma_d2d=0.1, sigma_c2c=0.0, sigma_relax=0.0))
    state = d2d.program(target, torch.Generator().manual_seed(4))
    assert torch.log(state.extras["d2d"]).std().item() == pytest.approx(0.1, rel=0.01)
    assert torch.allclose(state.g_prog, 12.2e-6 * state.extras["d2d"])


def test_stuck_at_faults_rates_and_values():
    dev = StuckAt(PCM(), p_on=0.05, p_off=0.1)
    g = torch.full((100_000,), 10e-6, dtype=torch.float64)
    state = dev.program(g, torch.Generator().manual_seed(0))
    g_t = dev.read(state, 86400.0, torch.Generator().manual_seed(1))
    on, off = state.extras["stuck_on"] > 0, state.extras["stuck_off"] > 0
    assert on.double().mean().item() == pytest.approx(0.05, abs=0.003)
    assert off.double().mean().item() == pytest.approx(0.1, abs=0.003)
    assert torch.all(g_t[on] == G_MAX) and torch.all(g_t[off] == 0.0)
    healthy = ~(on | off)
    assert g_t[healthy].mean().item() < 10e-6  # the rest drifted down
