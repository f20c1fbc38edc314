"""Acoustic cavity: the ODE it claims to solve, normalisation, linear vs nonlinear regimes."""

import math

import pytest
import torch

from neuromorph.hardware_models.acoustic import MAX_GAIN, AcousticCavity


def _x(b: int, n: int = 20, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _rk4_reference(s: AcousticCavity, x: torch.Tensor, substeps: int) -> torch.Tensor:
    """The docstring's ODE by classical RK4, from rest, with the system's protocol and read-out.

    Independent of the split-step code: it uses only the physical constants and the design
    (tone and read-out bins, dt, transient length).
    """
    M = s.n_resonators
    u = x.abs() / x.abs().norm(dim=1, keepdim=True)
    a = s.gain * u * s.speaker_gain.double()
    w_tone = s.tone_bins.double() * s.dw
    phi = s.speaker_phase.double()
    K = torch.diag(s.omega0.double() ** 2) + s.coupling.double()
    damping = 2 * s.zeta.double() * s.omega0.double()
    b, beta, c = s.membrane_area.double(), s.beta.double(), s.mic_weight.double()

    def rhs(t: float, q: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = (a * torch.cos(w_tone * t + phi)).sum(1, keepdim=True)
        return v, p * b - q @ K - beta * q**3 - damping * v

    h = s.dt / substeps
    q = torch.zeros(x.shape[0], M, dtype=torch.float64)
    v = torch.zeros_like(q)
    mic = []
    for n in range(s.n_transient + s.n_window):
        if n >= s.n_transient:
            mic.append(q @ c)
        for k in range(substeps):
            t = (n - s.n_transient) * s.dt + k * h
            k1 = rhs(t, q, v)
            k2 = rhs(t + h / 2, q + h / 2 * k1[0], v + h / 2 * k1[1])
            k3 = rhs(t + h / 2, q + h / 2 * k2[0], v + h / 2 * k2[1])
            k4 = rhs(t + h, q + h * k3[0], v + h * k3[1])
            q = q + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            v = v + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    m = torch.stack(mic, 1)  # [B, N_w]
    t = torch.arange(s.n_window, dtype=torch.float64) * s.dt
    w_read = s.read_bins.double() * s.dw
    spectrum = (m.to(torch.complex128) @ torch.exp(-1j * w_read[None] * t[:, None])).abs()
    return spectrum * 2 / s.n_window / s.gain


def test_shapes_finite_nonnegative():
    s = AcousticCavity(20, 12, seed=1)
    y = s(_x(5).float())
    assert y.shape == (5, 12) and torch.isfinite(y).all() and (y >= 0).all()


def test_same_seed_same_device_different_seed_different_device():
    x = _x(4).float()
    a, b, c = (AcousticCavity(seed=k) for k in (2, 2, 3))
    assert torch.equal(a(x), b(x))
    assert not torch.allclose(a(x), c(x))


def test_split_step_scheme_solves_the_stated_ode():
    """Against RK4 of the ODE from rest: 0.1 % at a fine step, a few % at the default."""
    x = _x(3, seed=5)
    fine = AcousticCavity(seed=0, dt=0.1).double()
    ref = _rk4_reference(fine, x, substeps=2)
    err = (fine._physics(x) - ref).norm() / ref.norm()
    assert err < 2e-3
    default = AcousticCavity(seed=0).double()  # dt = 0.5: same protocol, same switch-on time
    assert default.n_transient * default.dt == pytest.approx(fine.n_transient * fine.dt)
    err = (default._physics(x) - ref).norm() / ref.norm()
    assert err < 0.02


def test_input_normalisation_unit_l2_of_absolute_values():
    s = AcousticCavity(seed=4).double()
    x = _x(6)
    y = s._physics(x)
    for scaled in (3.7 * x, 1e-3 * x, -x, 1e30 * x):
        torch.testing.assert_close(s._physics(scaled), y, rtol=1e-9, atol=1e-12)
    norms = s.drive_amplitudes(x).norm(dim=1)
    torch.testing.assert_close(norms, torch.full((6,), s.gain, dtype=torch.float64))


def test_linear_regime_at_weak_drive_and_third_order_intermodulation():
    """Per unit drive, tone read-outs do not change with the drive at weak drive; read-outs
    that hear only intermodulation grow as gain^2 (raw amplitude as gain^3)."""
    x = _x(8, seed=2)
    weak, weaker = (AcousticCavity(gain=g, seed=0).double() for g in (2e-4, 1e-4))
    tone = torch.isin(weak.read_bins, weak.tone_bins)
    assert 0 < tone.sum() < len(tone)
    y2, y1 = weak._physics(x), weaker._physics(x)
    torch.testing.assert_close(y2[:, tone], y1[:, tone], rtol=1e-4, atol=0)
    torch.testing.assert_close(
        y2[:, ~tone] / y1[:, ~tone], torch.full_like(y2[:, ~tone], 4.0), rtol=2e-3, atol=0
    )


def test_nonlinear_at_the_default_drive():
    x = _x(50, seed=3).float()
    linear = AcousticCavity(gain=0.001, seed=0)._physics(x)
    y = AcousticCavity(seed=0)._physics(x)  # gain 0.1
    assert (y - linear).norm() / y.norm() > 0.1
    strong = AcousticCavity(gain=MAX_GAIN, seed=0)._physics(x)
    assert (strong - linear).norm() / strong.norm() > (y - linear).norm() / y.norm()


def test_ring_down_energy_decays_monotonically_at_the_damping_rate():
    s = AcousticCavity(seed=0).double()
    M = s.n_resonators
    z0 = 0.1 * torch.randn(
        2 * M, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    n = 200
    energy = s.free_decay(z0, n)
    assert (energy[1:] <= energy[:-1] * (1 + 1e-9)).all()
    rates = (s.zeta * s.omega0).double()
    T = n * s.dt
    ratio = energy[-1] / energy[0]
    # each mode's energy decays like exp(-2 zeta w0 t); allow slack for mode mixing
    assert (ratio < math.exp(-2 * float(rates.min()) * T) * 10).all()
    assert (ratio > math.exp(-2 * float(rates.max()) * T) / 10).all()


@pytest.mark.parametrize("gain", [0.1, MAX_GAIN])
def test_stable_for_extreme_inputs(gain):
    s = AcousticCavity(gain=gain, seed=3)
    extremes = torch.cat(
        [
            torch.eye(20),
            torch.ones(1, 20),
            1e30 * torch.rand(2, 20),
            1e-30 * torch.rand(2, 20),
            torch.zeros(1, 20),
        ]
    )
    y = s(extremes)
    assert torch.isfinite(y).all()
    assert y[-1].abs().max() < 1e-6  # silence in, silence out


def test_twin_equals_system_and_its_gradient_matches_finite_differences():
    s = AcousticCavity(seed=1).double()
    twin = s.twin()
    x = _x(3, seed=7)
    torch.testing.assert_close(twin(x), s(x))
    xg = x.clone().requires_grad_(True)
    w = torch.randn(3, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    (twin(xg) * w).sum().backward()
    v = _x(3, seed=8)
    eps = 1e-6
    fd = ((twin(x + eps * v) - twin(x - eps * v)) * w).sum() / (2 * eps)
    assert (xg.grad * v).sum().item() == pytest.approx(fd.item(), rel=1e-5)


def test_mismatched_twin_differs_and_stays_finite():
    s = AcousticCavity(seed=0)
    x = _x(10).float()
    wrong = s.twin(mismatch=0.3, seed=1)(x)
    assert torch.isfinite(wrong).all()
    assert not torch.allclose(wrong, s(x), rtol=1e-2)


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="gain"):
        AcousticCavity(gain=1.0)
    with pytest.raises(ValueError, match="dt"):
        AcousticCavity(dt=1.0)
    s = AcousticCavity(seed=0)
    with torch.no_grad():
        s.beta.mul_(1e4)  # a membrane far outside the scheme's range
    with pytest.raises(FloatingPointError, match="diverged"):
        s(_x(2).float())
