"""Systems fitted from measured pairs: error on held-out pairs, normalisation, caching."""

import numpy as np
import pytest
import torch

from neuromorph.hardware_models import make_system
from neuromorph.hardware_models.fitted import fit_system, load_measured_pairs, normalize_drive


def test_fit_recovers_a_known_nonlinear_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 4)) / 2
    x = rng.uniform(0, 1, size=(2000, 5)).astype(np.float32)
    y = np.tanh(x @ m).astype(np.float32) ** 2
    system, report = fit_system(x, y, hidden=(32, 32), epochs=60, batch_size=128, lr=5e-3)
    assert report.test_r2 > 0.97 and report.n_test == 200
    pred = system(torch.from_numpy(x[:10]))
    assert pred.shape == (10, 4)


def test_fit_rejects_bad_pairs():
    with pytest.raises(ValueError, match="same N"):
        fit_system(np.zeros((20, 3)), np.zeros((19, 2)))
    bad = np.ones((20, 3))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_system(bad, np.ones((20, 2)))


def test_l2_drive_normalisation_is_scale_invariant():
    x = torch.rand(4, 20)
    a, b = normalize_drive(x, "l2", 1.0), normalize_drive(3 * x, "l2", 1.0)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a.norm(dim=1), torch.ones(4), atol=1e-4)


def test_measured_acoustic_layer_fits_held_out_pairs(phyll_data):
    x, y = load_measured_pairs(
        phyll_data / "acoustic_inputs.csv", phyll_data / "acoustic_outputs.csv"
    )
    assert x.shape == (10000, 20) and y.shape == (10000, 20)  # the all-zero first row is dropped
    system = make_system("measured-acoustic", 20, 20, data_dir=str(phyll_data))
    report = system.fit_report
    assert report.test_r2 > 0.95, report
    again = make_system("measured-acoustic", 20, 20, data_dir=str(phyll_data))  # cache hit
    probe = torch.rand(3, 20)
    assert torch.equal(system(probe), again(probe))
