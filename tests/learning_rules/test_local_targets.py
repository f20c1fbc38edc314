"""Mono-Forward and CaFo: local gradients against autograd references, access, seeds, learning."""

import pytest
import torch
import torch.nn.functional as F

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.local_targets import CaFo, MonoForward
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage, Transform
from neuromorph.substrates import build_network
from tests.learning_rules.forward_only_probe import GradRefusingReLU, GradRefusingSystem

N_IN, HIDDEN, C = 7, 12, 3


def stack(*transforms: Transform, seed: int = 0) -> StackNet:
    torch.manual_seed(seed)
    widths = [t.n_in for t in transforms] + [C]
    stages = [Stage(Identity(N_IN), widths[0])]
    stages += [Stage(t, w) for t, w in zip(transforms, widths[1:], strict=True)]
    return StackNet(stages)


def blobs(n_per_class: int = 40, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(C, N_IN, generator=gen)
    x = torch.cat([c + 0.5 * torch.randn(n_per_class, N_IN, generator=gen) for c in centres])
    return x, torch.arange(C).repeat_interleave(n_per_class)


def fresh_grads(rule, x, y):
    for p in rule.parameters():
        p.grad = None
    rule.compute_grads(x, y)


def test_mono_forward_gradients_match_autograd_of_the_local_losses():
    net = stack(ReLU(HIDDEN))
    x, y = blobs()
    rule = MonoForward(net, seed=2, derivative="local")
    fresh_grads(rule, x, y)
    w1, b1 = (p.detach().clone().requires_grad_(True) for p in net.layers[0].linear.parameters())
    m = rule.projections[0].weight.detach().clone().requires_grad_(True)
    hidden_loss = F.cross_entropy(torch.relu(x @ w1.t() + b1) @ m.t(), y)
    for got, want in zip((net.layers[0].linear.weight, net.layers[0].linear.bias,
                          rule.projections[0].weight),
                         torch.autograd.grad(hidden_loss, (w1, b1, m)), strict=True):
        torch.testing.assert_close(got.grad, want)
    w2, b2 = (p.detach().clone().requires_grad_(True) for p in net.layers[1].linear.parameters())
    h = torch.relu(net.layers[0].linear(x)).detach()
    out_loss = F.cross_entropy(h @ w2.t() + b2, y)
    for got, want in zip(net.layers[1].linear.parameters(),
                         torch.autograd.grad(out_loss, (w2, b2)), strict=True):
        torch.testing.assert_close(got.grad, want)


def test_mono_forward_without_derivative_uses_the_pre_activation_goodness():
    net = stack(GradRefusingSystem(HIDDEN))
    x, y = blobs()
    rule = MonoForward(net, seed=2, derivative="none")
    assert rule.requires == Access.FORWARD_ONLY
    fresh_grads(rule, x, y)
    w1 = net.layers[0].linear.weight.detach().clone().requires_grad_(True)
    z = x @ w1.t() + net.layers[0].linear.bias.detach()
    (want,) = torch.autograd.grad(F.cross_entropy(z @ rule.projections[0].weight.t(), y), w1)
    torch.testing.assert_close(net.layers[0].linear.weight.grad, want)


def test_cafo_three_blocks_local_errors_and_summed_predictions():
    net = stack(ReLU(HIDDEN), ReLU(5))
    x, y = blobs()
    rule = CaFo(net, seed=1, blocks="dfa", derivative="local")
    fresh_grads(rule, x, y)
    feats, outs = net.record(x)
    # block 0's predictor P_0 and its own error reach W_1 through B_1 (not the output's error)
    p0 = rule.predictors[0]
    e0 = (torch.softmax(p0(feats[1]), 1) - F.one_hot(y, C).float()) / x.shape[0]
    torch.testing.assert_close(p0.weight.grad, e0.t() @ feats[1])
    delta0 = e0 @ rule.feedback[0] * (outs[0] > 0).float()
    torch.testing.assert_close(net.layers[0].linear.weight.grad, delta0.t() @ x)
    # the readout W_3 is the last block's predictor
    e1 = (torch.softmax(outs[2], 1) - F.one_hot(y, C).float()) / x.shape[0]
    torch.testing.assert_close(net.layers[2].linear.weight.grad, e1.t() @ feats[2])
    want = (torch.softmax(p0(feats[1]), 1) + torch.softmax(outs[2], 1)).argmax(1)
    assert torch.equal(rule.predict(x), want)


def test_cafo_random_blocks_stay_fixed_and_need_only_forward_access():
    net = stack(GradRefusingSystem(HIDDEN))
    x, y = blobs()
    rule = CaFo(net, blocks="random")
    assert rule.requires == Access.FORWARD_ONLY
    w1 = net.layers[0].linear.weight.detach().clone()
    assert all(p is not net.layers[0].linear.weight for p in rule.parameters())
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    for _ in range(5):
        rule.train_batch(x, y, opt)
    assert torch.equal(net.layers[0].linear.weight, w1)


@pytest.mark.parametrize("build", [
    lambda net: MonoForward(net, derivative="local"),
    lambda net: CaFo(net, blocks="dfa", derivative="local"),
])
def test_never_differentiates_through_the_transform(build):
    net = stack(GradRefusingReLU(HIDDEN))
    x, y = blobs()
    rule = build(net)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    for _ in range(3):
        rule.train_batch(x, y, opt)
    assert rule.accuracy(x, y) > 0
    with pytest.raises(AssertionError, match="requires grad"):
        net(x)  # control: an autograd forward hands the transform a graph


@pytest.mark.parametrize("rule_cls", [MonoForward, CaFo])
def test_refuses_local_derivative_on_forward_only_substrates(rule_cls):
    net = build_network("loihi_int", 20, C, seed=0)
    with pytest.raises(AccessError, match="derivative='none'"):
        rule_cls(net, derivative="local")
    assert rule_cls(net, derivative="auto").requires == Access.FORWARD_ONLY


def test_bad_block_option():
    with pytest.raises(ValueError, match="blocks must be one of"):
        CaFo(stack(ReLU(HIDDEN)), blocks="pretrained")


@pytest.mark.parametrize("make_rule", [
    lambda net, seed: MonoForward(net, seed=seed),
    lambda net, seed: CaFo(net, seed=seed, blocks="dfa"),
])
def test_deterministic_under_seed(make_rule):
    x, y = blobs()

    def trained(seed: int) -> list[torch.Tensor]:
        rule = make_rule(stack(ReLU(HIDDEN), ReLU(5)), seed)
        opt = make_optimizer("adam", rule.parameters(), 1e-2)
        for _ in range(5):
            rule.train_batch(x, y, opt)
        return [p.detach().clone() for p in rule.parameters()] + rule.state_tensors()

    a, b, other = trained(1), trained(1), trained(2)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not all(torch.equal(u, v) for u, v in zip(a, other, strict=True))


@pytest.mark.parametrize("make_rule", [
    lambda net: MonoForward(net, derivative="auto"),
    lambda net: CaFo(net, blocks="dfa", derivative="auto"),
])
@pytest.mark.parametrize("transform", [ReLU, GradRefusingSystem])
def test_learns_separable_blobs(make_rule, transform):
    net = stack(transform(HIDDEN), seed=1)
    x, y = blobs(seed=1)
    rule = make_rule(net)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    start = rule.accuracy(x, y)
    for _ in range(150):
        rule.train_batch(x, y, opt)
    assert rule.accuracy(x, y) >= 0.95 > start
