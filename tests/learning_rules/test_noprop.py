"""NoProp-DT: the schedule's algebra, blocks isolated from each other, access, seeds, learning."""

import pytest
import torch

from neuromorph.access import AccessError
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.noprop import NoPropDT, cosine_schedule, reverse_coefficients
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage
from neuromorph.substrates import build_network

C, FEATURES, HIDDEN = 3, 4, 16


def stack(seed: int = 0) -> StackNet:
    torch.manual_seed(seed)
    return StackNet([Stage(Identity(C + FEATURES), HIDDEN), Stage(ReLU(HIDDEN), C)])


def blobs(n_per_class: int = 40, seed: int = 0):
    """``[0_C, x]`` rows (the label slots NoProp writes its noisy label into)."""
    gen = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(C, FEATURES, generator=gen)
    x = torch.cat([c + 0.5 * torch.randn(n_per_class, FEATURES, generator=gen) for c in centres])
    return torch.cat([torch.zeros(len(x), C), x], 1), torch.arange(C).repeat_interleave(n_per_class)


def test_schedule_runs_from_noise_to_clean():
    abar = cosine_schedule(10)
    assert abar[0] == 0 and 0.99 < abar[-1] <= 0.9999
    assert torch.all(abar[1:] > abar[:-1])


@pytest.mark.parametrize("steps", [1, 4, 10])
def test_reverse_step_maps_each_marginal_to_the_next(steps):
    """With the oracle u_hat = u: z_{t-1} ~ N(sqrt(abar_{t-1}) u, 1 - abar_{t-1}) gives
    z_t ~ N(sqrt(abar_t) u, 1 - abar_t), i.e. a + b sqrt(abar_{t-1}) = sqrt(abar_t) and
    b^2 (1 - abar_{t-1}) + c = 1 - abar_t (closed form, float64)."""
    abar = cosine_schedule(steps)
    a, b, c = reverse_coefficients(abar)
    torch.testing.assert_close(a + b * abar[:-1].sqrt(), abar[1:].sqrt())
    torch.testing.assert_close(b**2 * (1 - abar[:-1]) + c, 1 - abar[1:])
    assert torch.all(c >= 0)


def test_oracle_chain_sampled_from_noise_ends_at_the_clean_marginal():
    """Monte Carlo of the sampled chain (the same update predict() runs), oracle denoiser."""
    abar = cosine_schedule(6)
    a, b, c = reverse_coefficients(abar)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(200_000, dtype=torch.float64, generator=gen)
    for t in range(6):
        z = a[t] * 1.0 + b[t] * z + c[t].sqrt() * torch.randn(z.shape, generator=gen,
                                                              dtype=torch.float64)
    assert abs(float(z.mean()) - float(abar[-1].sqrt())) < 0.01
    assert abs(float(z.var()) - float(1 - abar[-1])) < 0.01


def test_no_gradient_crosses_blocks():
    x, y = blobs()
    rule = NoPropDT(stack(), steps=5)
    inputs = torch.stack([rule._inputs(x, rule.sample_q(t, y, torch.Generator().manual_seed(t)))
                          for t in range(5)])
    outs = rule.run_blocks(inputs, list(range(5)))
    outs[2].square().sum().backward()
    for t, maps in enumerate(rule.blocks):
        grads = [p.grad for m in maps for p in m.parameters()]
        if t == 2:
            assert all(g is not None and g.abs().sum() > 0 for g in grads)
        else:
            assert all(g is None or not g.any() for g in grads)


def test_last_block_is_the_networks_own_maps():
    net = stack()
    rule = NoPropDT(net, steps=3)
    assert [m is s.linear for m, s in zip(rule.blocks[-1], net.layers, strict=True)] == [True] * 2
    assert len({id(p) for p in rule.parameters()}) == len(rule.parameters())


@pytest.mark.parametrize("substrate", ["optical", "loihi_int"])
def test_refused_on_forward_only_substrates(substrate):
    net = build_network(substrate, 20, C, seed=0)
    with pytest.raises(AccessError, match="forward-only") as err:
        NoPropDT(net)
    assert "dfa, drtp, mono_forward, cafo" in str(err.value)


def test_bad_options():
    with pytest.raises(ValueError, match="steps"):
        NoPropDT(stack(), steps=0)
    with pytest.raises(ValueError, match="eta"):
        NoPropDT(stack(), eta=0.0)
    with pytest.raises(TypeError, match="StackNet"):
        NoPropDT(torch.nn.Linear(3, 3))


def test_deterministic_under_seed():
    x, y = blobs()

    def trained(seed: int):
        rule = NoPropDT(stack(), seed=seed, steps=4)
        opt = make_optimizer("adam", rule.parameters(), 1e-2)
        for _ in range(5):
            rule.train_batch(x, y, opt)
        return [p.detach().clone() for p in rule.parameters()], rule.predict(x)

    (pa, ya), (pb, yb), (pc, _) = trained(1), trained(1), trained(2)
    assert all(torch.equal(u, v) for u, v in zip(pa, pb, strict=True)) and torch.equal(ya, yb)
    assert not all(torch.equal(u, v) for u, v in zip(pa, pc, strict=True))


def test_learns_separable_blobs():
    x, y = blobs(seed=1)
    rule = NoPropDT(stack(seed=1), seed=0, steps=4)
    opt = make_optimizer("adam", rule.parameters(), 1e-2)
    for _ in range(150):
        rule.train_batch(x, y, opt)
    assert rule.accuracy(x, y) >= 0.95
