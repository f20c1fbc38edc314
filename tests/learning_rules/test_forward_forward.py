"""Forward-forward, collaborative FF and PhyLL on StackNets: analytic cases, contract, seeds."""

import copy

import pytest
import torch
import torch.nn.functional as F

from neuromorph.experiments.rules_entries import Context
from neuromorph.experiments.rules_entries.forward_forward import ENTRIES
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.collaborative_ff import CollaborativeFF
from neuromorph.learning_rules.forward_forward import ForwardForward
from neuromorph.networks.physical import LabelEmbedding
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage
from tests.learning_rules.forward_only_probe import GradRefusingSystem

C = 3


def blobs(n_per_class=40, seed=0):
    """Three Gaussian blobs in 6-D behind ``C`` zero label slots (the matrix's data layout)."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2.0, 0, 0, 1, 0, 0], [0, 2.0, 1, 0, 0, 1], [1, 0, 2.0, 0, 1, 0]])
    x = torch.cat([c + 0.4 * torch.randn(n_per_class, 6, generator=gen) for c in centres])
    y = torch.arange(C).repeat_interleave(n_per_class)
    return torch.cat([torch.zeros(len(x), C), x], dim=1), y


def stack(widths, seed=0, substrate=None):
    """Identity input stage, then ``substrate`` (default ReLU) between later maps."""
    torch.manual_seed(seed)
    stages = [Stage(Identity(widths[0]), widths[1])]
    for a, b in zip(widths[1:-1], widths[2:], strict=True):
        stages.append(Stage(substrate(a) if substrate else ReLU(a), b))
    return StackNet(stages, LabelEmbedding(C, 1.0))


def rms_normalised(f):
    return f / f.pow(2).mean(dim=1, keepdim=True).sqrt()


def wrong_labels(y, seed):
    gen = torch.Generator().manual_seed(seed)
    return (y + torch.randint(1, C, y.shape, generator=gen)) % C


def test_cff_on_one_layer_is_ff_exactly_and_both_match_the_written_out_loss():
    """One layer: CFF's collaborative goodness is the layer's own, so loss and gradient equal
    FF's, and both equal ``softplus(t - G_pos) + softplus(G_neg - t)`` with
    ``G = mean relu(W x/rms(x) + b)^2``, written out here."""
    x, y = blobs()
    nets = [stack([9, 16], seed=4) for _ in range(3)]
    ff, cff = ForwardForward(nets[0], 1.5, seed=7), CollaborativeFF(nets[1], 1.5, seed=7)
    loss_ff, loss_cff = ff.compute_grads(x, y), cff.compute_grads(x, y)
    lin = nets[2].layers[0].linear
    emb = nets[2].embedding

    def good(h):
        return F.relu(rms_normalised(h) @ lin.weight.T + lin.bias).pow(2).mean(dim=1)

    ref = (F.softplus(1.5 - good(emb(x, y)))
           + F.softplus(good(emb(x, wrong_labels(y, 7))) - 1.5)).mean()
    ref.backward()
    assert loss_ff == loss_cff
    assert loss_ff == pytest.approx(float(ref.detach()), rel=1e-6)
    for a, b, r in zip(nets[0].parameters(), nets[1].parameters(), nets[2].parameters(),
                       strict=True):
        assert torch.equal(a.grad, b.grad)
        torch.testing.assert_close(a.grad, r.grad, rtol=1e-5, atol=1e-7)


def test_cff_gradient_of_each_layer_sees_the_others_goodness_as_a_constant():
    """Two layers: layer k's gradient is that of ``L(G_k + sg(G_other))``, computed here by
    hand from the recorded activity, and it differs from FF's (collaboration is not a no-op)."""
    x, y = blobs()
    net, ref_net, ff_net = stack([9, 12, 5], 2), stack([9, 12, 5], 2), stack([9, 12, 5], 2)
    CollaborativeFF(net, 2.0, seed=1).compute_grads(x, y)
    ForwardForward(ff_net, 2.0, seed=1).compute_grads(x, y)
    w1, w2 = ref_net.layers[0].linear, ref_net.layers[1].linear
    emb = ref_net.embedding

    def goods(h):
        o1 = F.relu(w1(rms_normalised(h)))
        o2 = F.relu(w2(rms_normalised(torch.relu(o1.detach()))))
        return o1.pow(2).mean(dim=1), o2.pow(2).mean(dim=1)

    g1p, g2p = goods(emb(x, y))
    g1n, g2n = goods(emb(x, wrong_labels(y, 1)))

    def loss(gp, gn):
        return (F.softplus(2.0 - gp) + F.softplus(gn - 2.0)).mean()

    total = loss(g1p + g2p.detach(), g1n + g2n.detach()) + loss(g2p + g1p.detach(),
                                                                  g2n + g1n.detach())
    total.backward()
    for got, want in zip(net.parameters(), ref_net.parameters(), strict=True):
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(net.layers[0].linear.weight.grad,
                              ff_net.layers[0].linear.weight.grad)


