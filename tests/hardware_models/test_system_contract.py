"""The physical-system contract: validation, counting, forward-only access, twins, seeds."""

import numpy as np
import pytest
import torch

from neuromorph.access import AccessError
from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.callable import CallableSystem, as_system
from neuromorph.hardware_models.nonidealities import (
    ADC,
    DAC,
    AdditiveNoise,
    Drift,
    MultiplicativeNoise,
    Perturbation,
    ShotNoise,
)


class Square(PhysicalSystem):
    """y = (x M)^2 with a seeded M: a tiny differentiable test system."""

    def __init__(self, n_in=4, n_out=3, seed=0, nonidealities=()):
        super().__init__(n_in, n_out, nonidealities, seed)
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("m", torch.randn(n_in, n_out, generator=gen))

    def _physics(self, x):
        return (x @ self.m) ** 2


def test_counts_queries_and_calls():
    s = Square()
    s(torch.ones(5, 4))
    s(torch.ones(2, 4))
    assert (s.queries, s.calls) == (7, 2)


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.ones(4), "single sample"),
        (torch.ones(2, 5), r"\[B, 4\]"),
        (torch.tensor([[1.0, float("nan"), 0, 0]]), "NaN"),
    ],
)
def test_bad_input_is_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        Square()(bad)


def test_backward_through_black_box_raises_access_error():
    x = torch.ones(2, 4, requires_grad=True)
    y = Square()(x * 2)
    with pytest.raises(AccessError, match="forward-only"):
        y.sum().backward()


def test_twin_matches_ideal_physics_and_is_differentiable():
    s = Square(nonidealities=[AdditiveNoise(0.5)])
    x = torch.randn(6, 4)
    twin = s.twin()
    assert torch.allclose(twin(x), s._physics(x))
    xg = x.clone().requires_grad_(True)
    twin(xg).sum().backward()
    expected = 2 * (x @ s.m) @ s.m.T
    assert torch.allclose(xg.grad, expected, atol=1e-5)


def test_mismatched_twin_differs_but_exact_twin_does_not_touch_system():
    s = Square()
    before = s.m.clone()
    wrong = s.twin(mismatch=0.3, seed=1)
    x = torch.randn(6, 4)
    assert not torch.allclose(wrong(x), s._physics(x))
    assert torch.equal(s.m, before)


def test_same_seed_same_noisy_outputs_and_reseed_restarts_stream():
    x = torch.randn(8, 4)
    a = Square(seed=3, nonidealities=[AdditiveNoise(0.1), Drift(0.05)])
    b = Square(seed=3, nonidealities=[AdditiveNoise(0.1), Drift(0.05)])
    assert torch.equal(a(x), b(x)) and torch.equal(a(x), b(x))
    c = Square(seed=4, nonidealities=[AdditiveNoise(0.1)])
    assert not torch.equal(Square(seed=3, nonidealities=[AdditiveNoise(0.1)])(x), c(x))


def test_additive_and_multiplicative_noise_statistics():
    x = torch.ones(20000, 4)
    clean = Square()._physics(x)
    add = Square(nonidealities=[AdditiveNoise(0.2)])(x) - clean
    assert abs(float(add.std()) - 0.2) < 0.01 and abs(float(add.mean())) < 0.01
    mul = Square(nonidealities=[MultiplicativeNoise(0.1)])(x) / clean - 1
    assert abs(float(mul.std()) - 0.1) < 0.005


def test_shot_noise_variance_is_signal_over_photons():
    s = Square(nonidealities=[ShotNoise(photons=100.0)])
    x = torch.ones(40000, 4)
    clean = s._physics(x)[0]
    y = s(x)
    var = y.var(0)
    assert torch.allclose(var, clean / 100.0, rtol=0.08)


def test_dac_and_adc_levels():
    dac = DAC(bits=2, lo=0.0, hi=1.0)
    q = dac.on_input(torch.linspace(-0.5, 1.5, 101).unsqueeze(0), None)
    assert np.allclose(q.unique().numpy(), [0.0, 1 / 3, 2 / 3, 1.0])
    adc = ADC(bits=3, full_scale=2.0)
    levels = adc.on_output(torch.linspace(0, 3, 1000).unsqueeze(0), None).unique()
    assert len(levels) == 8 and float(levels.max()) == 2.0


def test_drift_grows_like_a_random_walk():
    s = Square(nonidealities=[Drift(rate=0.01)])
    x = torch.ones(1, 4)
    clean = s._physics(x)
    ratios = torch.stack([s(x)[0] / clean[0] for _ in range(400)])
    log_gain = ratios.log()
    assert float(log_gain[0].abs().max()) == 0.0  # first call: no drift yet
    assert 0.1 < float(log_gain[-1].std()) < 0.4 or float(log_gain[-1].abs().mean()) > 0.05


def test_perturbation_changes_hardware_once_at_the_chosen_call():
    s = Square(nonidealities=[Perturbation(at_call=2, strength=0.5)])
    x = torch.randn(3, 4)
    y0, y1 = s(x), s(x)
    assert torch.equal(y0, y1)
    y2, y3 = s(x), s(x)
    assert not torch.allclose(y1, y2) and torch.equal(y2, y3)


def test_callable_numpy_black_box_plugs_in_unchanged():
    m = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    system = as_system(lambda a: np.tanh(a @ m), n_in=3)
    assert isinstance(system, CallableSystem) and system.n_out == 2
    y = system(torch.ones(4, 3))
    assert torch.allclose(y, torch.tanh(torch.ones(4, 3) @ torch.from_numpy(m)))
    with pytest.raises(AccessError, match="no digital twin"):
        system.twin()


def test_callable_with_wrong_output_shape_is_a_clear_error():
    system = CallableSystem(lambda a: a[:, :1], n_in=3, n_out=2)
    with pytest.raises(ValueError, match="expected"):
        system(torch.ones(4, 3))


@pytest.mark.parametrize("effect", [lambda: AdditiveNoise(-1), lambda: DAC(0), lambda: ADC(4, 0)])
def test_impossible_nonideality_settings_fail(effect):
    with pytest.raises(ValueError):
        effect()
