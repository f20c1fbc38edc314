"""Microwave metasurface cavity: quantised states, reciprocity, passivity, unitarity, twin."""

import pytest
import torch

from neuromorph.hardware_models.microwave import MicrowaveMetasurfaceCavity, quantise


def _x(b: int, n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_shapes_range_and_determinism():
    a, b, c = (MicrowaveMetasurfaceCavity(12, 9, seed=k) for k in (1, 1, 2))
    x = _x(6, 12).float()
    y = a(x)
    assert y.shape == (6, 9) and torch.isfinite(y).all()
    assert (y >= 0).all() and (y <= 1).all()
    assert torch.equal(y, b(x))
    assert not torch.allclose(y, c(x))


@pytest.mark.parametrize(
    "bits, x, states",
    [
        (1, [0.0, 0.49, 0.5, 0.7, 1.0, -3.0, 7.0], [0, 0, 1, 1, 1, 0, 1]),
        (2, [0.0, 0.16, 0.17, 0.5, 0.83, 0.84, 1.2], [0, 0, 1 / 3, 2 / 3, 2 / 3, 1, 1]),
    ],
)
def test_quantisation_levels_and_thresholds(bits, x, states):
    got = quantise(torch.tensor([x], dtype=torch.float64), bits)
    torch.testing.assert_close(got, torch.tensor([states], dtype=torch.float64))


@pytest.mark.parametrize("bits", [1, 2])
def test_output_depends_on_x_only_through_the_states(bits):
    s = MicrowaveMetasurfaceCavity(16, 10, bits=bits, seed=3)
    x = _x(8, 16)
    levels = 2**bits - 1
    states = torch.floor(x * levels + 0.5) / levels
    # another input in the same quantisation cell: state +- (up to) 0.45 of a level
    jitter = (_x(8, 16, seed=1) - 0.5) * 0.9 / levels
    other = (states + jitter).clamp(0, 1)
    assert not torch.equal(other, x)
    torch.testing.assert_close(s(other), s(x), rtol=0, atol=0)
    flipped = x.clone()
    flipped[:, 0] = 1 - states[:, 0]  # a different state of element 0
    assert not torch.allclose(s(flipped), s(x))


def test_fast_path_equals_direct_coupled_mode_solve_and_is_reciprocal():
    s = MicrowaveMetasurfaceCavity(10, 7, bits=2, seed=4).double()
    x = _x(5, 10)
    dense = s.s_matrix_dense(x)  # a general solve: nothing forces S12 = S21
    torch.testing.assert_close(dense[..., 0, 1], dense[..., 1, 0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(s.s_matrix(x), dense, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(s._physics(x), dense[..., 1, 0].abs(), rtol=1e-8, atol=1e-10)


def test_passive_with_loss_and_unitary_without():
    x = _x(40, 14)
    lossy = MicrowaveMetasurfaceCavity(14, 11, seed=5).double()
    sv = torch.linalg.svdvals(lossy.s_matrix(x))
    assert sv.max() < 1.0 and sv.max() > 0.5  # passive, but not trivially weak
    lossless = MicrowaveMetasurfaceCavity(14, 11, loss=0.0, seed=5).double()
    S = lossless.s_matrix(x)
    eye = torch.eye(2, dtype=S.dtype)
    torch.testing.assert_close(S.mH @ S, eye.expand_as(S), rtol=0, atol=1e-10)
    dense = lossless.s_matrix_dense(x)
    torch.testing.assert_close(dense.mH @ dense, eye.expand_as(S), rtol=0, atol=1e-10)


def test_structural_nonlinearity_violates_superposition():
    """Switching two elements together is not the sum of switching each: multiple scattering."""
    s = MicrowaveMetasurfaceCavity(20, 16, seed=6).double()
    base = (_x(30, 20) > 0.5).double()
    a, b = base.clone(), base.clone()
    a[:, 2] = 1 - a[:, 2]
    b[:, 7] = 1 - b[:, 7]
    ab = a.clone()
    ab[:, 7] = 1 - ab[:, 7]
    s21 = {k: s.s_matrix(v)[..., 1, 0] for k, v in dict(o=base, a=a, b=b, ab=ab).items()}
    interaction = s21["ab"] - s21["a"] - s21["b"] + s21["o"]
    single = s21["a"] - s21["o"]
    assert interaction.abs().mean() > 0.1 * single.abs().mean()
    # and a linear model of the binary states leaves much of |S21| unexplained
    states = (_x(3000, 20, seed=2) > 0.5).double()
    y = s._physics(states)
    design = torch.cat([states, torch.ones(3000, 1, dtype=torch.float64)], 1)
    fit = torch.linalg.lstsq(design[:2500], y[:2500]).solution
    resid = y[2500:] - design[2500:] @ fit
    assert 1 - resid.var() / y[2500:].var() < 0.9


def test_twin_equals_system_and_straight_through_gradient_is_the_continuous_model():
    s = MicrowaveMetasurfaceCavity(8, 6, bits=1, seed=7).double()
    twin = s.twin()
    x = (_x(3, 8) > 0.5).double()  # on the states: the straight-through point
    torch.testing.assert_close(twin(x), s(x), rtol=1e-8, atol=1e-10)
    xg = x.clone().requires_grad_(True)
    w = _x(3, 6, seed=3)
    (twin(xg) * w).sum().backward()
    assert torch.isfinite(xg.grad).all() and xg.grad.abs().sum() > 0

    def continuous(states):  # |S21| of the same cavity with unquantised element states
        g11, g22, g12 = s.coupling_matrix(s.hamiltonian(states)).unbind(-1)
        return (4 * g12 / ((g11 + 2) * (g22 + 2) - g12 * g12)).abs()

    v = _x(3, 8, seed=4)
    eps = 1e-6
    fd = ((continuous(x + eps * v) - continuous(x - eps * v)) * w).sum() / (2 * eps)
    assert (xg.grad * v).sum().item() == pytest.approx(fd.item(), rel=1e-5)


def test_perturbed_or_mismatched_device_stays_reciprocal():
    s = MicrowaveMetasurfaceCavity(10, 5, seed=8).double()
    wrong = s.twin(mismatch=0.3, seed=2).model
    x = _x(4, 10)
    dense = wrong.s_matrix_dense(x)
    torch.testing.assert_close(dense[..., 0, 1], dense[..., 1, 0], rtol=1e-10, atol=1e-12)
    assert not torch.allclose(wrong(x), s(x))


@pytest.mark.parametrize(
    "options, match",
    [({"bits": 3}, "bits"), ({"loss": -0.1}, "loss"), ({"n_modes": 1}, "n_modes")],
)
def test_bad_options_are_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        MicrowaveMetasurfaceCavity(4, 3, **options)
