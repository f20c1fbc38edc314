"""InSituLinear: every forward is a write and a read of the array; library rules train it."""

import pytest
import torch
import torch.nn.functional as F
from test_crossbar_fit_energy import Perfect  # a device that writes and reads exactly
from torch import nn

from neuromorph.hardware_models.crossbar import TileConfig, make_device
from neuromorph.hardware_models.crossbar.in_situ import InSituLinear, InSituLinearOverTime
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.zeroth_order import SPSA
from neuromorph.networks.stack import Identity, StackNet, Stage

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (tests/conftest.py)


IDEAL = TileConfig(dac_bits=0, adc_bits=0, adc_bound=1e6, input_range=10.0)


def linear(n_in: int = 6, n_out: int = 3, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out)


def test_exact_devices_and_ideal_converters_give_the_linear_map():
    lin = linear()
    layer = InSituLinear.from_linear(lin, Perfect(), IDEAL)
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(layer(x), F.linear(x, lin.weight, lin.bias), atol=1e-5)
    assert layer.writes == 1


def test_a_substituted_weight_is_what_gets_written():
    lin, other = linear(seed=0), linear(seed=1)
    layer = InSituLinear.from_linear(lin, Perfect(), IDEAL)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(2))
    y = torch.func.functional_call(layer, {"weight": other.weight, "bias": other.bias}, (x,))
    assert torch.allclose(y, F.linear(x, other.weight, other.bias), atol=1e-5)


def test_every_call_is_a_fresh_noisy_write_and_seeded():
    lin = linear()
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(3))
    a = InSituLinear.from_linear(lin, make_device("pcm"), TileConfig(input_range=1.0), seed=4)
    b = InSituLinear.from_linear(lin, make_device("pcm"), TileConfig(input_range=1.0), seed=4)
    first, second = a(x), a(x)
    assert not torch.equal(first, second)  # programming noise differs between writes
    assert torch.equal(first, b(x)) and torch.equal(second, b(x))  # same seed, same writes
    ideal = F.linear(x, lin.weight, lin.bias)
    assert (first - ideal).abs().max() < 0.2 * ideal.abs().max()  # near the target


def test_library_spsa_lowers_the_measured_loss_on_pcm():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(256, 6, generator=gen)
    teacher = linear(6, 3, seed=9)
    y = teacher(x).argmax(dim=1).detach()
    stage = Stage(Identity(6), 3)
    stage.linear = InSituLinear.from_linear(linear(6, 3, seed=0), make_device("pcm"),
                                            TileConfig(input_range=1.0), seed=1)
    net = StackNet([stage])
    rule = SPSA(net, perturbations=8, c=0.05, seed=0)
    opt = make_optimizer("adam", rule.parameters(), 0.05)
    with torch.no_grad():
        before = float(F.cross_entropy(net(x), y))
    for _ in range(60):
        rule.train_batch(x, y, opt)
    with torch.no_grad():
        after = float(F.cross_entropy(net(x), y))
    assert after < 0.6 * before
    assert stage.linear.writes == 60 * 16 + 2  # 2 P members per step, plus the two checks


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown compensation"):
        InSituLinear(3, 2, Perfect(), compensation="sometimes")
    with pytest.raises(ValueError, match="needs a layer with a bias"):
        InSituLinear.from_linear(nn.Linear(3, 2, bias=False), Perfect())
    with pytest.raises(ValueError, match=r"expects \[..., 3\]"):
        InSituLinear(3, 2, Perfect())(torch.zeros(1, 4))


def test_over_time_layer_is_one_write_read_at_every_step():
    lin = linear(6, 3)
    layer = InSituLinearOverTime.from_linear(lin, Perfect(), IDEAL, steps=4)
    x = torch.randn(5, 4, 6, generator=torch.Generator().manual_seed(5))
    y = layer(x.reshape(5, 24))
    assert y.shape == (5, 12)
    assert torch.allclose(y.reshape(5, 4, 3), F.linear(x, lin.weight, lin.bias), atol=1e-5)
    assert layer.writes == 1  # the array is written once for the whole sequence
    with pytest.raises(ValueError, match=r"expects \[B, 4 \* 6\]"):
        layer(torch.zeros(5, 6))
    with pytest.raises(ValueError, match="steps must be >= 1"):
        InSituLinearOverTime(6, 3, Perfect(), steps=0)


def test_over_time_steps_share_one_noisy_device_state():
    """On PCM a step's output depends only on its own input: the steps read one write."""
    lin = linear(6, 3)
    layer = InSituLinearOverTime.from_linear(lin, make_device("pcm"), TileConfig(input_range=1.0),
                                             seed=2, steps=3)
    x = torch.rand(1, 6, generator=torch.Generator().manual_seed(6))
    y = layer(x.repeat(1, 3)).reshape(3, 3)  # the same input at all 3 steps
    assert torch.equal(y[0], y[1]) and torch.equal(y[1], y[2])
    assert not torch.allclose(y[0], F.linear(x, lin.weight, lin.bias)[0], atol=1e-6)  # noisy