def test_ff_one_outside_optimiser_equals_one_adam_per_layer():
    """The contract: FF's summed layer-local loss stepped by one Adam == each layer stepped by
    its own Adam on its own loss (inputs detached between layers)."""
    x, y = blobs()
    net, ref = stack([9, 12, 5], 3), stack([9, 12, 5], 3)
    rule = ForwardForward(net, 2.0, seed=2)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    ref_rule = ForwardForward(ref, 2.0, seed=2)  # its pieces only; the schedule is written here
    opts = [torch.optim.Adam(s.linear.parameters(), lr=1e-2) for s in ref.layers]
    gen = torch.Generator().manual_seed(2)
    for _ in range(5):
        rule.train_batch(x, y, opt)
        wrong = (y + torch.randint(1, C, y.shape, generator=gen)) % C
        h_pos, h_neg = ref.embedding(x, y), ref.embedding(x, wrong)
        for k, o in enumerate(opts):
            f_pos, f_neg = ref_rule.features(k, h_pos), ref_rule.features(k, h_neg)
            out_pos, out_neg = ref_rule.output(k, f_pos), ref_rule.output(k, f_neg)
            layer_loss = ref_rule.loss(out_pos.pow(2).mean(1), out_neg.pow(2).mean(1))
            o.zero_grad()
            layer_loss.backward()
            o.step()
            h_pos, h_neg = out_pos.detach(), out_neg.detach()
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("rule_cls", [ForwardForward, CollaborativeFF])
def test_ff_family_learns_blobs(rule_cls):
    x, y = blobs()
    rule = rule_cls(stack([9, 32, 8], 0), 2.0, seed=0)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    for _ in range(60):
        rule.train_batch(x, y, opt)
    assert rule.accuracy(*blobs(seed=1)) > 0.9


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_entry_is_deterministic_and_never_differentiates_the_substrate(entry):
    """Same seed, same losses and weights; the substrate raises if handed a grad tensor."""
    x, y = blobs()

    def run():
        net = stack([9, 8, C], 0, substrate=lambda n: GradRefusingSystem(n, seed=5))
        ctx = Context(C, 11, net.embedding, x, y)
        rule = entry.build(net, ctx)
        opt = make_optimizer(entry.optimizer, rule.parameters(), entry.lr)
        losses = [rule.train_batch(x[i::3], y[i::3], opt) for i in range(3)]
        return losses, [p.detach().clone() for p in rule.parameters()], rule.predict(x)

    (l1, p1, y1), (l2, p2, y2) = run(), run()
    assert l1 == l2 and torch.equal(y1, y2)
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in l1)


def test_bad_arguments_fail_clearly():
    net = stack([9, 8, C])
    with pytest.raises(ValueError, match="threshold"):
        ForwardForward(net, threshold=0.0)
    with pytest.raises(ValueError, match="gamma"):
        CollaborativeFF(net, gamma=-1.0)
    bare = copy.deepcopy(net)
    bare.embedding = None
    with pytest.raises(ValueError, match="label embedding"):
        ForwardForward(bare)
    with pytest.raises(ValueError, match="needs an optimizer"):
        ForwardForward(net).train_batch(*blobs(), None)


@pytest.mark.parametrize("rule_cls", [ForwardForward, CollaborativeFF])
def test_one_batched_call_equals_separate_calls_on_a_deterministic_substrate(rule_cls):
    """``batch_calls``: the same loss, gradients and scores, with fewer substrate calls."""
    x, y = blobs()
    results = []
    for batched in (True, False):
        net = stack([9, 8, C], 0, substrate=lambda n: GradRefusingSystem(n, seed=5))
        rule = rule_cls(net, 2.0, seed=4, batch_calls=batched)
        loss = rule.compute_grads(x, y)
        calls = net.physical_queries()
        results.append((loss, [p.grad for p in rule.parameters()],
                        rule.goodness_per_label(x), calls))
    (l1, g1, s1, q1), (l2, g2, s2, q2) = results
    assert l1 == pytest.approx(l2, rel=1e-6) and q1 == q2 == 2 * len(x)
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(s1, s2, rtol=1e-5, atol=1e-7)
