"""PhyLL, forward-forward and the supervised baselines on small problems."""

import numpy as np
import pytest
import torch

from neuromorph.access import AccessError
from neuromorph.hardware_models.callable import CallableSystem
from neuromorph.learning_rules.baselines import PhysicalClassifier, SupervisedBaseline
from neuromorph.learning_rules.forward_forward import ForwardForward
from neuromorph.learning_rules.phyll import PhyLL
from neuromorph.networks.physical import (
    LabelEmbedding,
    PhysicalLayer,
    PhysicalNetwork,
    reserve_label_slots,
)

N_CLASSES, WIDTH = 3, 8


def blobs(n_per_class=60, seed=0):
    """Three Gaussian blobs in 4-D, non-negative, with 3 reserved label slots + padding."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2.0, 0, 0, 1], [0, 2.0, 1, 0], [1, 0, 2.0, 0]])
    x = torch.cat([c + 0.4 * torch.randn(n_per_class, 4, generator=gen) for c in centres])
    y = torch.arange(N_CLASSES).repeat_interleave(n_per_class)
    return reserve_label_slots(x.clamp_min(0), N_CLASSES, WIDTH), y


def numpy_black_box(seed=0):
    """A non-differentiable numpy 'instrument': |tanh(x M)| rounded to 3 decimals."""
    m = np.random.default_rng(seed).normal(size=(WIDTH, WIDTH)).astype(np.float32)
    return CallableSystem(lambda a: np.round(np.abs(np.tanh(a @ m)), 3), WIDTH, WIDTH)


def phyll_network(system, x, physics=True):
    torch.manual_seed(0)
    layers = [PhysicalLayer(system, WIDTH, physics=physics) for _ in range(2)]
    return PhysicalNetwork(layers, LabelEmbedding(N_CLASSES, float(x.abs().max())))


def test_phyll_learns_through_a_non_differentiable_numpy_black_box():
    x, y = blobs()
    xt, yt = blobs(seed=1)
    system = numpy_black_box()
    rule = PhyLL(phyll_network(system, x), lr=5e-3, inner_steps=5, seed=0)
    before = rule.accuracy(xt, yt)
    for _ in range(60):
        rule.train_batch(x, y)
    after = rule.accuracy(xt, yt)
    assert after > 0.9 and after > before
    assert system.queries > 0


def test_phyll_is_deterministic_under_a_seed():
    x, y = blobs()

    def run():
        rule = PhyLL(phyll_network(numpy_black_box(), x), lr=5e-3, inner_steps=2, seed=3)
        losses = [rule.train_batch(x, y) for _ in range(5)]
        return losses, rule.goodness_per_label(x)

    (l1, g1), (l2, g2) = run(), run()
    assert l1 == l2 and torch.equal(g1, g2)


def test_phyll_loss_is_softplus_of_goodness_gap():
    x, _ = blobs()
    rule = PhyLL(phyll_network(numpy_black_box(), x), alpha=4.0)
    g_pos, g_neg = torch.tensor([0.9, 0.2]), torch.tensor([0.1, 0.4])
    expected = (np.log1p(np.exp(-4 * 0.8)) + np.log1p(np.exp(-4 * -0.2))) / 2
    assert float(rule.loss(g_pos, g_neg)) == pytest.approx(expected, rel=1e-6)
    out = torch.tensor([[3.0, -4.0] + [0.0] * (WIDTH - 2)])
    probe = rule.probes[0]
    cos = float((out.abs()[0] @ probe) / 5.0)
    assert float(rule.goodness(0, out)) == pytest.approx(cos, rel=1e-5)


def test_wrong_labels_are_never_the_true_label():
    x, y = blobs()
    rule = PhyLL(phyll_network(numpy_black_box(), x))
    for _ in range(20):
        assert not (rule.wrong_labels(y) == y).any()


def test_label_embedding_writes_reserved_slots():
    emb = LabelEmbedding(3, scale=2.5)
    x = torch.ones(2, 6)
    out = emb(x, torch.tensor([2, 0]))
    assert out[:, :3].tolist() == [[0, 0, 2.5], [2.5, 0, 0]]
    assert torch.equal(out[:, 3:], x[:, 3:])


def test_too_many_features_for_the_system_is_a_clear_error():
    with pytest.raises(ValueError, match="n_in >= 9"):
        reserve_label_slots(torch.ones(2, 6), 3, 8)


def test_backprop_through_a_black_box_is_refused():
    x, _ = blobs()
    clf = PhysicalClassifier([PhysicalLayer(numpy_black_box(), WIDTH)], N_CLASSES)
    with pytest.raises(AccessError, match="forward-only"):
        SupervisedBaseline(clf, mode="direct")
    with pytest.raises(AccessError, match="no digital twin"):
        SupervisedBaseline(clf, mode="pat")


def test_physics_off_network_trains_with_direct_backprop():
    x, y = blobs()
    clf = PhysicalClassifier([PhysicalLayer(numpy_black_box(), WIDTH, physics=False)], N_CLASSES)
    rule = SupervisedBaseline(clf, mode="direct", lr=5e-2)
    for _ in range(100):
        rule.train_batch(x, y)
    assert rule.accuracy(*blobs(seed=1)) > 0.9


def test_forward_forward_learns_digital_layers():
    x, y = blobs()
    torch.manual_seed(0)
    layers = [torch.nn.Linear(WIDTH, 32), torch.nn.Linear(32, 32)]
    rule = ForwardForward(layers, LabelEmbedding(N_CLASSES, 3.0), N_CLASSES, lr=1e-2)
    for _ in range(150):
        rule.train_batch(x, y)
    assert rule.accuracy(*blobs(seed=1)) > 0.9


def test_bad_hyperparameters_fail_clearly():
    x, _ = blobs()
    net = phyll_network(numpy_black_box(), x)
    with pytest.raises(ValueError, match="alpha"):
        PhyLL(net, alpha=0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        PhyLL(net, optimizer="adamw2")
    with pytest.raises(ValueError, match="inner_steps"):
        PhyLL(net, inner_steps=0)
