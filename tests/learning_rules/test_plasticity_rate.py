"""Rate rules (Hebb, Oja, Sanger, BCM, SoftHebb, Krotov-Hopfield): hand-computed updates on
tiny cases and convergence to their known fixed points."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.learning_rules.plasticity import (
    BCM,
    Hebb,
    KrotovHopfield,
    Oja,
    Sanger,
    SoftHebb,
    WeightNormalization,
)

D = torch.float64


def t(x):
    return torch.tensor(x, dtype=D)


def angle_deg(a: torch.Tensor, b: torch.Tensor) -> float:
    c = (a @ b).abs() / (a.norm() * b.norm())
    return math.degrees(math.acos(min(1.0, float(c))))


def gaussian(n: int, seed: int, eig=(6.0, 3.0, 1.5, 0.5, 0.25, 0.1)):
    """Zero-mean Gaussian samples with a known covariance ``U diag(eig) U^T``."""
    g = torch.Generator().manual_seed(seed)
    d = len(eig)
    u, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=D))
    x = torch.randn(n, d, generator=g, dtype=D) * torch.tensor(eig, dtype=D).sqrt()
    return x @ u.T, u


# ------------------------------------------------------------------ hand-computed updates
def test_hebb_hand_computed():
    dw, _ = Hebb(lr=0.1, decay=0.2).update(t([[1.0, 2.0]]), t([[3.0]]), t([[0.5, 0.5]]))
    assert torch.allclose(dw, t([[0.29, 0.59]]))


def test_hebb_averages_over_the_batch():
    pre, post = t([[1.0, 0.0], [0.0, 1.0]]), t([[2.0], [4.0]])
    dw, _ = Hebb(lr=1.0).update(pre, post, t([[0.0, 0.0]]))
    assert torch.allclose(dw, t([[1.0, 2.0]]))


def test_oja_hand_computed_and_linear_response_default():
    w = t([[0.5, 0.0]])
    dw, _ = Oja(lr=0.1).update(t([[1.0, 2.0]]), None, w)  # y = W x = 0.5
    assert torch.allclose(dw, 0.1 * t([[0.5 - 0.25 * 0.5, 1.0]]))


def test_sanger_versus_oja_subspace_hand_computed():
    w, x = torch.eye(2, dtype=D), t([[1.0, 2.0]])  # y = [1, 2]
    dw_gha, _ = Sanger(lr=0.5).update(x, None, w)
    assert torch.allclose(dw_gha, 0.5 * t([[0.0, 2.0], [0.0, 0.0]]))
    dw_sub, _ = Oja(lr=0.5).update(x, None, w)
    assert torch.allclose(dw_sub, torch.zeros(2, 2, dtype=D))


def test_bcm_hand_computed_and_threshold_slides():
    rule = BCM(lr=0.1, tau_theta=10.0, theta0=1.0)
    dw, theta = rule.update(t([[2.0, 1.0]]), None, t([[1.0, 0.0]]))  # y = 2, phi = 2 (2 - 1)
    assert torch.allclose(dw, 0.1 * t([[4.0, 2.0]]))
    assert torch.allclose(theta, t([1.0 + (4.0 - 1.0) / 10.0]))
    dw2, _ = rule.update(t([[2.0, 1.0]]), None, t([[1.0, 0.0]]), state=theta)
    assert torch.allclose(dw2, 0.1 * 2.0 * (2.0 - 1.3) * t([[2.0, 1.0]]))


def test_softhebb_hand_computed():
    w, x = torch.eye(2, dtype=D), t([[1.0, 0.0]])
    y = torch.softmax(t([1.0, 0.0]), 0)  # [e/(e+1), 1/(e+1)]
    dw, _ = SoftHebb(lr=1.0).update(x, None, w)
    assert torch.allclose(dw, t([[0.0, 0.0], [float(y[1]), 0.0]]))
    # temperature sharpens the posterior
    sharp = SoftHebb(temperature=0.1).response(x, w)
    assert sharp[0, 0] > 0.9999


def test_krotov_hopfield_hand_computed():
    w = t([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    x = t([[2.0, 1.0]])  # p = 2: currents I = W x = [2, 1, 1.5]; ranks 0 > 2 > 1
    rule = KrotovHopfield(lr=1.0, p=2.0, k=2, delta=0.4, normalize=False)
    dw, _ = rule.update(x, None, w)
    g = t([1.0, 0.0, -0.4])
    cur = t([2.0, 1.0, 1.5])
    expect = g[:, None] * x - (g * cur)[:, None] * w
    assert torch.allclose(dw, expect)
    dwn, _ = KrotovHopfield(lr=0.01, p=2.0).update(x, None, w)
    assert torch.allclose(dwn, 0.01 * expect / expect.abs().max())


def test_krotov_hopfield_current_uses_the_p_norm():
    w = t([[-2.0, 1.0]])
    cur = KrotovHopfield(p=3.0).response(t([[1.0, 1.0]]), w)
    assert torch.allclose(cur, t([[-4.0 + 1.0]]))  # sign(w)|w|^2 . x


# ------------------------------------------------------------------ convergence
def test_oja_converges_to_the_first_principal_component():
    x, u = gaussian(6000, 0)
    w = torch.randn(1, 6, generator=torch.Generator().manual_seed(1), dtype=D) * 0.1
    rule = Oja(lr=5e-3)
    for i in range(0, len(x), 4):
        w += rule.update(x[i : i + 4], None, w)[0]
    assert angle_deg(w[0], u[:, 0]) < 5.0
    assert w.norm() == pytest.approx(1.0, abs=0.05)


def test_sanger_recovers_the_top_components_in_order():
    x, u = gaussian(12000, 2)
    w = torch.randn(3, 6, generator=torch.Generator().manual_seed(3), dtype=D) * 0.1
    rule = Sanger(lr=4e-3)
    for i in range(0, len(x), 4):
        w += rule.update(x[i : i + 4], None, w)[0]
    for k in range(3):
        assert angle_deg(w[k], u[:, k]) < 5.0, k
    assert torch.allclose(w @ w.T, torch.eye(3, dtype=D), atol=0.08)


def test_hebb_with_normalisation_finds_the_first_component():
    x, u = gaussian(3000, 4)
    w = torch.randn(1, 6, generator=torch.Generator().manual_seed(5), dtype=D)
    hebb, norm = Hebb(lr=1e-2), WeightNormalization(total=1.0, norm="l2")
    for i in range(0, len(x), 10):
        w += hebb.update(x[i : i + 10], None, w)[0]
        w += norm.update(None, None, w)[0]
    assert angle_deg(w[0], u[:, 0]) < 5.0


def _patterns(k: int = 3, d: int = 9) -> torch.Tensor:
    p = torch.zeros(k, d, dtype=D)
    for i in range(k):
        p[i, 3 * i : 3 * i + 3] = 1.0
    return p


def test_bcm_neuron_becomes_selective():
    pats = _patterns()
    g = torch.Generator().manual_seed(0)
    w = 0.3 + 0.05 * torch.rand(4, 9, generator=g, dtype=D)
    rule, theta = BCM(lr=5e-3, tau_theta=5.0), None
    for _ in range(6000):
        x = pats[torch.randint(0, 3, (1,), generator=g)]
        y = torch.relu(x @ w.T)
        dw, theta = rule.update(x, y, w, state=theta)
        w = (w + dw).clamp_min(0.0)
    resp = torch.relu(pats @ w.T)  # [pattern, neuron]
    selectivity = 1 - resp.mean(0) / resp.max(0).values
    assert (selectivity > 0.6).all(), selectivity
    assert resp.max(0).values.min() > 1.0  # responds strongly to its preferred pattern


def test_softhebb_learns_normalised_cluster_prototypes():
    g = torch.Generator().manual_seed(0)
    centres = torch.nn.functional.normalize(torch.randn(3, 8, generator=g, dtype=D), dim=1)
    labels = torch.randint(0, 3, (4000,), generator=g)
    x = centres[labels] + 0.05 * torch.randn(4000, 8, generator=g, dtype=D)
    w = torch.nn.functional.normalize(torch.randn(5, 8, generator=g, dtype=D), dim=1)
    rule = SoftHebb(lr=0.05, temperature=0.05)
    for i in range(0, 4000, 8):
        w += rule.update(x[i : i + 8], None, w)[0]
    winners = rule.response(x, w).argmax(1).unique()
    assert torch.allclose(w[winners].norm(dim=1), torch.ones(len(winners), dtype=D), atol=0.05)
    cos = torch.nn.functional.normalize(w, dim=1) @ centres.T  # [neuron, cluster]
    assert (cos.max(0).values > 0.98).all()  # every cluster has its prototype neuron


def test_krotov_hopfield_winners_reach_unit_p_norm():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3000, 10, generator=g, dtype=D)
    w = torch.rand(6, 10, generator=g, dtype=D)
    rule = KrotovHopfield(lr=0.02, p=3.0, k=2, delta=0.2)
    for i in range(0, 3000, 20):
        eps = 0.02 * (1 - i / 3000)
        rule.lr = eps
        w += rule.update(x[i : i + 20], None, w)[0]
    pnorm = (w.abs() ** 3).sum(1)
    assert (pnorm - 1).abs().min() < 0.05
    assert ((pnorm - 1).abs() < 0.1).sum() >= 3
