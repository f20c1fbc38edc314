"""Readouts and losses against hand-computed values; shape errors; rate regularisers."""

import math

import pytest
import torch

from neuromorph.learning_rules.spike_losses import (
    LOSSES,
    firing_rates,
    get_loss,
    max_membrane_cross_entropy,
    mean_membrane_cross_entropy,
    predict,
    rate_regularizer,
    spike_count_cross_entropy,
)


def ce(logits: list[float], target: int) -> float:
    return -(logits[target] - math.log(sum(math.exp(z) for z in logits)))


# spikes [T=3, B=2, C=3]
SPIKES = torch.tensor(
    [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]],
        [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    ]
)
TARGETS = torch.tensor([0, 2])


def test_spike_count_cross_entropy_by_hand():
    # counts: sample 0 -> [2, 1, 0], sample 1 -> [0, 3, 1]
    l0, l1 = ce([2, 1, 0], 0), ce([0, 3, 1], 2)
    got = spike_count_cross_entropy(SPIKES, TARGETS)
    assert got.item() == pytest.approx((l0 + l1) / 2, rel=1e-6)
    none = spike_count_cross_entropy(SPIKES, TARGETS, reduction="none")
    assert none.tolist() == pytest.approx([l0, l1], rel=1e-6)
    assert spike_count_cross_entropy(SPIKES, TARGETS, "sum").item() == pytest.approx(l0 + l1)


def test_membrane_losses_by_hand():
    v = torch.tensor([[[0.1, -0.2]], [[0.5, 0.3]], [[-0.4, 0.6]]])  # [T=3, B=1, C=2]
    t = torch.tensor([1])
    assert max_membrane_cross_entropy(v, t).item() == pytest.approx(ce([0.5, 0.6], 1), rel=1e-6)
    mean = [(0.1 + 0.5 - 0.4) / 3, (-0.2 + 0.3 + 0.6) / 3]
    assert mean_membrane_cross_entropy(v, t).item() == pytest.approx(ce(mean, 1), rel=1e-6)


def test_gradient_of_max_membrane_flows_to_the_peak_only():
    v = torch.tensor([[[0.1, -0.2]], [[0.5, 0.3]], [[-0.4, 0.6]]], requires_grad=True)
    max_membrane_cross_entropy(v, torch.tensor([1])).backward()
    p1 = 1 / (1 + math.exp(0.5 - 0.6))  # softmax prob of class 1
    expected = torch.zeros(3, 1, 2)
    expected[1, 0, 0] = 1 - p1  # d/dz0 = p0 - 0
    expected[2, 0, 1] = p1 - 1
    torch.testing.assert_close(v.grad, expected)


def test_predict_and_registry():
    assert predict(SPIKES).tolist() == [0, 1]
    v = torch.tensor([[[0.1, -0.2]], [[0.5, 0.3]], [[-0.4, 0.6]]])
    assert predict(v, "max_membrane").tolist() == [1]
    assert predict(v, "mean_membrane").tolist() == [1]
    assert get_loss("spike_count") is spike_count_cross_entropy
    assert set(LOSSES) == {"spike_count", "max_membrane", "mean_membrane"}
    with pytest.raises(ValueError, match="choose one of"):
        get_loss("first_spike")
    with pytest.raises(ValueError, match="choose one of"):
        predict(v, "last")


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match=r"\[T, B, C\]"):
        spike_count_cross_entropy(SPIKES[0], TARGETS)
    with pytest.raises(ValueError, match=r"shape \[B\] = \[2\]"):
        spike_count_cross_entropy(SPIKES, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        max_membrane_cross_entropy(SPIKES, torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        mean_membrane_cross_entropy(SPIKES, torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="floating point"):
        spike_count_cross_entropy(SPIKES.long(), TARGETS)


def test_firing_rates_and_regulariser_by_hand():
    # per-neuron rates over T=3: sample 0 -> [2/3, 1/3, 0], sample 1 -> [0, 1, 1/3]
    r = firing_rates(SPIKES)
    torch.testing.assert_close(r, torch.tensor([[2 / 3, 1 / 3, 0.0], [0.0, 1.0, 1 / 3]]))
    torch.testing.assert_close(firing_rates(SPIKES, dt=1e-3), r * 1000)
    low = rate_regularizer(SPIKES, lower=0.5)
    # relu(0.5 - r)^2: [0, 1/36, 1/4, 1/4, 0, 1/36] -> mean
    assert low.item() == pytest.approx((1 / 36 + 0.25 + 0.25 + 1 / 36) / 6, rel=1e-6)
    up = rate_regularizer(SPIKES, upper=0.5, strength_upper=2.0)
    # relu(r - 0.5)^2: [1/36, 0, 0, 0, 1/4, 0]
    assert up.item() == pytest.approx(2.0 * (1 / 36 + 0.25) / 6, rel=1e-6)
    pop = rate_regularizer(SPIKES, upper=0.4, population=True)
    # population means: [1/3, 4/9] -> relu(. - 0.4)^2 = [0, (4/9 - 0.4)^2]
    assert pop.item() == pytest.approx((4 / 9 - 0.4) ** 2 / 2, rel=1e-6)
    both = rate_regularizer([SPIKES, SPIKES], lower=0.5)
    assert both.item() == pytest.approx(2 * low.item(), rel=1e-6)


def test_regulariser_gradient_and_errors():
    s = SPIKES.clone().requires_grad_(True)
    rate_regularizer(s, lower=0.5).backward()
    assert s.grad[:, 0, 2].lt(0).all()  # a silent neuron is pushed to fire more
    assert s.grad[:, 0, 0].eq(0).all()  # a neuron above the bound is left alone
    with pytest.raises(ValueError, match="at least one"):
        rate_regularizer(SPIKES)
    with pytest.raises(ValueError, match="exceeds upper"):
        rate_regularizer(SPIKES, lower=0.6, upper=0.5)
