"""Surrogate gradients: equal to snnTorch's for the same definitions, and to hand formulas."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.primitives.spike import (
    SURROGATES,
    SpikeFunction,
    get_surrogate,
    spike,
    surrogate_grad,
)

snn_surrogate = pytest.importorskip("snntorch.surrogate")

# our name, our scale, the snnTorch factory with the same definition
PEERS = [
    ("fast_sigmoid", None, lambda: snn_surrogate.fast_sigmoid()),
    ("fast_sigmoid", 7.0, lambda: snn_surrogate.fast_sigmoid(slope=7.0)),
    ("arctan", None, lambda: snn_surrogate.atan()),
    ("atan", 0.5, lambda: snn_surrogate.atan(alpha=0.5)),
    ("sigmoid", None, lambda: snn_surrogate.sigmoid()),
    ("sigmoid", 3.0, lambda: snn_surrogate.sigmoid(slope=3.0)),
    ("triangular", None, lambda: snn_surrogate.triangular()),
    ("triangular", 0.3, lambda: snn_surrogate.triangular(threshold=0.3)),
    ("straight_through", None, lambda: snn_surrogate.straight_through_estimator()),
]


@pytest.mark.parametrize(("name", "scale", "peer"), PEERS)
def test_surrogate_matches_snntorch(name, scale, peer):
    # |u| <= 3 keeps snnTorch's unguarded exp(-k u) finite in float32 for its sigmoid.
    u = torch.linspace(-3.0, 3.0, 601)
    u = torch.cat([u, torch.tensor([0.0, -1e-4, 1e-4])])
    u_ours = u.clone().requires_grad_()
    u_peer = u.clone().requires_grad_()
    w = torch.randn(u.shape, generator=torch.Generator().manual_seed(0))
    s_ours = spike(u_ours, name, scale)
    s_peer = peer()(u_peer)
    torch.testing.assert_close(s_ours, s_peer, rtol=0, atol=0)  # both Heaviside(u > 0)
    (s_ours * w).sum().backward()
    (s_peer * w).sum().backward()
    torch.testing.assert_close(u_ours.grad, u_peer.grad, rtol=1e-5, atol=1e-7)


def test_hand_values_and_forward_is_strict():
    u = torch.tensor([-0.5, 0.0, 0.2])
    torch.testing.assert_close(spike(u), torch.tensor([0.0, 0.0, 1.0]))  # u = 0 -> no spike
    torch.testing.assert_close(surrogate_grad(u, "fast_sigmoid", 10.0),
                               1.0 / (10.0 * u.abs() + 1.0) ** 2)
    torch.testing.assert_close(surrogate_grad(torch.tensor([0.0]), "arctan", 2.0),
                               torch.tensor([1.0]))  # (alpha/2) / 1
    torch.testing.assert_close(surrogate_grad(torch.tensor([0.0]), "sigmoid", 4.0),
                               torch.tensor([1.0]))  # 4 * 0.5 * 0.5
    torch.testing.assert_close(surrogate_grad(u, "triangular", 2.0),
                               torch.tensor([2.0, -2.0, -2.0]))
    x = torch.tensor([0.3])
    assert math.isclose(float(surrogate_grad(x, "arctan", 2.0)),
                        1.0 / (1.0 + (math.pi * 0.3) ** 2), rel_tol=1e-6)


def test_sigmoid_is_stable_far_from_threshold():
    g = surrogate_grad(torch.tensor([-1e3, 1e3]), "sigmoid", 25.0)
    assert torch.isfinite(g).all() and (g == 0).all()


def test_registry_errors_and_module():
    with pytest.raises(ValueError, match="unknown surrogate 'tanh'"):
        get_surrogate("tanh")
    assert set(SURROGATES) == {"fast_sigmoid", "arctan", "sigmoid", "triangular",
                               "straight_through"}
    mod = SpikeFunction("atan", 3.0)
    assert mod.surrogate == "arctan" and mod.scale == 3.0
    u = torch.tensor([0.1], requires_grad=True)
    mod(u).sum().backward()
    torch.testing.assert_close(u.grad, surrogate_grad(u.detach(), "arctan", 3.0))
    with pytest.raises(ValueError, match="finite"):
        spike(u, "arctan", float("nan"))


@pytest.mark.parametrize("name", sorted(SURROGATES))
@pytest.mark.parametrize("scale", [None, 0.7, 30.0])
def test_inplace_forms_equal_out_of_place(name, scale):
    sur = get_surrogate(name)
    k = sur.default_scale if scale is None else scale
    u = torch.cat([torch.linspace(-5.0, 5.0, 1001), torch.tensor([0.0, -1e-6, 1e-6, 80.0, -80.0])])
    want = sur.grad(u, k)
    got = sur.grad_(u.clone(), k)
    torch.testing.assert_close(got, want, rtol=2e-6, atol=1e-12)
    g = torch.randn(u.shape, generator=torch.Generator().manual_seed(1))
    got = sur.grad_(u.clone(), k, g)
    torch.testing.assert_close(got, want * g, rtol=2e-6, atol=1e-12)
    got = sur.grad_(u.clone(), k, torch.ones(()).expand_as(u))  # the grad of a sum
    torch.testing.assert_close(got, want, rtol=2e-6, atol=1e-12)
