"""PhyLL and the supervised baselines on small problems; the one-optimiser contract."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neuromorph.access import AccessError
from neuromorph.hardware_models.callable import CallableSystem
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.baselines import PhysicalClassifier, SupervisedBaseline
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
    rule = PhyLL(phyll_network(system, x), inner_steps=5, seed=0)
    opt = make_optimizer("adam", rule.parameters(), 5e-3)
    before = rule.accuracy(xt, yt)
    for _ in range(60):
        rule.train_batch(x, y, opt)
    after = rule.accuracy(xt, yt)
    assert after > 0.9 and after > before
    assert system.queries > 0


def test_phyll_is_deterministic_under_a_seed():
    x, y = blobs()

    def run():
        rule = PhyLL(phyll_network(numpy_black_box(), x), inner_steps=2, seed=3)
        opt = make_optimizer("adam", rule.parameters(), 5e-3)
        losses = [rule.train_batch(x, y, opt) for _ in range(5)]
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
    x = torch.cat([torch.zeros(2, 3), torch.ones(2, 3)], dim=1)  # zero label slots, then data
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
    rule = SupervisedBaseline(clf, mode="direct")
    opt = make_optimizer("adam", rule.parameters(), 5e-2)
    for _ in range(100):
        rule.train_batch(x, y, opt)
    assert rule.accuracy(*blobs(seed=1)) > 0.9


def test_bad_hyperparameters_fail_clearly():
    x, _ = blobs()
    net = phyll_network(numpy_black_box(), x)
    with pytest.raises(ValueError, match="alpha"):
        PhyLL(net, alpha=0)
    with pytest.raises(ValueError, match="inner_steps"):
        PhyLL(net, inner_steps=0)
    with pytest.raises(ValueError, match="needs an optimizer"):
        PhyLL(net).train_batch(*blobs(), None)


def _phyll_per_layer_reference(net, x, y, batches, alpha, lr, inner_steps, seed, probes):
    """The pre-unification schedule, written out independently: one Adam *per layer*, each
    layer trained ``inner_steps`` times on ``softplus(-alpha (G_pos - G_neg))`` with
    ``G = cos(|W f|, p)``, then its updated output handed to the next layer."""
    gen = torch.Generator().manual_seed(seed)
    opts = [torch.optim.Adam(layer.linear.parameters(), lr=lr) for layer in net.layers]
    history = []
    for _ in range(batches):
        wrong = (y + torch.randint(1, N_CLASSES, y.shape, generator=gen)) % N_CLASSES
        h_pos, h_neg = net.embedding(x, y), net.embedding(x, wrong)
        per_layer = []
        for layer, opt, p in zip(net.layers, opts, probes, strict=True):
            with torch.no_grad():
                f_pos, f_neg = layer.features(h_pos), layer.features(h_neg)
            total = 0.0
            for _ in range(inner_steps):
                g_pos = F.cosine_similarity(layer.linear(f_pos).abs(), p.expand(len(x), -1),
                                            dim=1, eps=1e-6)
                g_neg = F.cosine_similarity(layer.linear(f_neg).abs(), p.expand(len(x), -1),
                                            dim=1, eps=1e-6)
                loss = F.softplus(-alpha * (g_pos - g_neg)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            per_layer.append(total / inner_steps)
            with torch.no_grad():
                h_pos, h_neg = layer.linear(f_pos), layer.linear(f_neg)
        history.append(per_layer)
    return history


def test_one_outside_optimiser_equals_one_adam_per_layer_exactly():
    """The unified contract: PhyLL stepping ONE outside Adam layer by layer gives bit-identical
    losses and weights to the per-layer-Adam schedule (Adam's state is per parameter and
    ``zero_grad(set_to_none=True)`` leaves the other layers at ``grad=None``)."""
    x, y = blobs()
    ours_net = phyll_network(numpy_black_box(), x)
    ref_net = phyll_network(numpy_black_box(), x)
    rule = PhyLL(ours_net, alpha=3.0, inner_steps=3, seed=5)
    opt = make_optimizer("adam", rule.parameters(), 4e-3)
    ours = [rule.train_batch(x, y, opt) for _ in range(6)]
    ref = _phyll_per_layer_reference(ref_net, x, y, 6, 3.0, 4e-3, 3, 5, rule.probes)
    assert ours == ref
    for a, b in zip(ours_net.parameters(), ref_net.parameters(), strict=True):
        assert torch.equal(a, b)
    # and the training really moved every layer (the comparison is not vacuous)
    fresh = phyll_network(numpy_black_box(), x)
    for a, b in zip(ours_net.layers, fresh.layers, strict=True):
        assert not torch.equal(a.linear.weight, b.linear.weight)


def test_supervised_baseline_one_outside_optimiser_equals_a_hand_written_loop():
    """SupervisedBaseline.train_batch(x, y, opt) == Adam on the cross-entropy, written out."""
    x, y = blobs()
    torch.manual_seed(0)
    clf = PhysicalClassifier([PhysicalLayer(numpy_black_box(), WIDTH, physics=False)], N_CLASSES)
    torch.manual_seed(0)
    ref = PhysicalClassifier([PhysicalLayer(numpy_black_box(), WIDTH, physics=False)], N_CLASSES)
    rule = SupervisedBaseline(clf, mode="direct")
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    ref_opt = torch.optim.Adam(ref.trainable_parameters(), lr=1e-2)
    for _ in range(4):
        loss = rule.train_batch(x, y, opt)
        ref_loss = F.cross_entropy(ref(x), y)
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
        assert loss == float(ref_loss)
    for a, b in zip(clf.trainable_parameters(), ref.trainable_parameters(), strict=True):
        assert torch.equal(a, b)
