"""DFA and DRTP: BP equivalence, no differentiation through F, seeds, refusals, learning."""

import pytest
import torch
import torch.nn.functional as F

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.feedback import DFA, DRTP
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage, Transform
from neuromorph.substrates import build_network
from tests.learning_rules.forward_only_probe import GradRefusingReLU, GradRefusingSystem

N_IN, HIDDEN, C = 7, 12, 3


def stack(transform: Transform, seed: int = 0) -> StackNet:
    torch.manual_seed(seed)
    return StackNet([Stage(Identity(N_IN), transform.n_in), Stage(transform, C)])


def blobs(n_per_class: int = 40, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(C, N_IN, generator=gen)
    x = torch.cat([c + 0.5 * torch.randn(n_per_class, N_IN, generator=gen) for c in centres])
    return x, torch.arange(C).repeat_interleave(n_per_class)


def bp_grads(net: StackNet, x, y) -> list[torch.Tensor]:
    params = net.trainable_parameters()
    loss = F.cross_entropy(net(x), y)
    return list(torch.autograd.grad(loss, params))


def rule_grads(rule, x, y) -> list[torch.Tensor]:
    for p in rule.parameters():
        p.grad = None
    rule.compute_grads(x, y)
    return [p.grad.clone() for p in rule.net.trainable_parameters()]


@pytest.mark.parametrize("transform", [Identity(HIDDEN), ReLU(HIDDEN)], ids=["linear", "relu"])
def test_dfa_with_transposed_output_weights_equals_backprop(transform):
    net = stack(transform)
    x, y = blobs()
    w2 = net.layers[1].linear.weight.detach()
    dfa = DFA(net, derivative="local", feedback=[w2])
    for got, want in zip(rule_grads(dfa, x, y), bp_grads(net, x, y), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    # the comparison can fail: a random feedback matrix gives a different hidden gradient
    random_fb = DFA(net, seed=3, derivative="local")
    assert not torch.allclose(rule_grads(random_fb, x, y)[0], bp_grads(net, x, y)[0])


@pytest.mark.parametrize("rule_cls", [DFA, DRTP])
@pytest.mark.parametrize("make, derivative", [(GradRefusingReLU, "local"),
                                              (GradRefusingSystem, "none")])
def test_never_differentiates_through_the_transform(rule_cls, make, derivative):
    net = stack(make(HIDDEN))
    x, y = blobs()
    rule = rule_cls(net, derivative=derivative)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    before = [p.detach().clone() for p in rule.parameters()]
    for _ in range(3):
        rule.train_batch(x, y, opt)
    assert all(not torch.equal(a, b) for a, b in zip(before, rule.parameters(), strict=True))
    # control: an autograd forward (what backprop runs) hands it a graph, and it refuses
    with pytest.raises(AssertionError, match="requires grad"):
        net(x)


@pytest.mark.parametrize("rule_cls", [DFA, DRTP])
def test_deterministic_under_seed(rule_cls):
    x, y = blobs()

    def trained(seed: int) -> list[torch.Tensor]:
        rule = rule_cls(stack(ReLU(HIDDEN), seed=0), seed=seed, derivative="local")
        opt = make_optimizer("adam", rule.parameters(), 1e-2)
        for _ in range(5):
            rule.train_batch(x, y, opt)
        return rule.feedback + [p.detach() for p in rule.parameters()]

    a, b, other = trained(1), trained(1), trained(2)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[0], other[0])


@pytest.mark.parametrize("rule_cls", [DFA, DRTP])
def test_refuses_local_derivative_on_forward_only_substrates(rule_cls):
    for substrate in ("optical", "loihi_int"):
        net = build_network(substrate, 20, C, seed=0)
        with pytest.raises(AccessError, match="derivative='none'") as err:
            rule_cls(net, derivative="local")
        assert "forward-only" in str(err.value)
        assert rule_cls(net, derivative="auto").requires == Access.FORWARD_ONLY
    assert rule_cls(build_network("spiking", 20, C, seed=0), derivative="auto").requires \
        == Access.LOCAL


def test_bad_options_are_clear_errors():
    net = stack(ReLU(HIDDEN))
    with pytest.raises(ValueError, match="derivative must be one of"):
        DFA(net, derivative="exact")
    with pytest.raises(ValueError, match=r"must be \[3, 12\]"):
        DFA(net, feedback=[torch.zeros(HIDDEN, C)])


def test_drtp_hidden_signal_is_the_projected_target():
    """DRTP's hidden update does not depend on the output: delta_1 = (-onehot(y)/B) B_1 * F'."""
    net = stack(ReLU(HIDDEN))
    x, y = blobs()
    rule = DRTP(net, seed=4, derivative="local")
    grads = rule_grads(rule, x, y)
    z = net.layers[0].linear(x).detach()
    delta = (-F.one_hot(y, C).float() / x.shape[0]) @ rule.feedback[0] * (z > 0).float()
    torch.testing.assert_close(grads[0], delta.t() @ x)
    with torch.no_grad():
        net.layers[1].linear.weight.mul_(-3.0)  # a different output leaves it unchanged
    torch.testing.assert_close(rule_grads(rule, x, y)[0], grads[0])


@pytest.mark.parametrize("rule_cls", [DFA, DRTP])
@pytest.mark.parametrize("make, derivative", [(ReLU, "local"), (GradRefusingSystem, "none")])
def test_learns_separable_blobs(rule_cls, make, derivative):
    net = stack(make(HIDDEN), seed=1)
    x, y = blobs(seed=1)
    rule = rule_cls(net, seed=0, derivative=derivative)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    start = rule.accuracy(x, y)
    for _ in range(150):
        rule.train_batch(x, y, opt)
    assert rule.accuracy(x, y) >= 0.95 > start
