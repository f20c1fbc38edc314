"""Optical scattering layer: speckle statistics, energy, phase wrapping, camera noise, twin."""

import math

import pytest
import torch

from neuromorph.access import AccessError
from neuromorph.hardware_models.optical import OpticalScattering


def _x(b: int, n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("encoding", ["amplitude", "phase"])
@pytest.mark.parametrize("detection", ["intensity", "amplitude"])
@pytest.mark.parametrize("pool", [1, 3])
def test_shapes_and_nonnegative(encoding, detection, pool):
    s = OpticalScattering(12, 5, encoding=encoding, detection=detection, pool=pool)
    y = s(_x(7, 12))
    assert y.shape == (7, 5)
    assert (y >= 0).all() and torch.isfinite(y).all()
    assert s.t_re.shape == (5 * pool, 12)


def test_same_seed_same_device_different_seed_different_device():
    x = _x(4, 10)
    a, b, c = (OpticalScattering(10, 6, seed=k) for k in (3, 3, 4))
    assert torch.equal(a(x), b(x))
    assert not torch.allclose(a(x), c(x))


def test_gaussian_speckle_mean_intensity_and_contrast():
    """E[I_p] = ||E_in||^2 / n_in, and fully developed speckle has std(I) = mean(I)."""
    n_in = 16
    s = OpticalScattering(n_in, 4000, seed=1)
    x = _x(3, n_in, seed=2) * 2 - 1  # signed field amplitudes
    y = s(x)
    expected = (x**2).sum(1) / n_in
    # mean of 4000 exponential samples: relative std 1/sqrt(4000) = 1.6 %; allow 4 sigma
    torch.testing.assert_close(y.mean(1), expected, rtol=0.065, atol=0)
    contrast = y.std(1) / y.mean(1)
    torch.testing.assert_close(contrast, torch.ones(3), rtol=0.1, atol=0)


def test_phase_encoding_mean_intensity_is_one():
    s = OpticalScattering(8, 3000, encoding="phase", seed=5)
    y = s(_x(2, 8, seed=3))
    torch.testing.assert_close(y.mean(1), torch.ones(2), rtol=0.075, atol=0)


@pytest.mark.parametrize("encoding", ["amplitude", "phase"])
def test_unitary_medium_conserves_energy(encoding):
    """A lossless medium seen in full: total detected intensity = input power, exactly."""
    s = OpticalScattering(8, 6, encoding=encoding, pool=2, transmission="unitary", seed=2)
    x = _x(5, 8, seed=4) * 2 - 1
    power_in = (x**2).sum(1) if encoding == "amplitude" else torch.full((5,), 8.0)
    torch.testing.assert_close(s(x).sum(1), power_in, rtol=1e-5, atol=1e-5)


def test_unitary_medium_with_fewer_pixels_is_passive():
    s = OpticalScattering(10, 4, transmission="unitary", seed=2)  # 4 of 10 output modes seen
    x = _x(20, 10) * 2 - 1
    assert (s(x).sum(1) <= (x**2).sum(1) + 1e-5).all()


def test_phase_encoding_wraps_every_two_and_global_phase_is_invisible():
    s = OpticalScattering(9, 7, encoding="phase", seed=6)
    x = _x(4, 9)
    bump = torch.zeros(9)
    bump[3] = 2.0  # one SLM pixel advanced by a full wave: same field
    torch.testing.assert_close(s(x + bump), s(x), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s(x + 0.37), s(x), rtol=1e-4, atol=1e-5)  # global phase
    assert not torch.allclose(s(x + bump / 2), s(x), atol=1e-3)  # a half wave on one pixel


def test_amplitude_detection_is_sqrt_of_intensity_and_pool_sums_pixels():
    x = _x(3, 6)
    intensity = OpticalScattering(6, 12, seed=9)(x)
    amplitude = OpticalScattering(6, 12, detection="amplitude", seed=9)(x)
    torch.testing.assert_close(amplitude, intensity.sqrt())
    pooled = OpticalScattering(6, 4, pool=3, seed=9)(x)  # same 12 camera pixels, binned by 3
    torch.testing.assert_close(pooled, intensity.reshape(3, 4, 3).sum(-1))


def test_shot_noise_variance_is_signal_over_photons():
    photons = 200.0
    clean = OpticalScattering(6, 8, seed=3)
    noisy = OpticalScattering(6, 8, photons=photons, seed=3)
    x = _x(1, 6, seed=1).expand(20000, 6) + 0.5
    y_clean = clean(x[:1])[0]
    bright = y_clean > 0.1  # >= 4.5 noise std above 0, where the clip at 0 is negligible
    assert bright.sum() >= 4
    y = noisy(x)[:, bright]
    torch.testing.assert_close(y.mean(0), y_clean[bright], rtol=0.01, atol=0)
    # sample variance of 20000 Gaussian draws: relative std sqrt(2/20000) = 1 %
    torch.testing.assert_close(y.var(0), y_clean[bright] / photons, rtol=0.05, atol=0)


def test_read_noise_std_and_noise_reproducible_under_seed():
    a = OpticalScattering(6, 5, read_noise=0.3, seed=4)
    y = a(torch.ones(20000, 6)) - OpticalScattering(6, 5, seed=4)(torch.ones(1, 6))
    torch.testing.assert_close(y.std(0), torch.full((5,), 0.3), rtol=0.03, atol=0)
    x = _x(8, 6)
    b1, b2 = (OpticalScattering(6, 5, photons=10.0, read_noise=0.1, seed=7) for _ in range(2))
    assert torch.equal(b1(x), b2(x))


def test_adc_has_at_most_two_to_the_bits_levels_on_the_full_scale_grid():
    bits = 3
    s = OpticalScattering(8, 50, adc_bits=bits, full_scale=2.0, seed=1)
    y = s(_x(200, 8) * 1.5)
    levels = torch.unique(y)
    assert 2 < len(levels) <= 2**bits
    step = 2.0 / (2**bits - 1)
    torch.testing.assert_close(levels / step, torch.round(levels / step))
    assert levels.min() >= 0 and levels.max() <= 2.0 + 1e-6


def test_default_full_scale_covers_the_speckle():
    s = OpticalScattering(16, 200, adc_bits=8, seed=0)
    y = OpticalScattering(16, 200, seed=0)(torch.ones(50, 16))
    assert s.full_scale == pytest.approx(8.0, rel=0.1)  # 8 x mean pixel intensity (= 1)
    assert (y < s.full_scale).float().mean() > 0.99


def test_twin_is_the_noiseless_camera_and_has_the_analytic_gradient():
    noisy = OpticalScattering(6, 5, photons=5.0, read_noise=0.2, adc_bits=4, seed=2)
    twin = noisy.twin()
    x = _x(4, 6) * 2 - 1
    torch.testing.assert_close(twin(x), OpticalScattering(6, 5, seed=2)(x))
    xg = x.clone().requires_grad_(True)
    twin(xg).sum().backward()
    t = torch.complex(noisy.t_re, noisy.t_im)
    expected = 2 * ((t.conj().T @ t) @ x.T.to(t.dtype)).real.T  # d/dx sum |T x|^2
    torch.testing.assert_close(xg.grad, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(AccessError):
        noisy(xg).sum().backward()


def test_phase_twin_gradient_matches_finite_differences():
    s = OpticalScattering(5, 4, encoding="phase", detection="amplitude", seed=8).double()
    twin = s.twin()
    x = _x(2, 5).double()
    xg = x.clone().requires_grad_(True)
    twin(xg).sum().backward()
    v = _x(2, 5, seed=9).double()
    eps = 1e-6
    fd = (twin(x + eps * v).sum() - twin(x - eps * v).sum()) / (2 * eps)
    assert (xg.grad * v).sum().item() == pytest.approx(fd.item(), rel=1e-6)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"encoding": "holographic"}, "amplitude"),
        ({"detection": "phase"}, "intensity"),
        ({"transmission": "fiber"}, "unitary"),
        ({"pool": 0}, "pool"),
        ({"photons": 0.0}, "photons"),
        ({"adc_bits": 0}, "adc_bits"),
    ],
)
def test_bad_options_are_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        OpticalScattering(4, 3, **options)


def test_camera_noise_comes_after_user_effects():
    from neuromorph.hardware_models.nonidealities import ADC, DAC, ShotNoise

    s = OpticalScattering(4, 3, photons=10.0, adc_bits=2, nonidealities=[DAC(4)], seed=0)
    kinds = [type(e) for e in s.nonidealities]
    assert kinds == [DAC, ShotNoise, ADC]
    assert math.isfinite(s.full_scale)
