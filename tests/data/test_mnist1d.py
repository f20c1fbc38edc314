"""MNIST-1D generator: shapes, determinism, the transformation steps and learnability."""

import numpy as np
import pytest
import torch

from neuromorph.data.mnist1d import TEMPLATES, make_mnist1d, transform_template


def test_shapes_split_and_balance():
    d = make_mnist1d(500, seed=0)
    assert d.x_train.shape == (400, 40) and d.x_test.shape == (100, 40)
    assert d.y_train.dtype == torch.int64 and d.t.shape == (40,)
    y = torch.cat([d.y_train, d.y_test])
    assert torch.bincount(y).tolist() == [50] * 10


def test_same_seed_same_data():
    a, b, c = make_mnist1d(100, seed=3), make_mnist1d(100, seed=3), make_mnist1d(100, seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_without_noise_the_transform_is_a_resampled_template():
    rng = np.random.default_rng(0)
    x = transform_template(
        TEMPLATES[8], rng, padding=(0, 0), scale_coeff=0.0, max_translation=0,
        corr_noise_scale=0.0, iid_noise_scale=0.0, shear_scale=0.0, final_seq_length=12,
    )
    np.testing.assert_allclose(x, TEMPLATES[8], atol=1e-12)


def test_shear_adds_a_linear_ramp():
    # with only shear active, x - template is a straight line through zero at the middle
    rng = np.random.default_rng(1)
    x = transform_template(
        TEMPLATES[3], rng, padding=(0, 0), scale_coeff=0.0, max_translation=0,
        corr_noise_scale=0.0, iid_noise_scale=0.0, shear_scale=2.0, final_seq_length=12,
    )
    diff = x - TEMPLATES[3]
    assert np.abs(diff).max() > 1e-3
    np.testing.assert_allclose(np.diff(diff, 2), 0.0, atol=1e-12)
    assert abs(diff.mean()) < 1e-12


def test_data_set_is_learnable_but_not_trivial():
    neighbors = pytest.importorskip("sklearn.neighbors")
    linear = pytest.importorskip("sklearn.linear_model")
    d = make_mnist1d(2000, seed=0)
    knn = neighbors.KNeighborsClassifier(5).fit(d.x_train, d.y_train).score(d.x_test, d.y_test)
    lin = linear.LogisticRegression(max_iter=500).fit(d.x_train, d.y_train)
    lin_acc = lin.score(d.x_test, d.y_test)
    assert knn > 0.5  # chance is 0.1
    assert lin_acc < 0.6  # translation makes it hard for a linear model (as in the paper)


def test_argument_errors():
    with pytest.raises(ValueError, match="train_split"):
        make_mnist1d(100, train_split=1.0)
    with pytest.raises(ValueError, match="padding"):
        make_mnist1d(100, padding=(10, 5))
