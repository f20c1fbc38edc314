"""Loihi 2 integer model: Lava's bit-accurate CUBA LIF arithmetic, and the float -> int mapping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.hardware_models.chips import quantize
from neuromorph.hardware_models.chips.loihi import LoihiLayer, loihi_step
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential


def _lava_reference(a_in: list[int], du: int, dv: int, bias_mant: int, bias_exp: int,
                    vth: int) -> list[tuple[int, int, int]]:
    """One neuron, transcribed line by line from Lava's PyLifModelBitAcc (Python ints)."""
    u = v = 0
    max_uv = 2 ** 23
    out = []
    for a in a_in:
        decayed = u * (4096 - (du + 1))  # ds_offset = 1
        decayed = int(np.sign(decayed)) * (abs(decayed) >> 12)
        decayed += a << 6  # act_shift = 6
        wrapped = decayed - 2 * max_uv if decayed > max_uv else decayed
        wrapped = decayed + 2 * max_uv if wrapped <= -max_uv else wrapped
        u = wrapped
        dvolt = v * (4096 - dv)  # dm_offset = 0
        dvolt = int(np.sign(dvolt)) * (abs(dvolt) >> 12)
        v = min(max(dvolt + u + (bias_mant << bias_exp), -max_uv + 1), max_uv - 1)
        s = int(v > (vth << 6))  # vth_shift = 6
        if s:
            v = 0
        out.append((s, u, v))
    return out


def _dense_reference(w: np.ndarray, s: np.ndarray, exp: int) -> np.ndarray:
    acc = w @ s
    return np.left_shift(acc, exp) if exp > 0 else np.right_shift(acc, -exp)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_step_matches_the_lava_transcription(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, T = 6, 4, 60
    w = 2 * rng.integers(-128, 128, (n, m))
    exp = 7 if seed == 0 else int(rng.integers(-3, 7))  # 7 drives the 24-bit wrap and clip
    layer = LoihiLayer(
        weight=torch.tensor(w), rec_weight=None, weight_exp=exp,
        du=torch.tensor(rng.integers(0, 4096, n)), dv=torch.tensor(rng.integers(0, 4096, n)),
        bias_mant=torch.tensor(rng.integers(-4096, 4096, n)),
        bias_exp=torch.tensor(rng.integers(0, 8, n)),
        vth=torch.tensor(rng.integers(1, 2 ** 17, n)), spiking=True, scale=1.0)
    s_in = rng.integers(0, 2, (T, m))
    state = (torch.zeros(1, n, dtype=torch.int64), torch.zeros(1, n, dtype=torch.int64))
    ours = []
    for t in range(T):
        s, state = loihi_step(layer, torch.tensor(s_in[t])[None], state, torch.zeros(1, n))
        ours.append((s[0].numpy(), state[0][0].numpy(), state[1][0].numpy()))
    a_in = np.stack([_dense_reference(w, s_in[t], exp) for t in range(T)])
    wrapped = False
    for k in range(n):
        ref = _lava_reference([int(a) for a in a_in[:, k]], int(layer.du[k]), int(layer.dv[k]),
                              int(layer.bias_mant[k]), int(layer.bias_exp[k]),
                              int(layer.vth[k]))
        for t in range(T):
            assert (int(ours[t][0][k]), int(ours[t][1][k]), int(ours[t][2][k])) == ref[t]
            wrapped |= abs(ref[t][1]) > 2 ** 22
    assert wrapped or seed != 0  # seed 0 exercises the wrap-around


def test_hand_computed_steps() -> None:
    # du = 4095: the current decays fully (a LIF); dv = 410: v decays by 3686/4096 per step
    layer = LoihiLayer(torch.tensor([[100]]), None, 0, torch.tensor([4095]),
                       torch.tensor([410]), torch.tensor([0]), torch.tensor([0]),
                       torch.tensor([150]), True, 1.0)
    state = (torch.zeros(1, 1, dtype=torch.int64), torch.zeros(1, 1, dtype=torch.int64))
    s1, state = loihi_step(layer, torch.tensor([[1]]), state, None)
    assert int(s1) == 0 and int(state[0]) == 6400 and int(state[1]) == 6400
    s2, state = loihi_step(layer, torch.tensor([[1]]), state, None)
    # v = (6400 * 3686) >> 12 + 6400 = 5759 + 6400 = 12159 > 150 << 6 = 9600: spike, v = 0
    assert int(s2) == 1 and int(state[1]) == 0


def _net(neuron: str = "lif", reset: str = "zero") -> SpikingSequential:
    torch.manual_seed(0)
    hidden = dict(tau=0.02, r=10.0) if neuron == "lif" else dict(tau_syn=0.005, w_in=2.5,
                                                                   tau_mem=0.02, r=10.0)
    net = SpikingSequential(SpikingLinear(20, 16, dt=2e-3, neuron=neuron, reset=reset,
                                          **hidden),
                            SpikingLinear(16, 4, dt=2e-3, neuron="li", tau=0.02, r=10.0))
    with torch.no_grad():
        net[0].synapse.weight.mul_(2.0)
    return net


def test_quantized_parameters_follow_the_documented_mapping() -> None:
    net = _net("cuba_lif")
    q = quantize(net, "loihi2")
    hid, out = q.layers
    assert int(hid.dv[0]) == round(4096 * 2e-3 / 0.02)  # Euler: 1 - alpha = dt / tau
    assert int(hid.du[0]) == round(4096 * 2e-3 / 0.005) - 1  # ds_offset = 1
    assert int(out.du[0]) == 4095 and not out.spiking
    for layer in q.layers:
        assert bool((layer.weight % 2 == 0).all())
        assert int(layer.weight.min()) >= -256 and int(layer.weight.max()) <= 254
    # the threshold in integer units is theta * scale / 64 (<< 6 on chip)
    assert int(hid.vth[0]) == round(1.0 * hid.scale / 64)


def test_integer_model_tracks_the_float_model() -> None:
    net = _net("lif", "zero")  # Loihi's own reset, so only the numerics differ
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(40, 32, 20, generator=g) < 0.3).float()
    q = quantize(net, "loihi2", calibration=x)
    run = q.run(x, delays=False)
    with torch.no_grad():
        hidden = net[0](x)
        readout = net(x)
    agree = float((run.outputs[0] == hidden.to(torch.int64)).float().mean())
    assert agree > 0.97 and hidden.sum() > 100
    same = (run.readout.mean(0).argmax(1) == readout.mean(0).argmax(1)).float().mean()
    assert float(same) >= 0.9
    # with the chip's pipeline, each Dense delivers the previous step's input events
    events = q.run(x).events[0]
    assert int(events[0].abs().sum()) == 0 and torch.equal(events[1:], x[:-1].to(torch.int64))
