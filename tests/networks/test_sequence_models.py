"""Spiking RWKV and LMU blocks: the Legendre system against its closed form and the Pade delay,
delay reconstruction, parallel = recurrent forms, WKV against its definition, op counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import pade
from scipy.signal import cont2discrete

from neuromorph.networks.sequence import OpCount
from neuromorph.networks.sequence_models import SequenceModel, n_parameters
from neuromorph.networks.spiking_lmu import (
    LegendreMemory,
    LMUBlock,
    discretize_zoh,
    legendre_decoder,
    legendre_state_space,
)
from neuromorph.networks.spiking_rwkv import RWKVBlock, wkv_parallel, wkv_recurrent


def test_legendre_matrices_closed_form_order3() -> None:
    A, B = legendre_state_space(3, theta=2.0)
    # Voelker et al. (2019), written out by hand for q = 3, theta = 1, then divided by theta
    A_hand = np.array([[-1.0, -1.0, -1.0], [3.0, -3.0, -3.0], [-5.0, 5.0, -5.0]]) / 2.0
    B_hand = np.array([1.0, -3.0, 5.0]) / 2.0
    np.testing.assert_allclose(A, A_hand)
    np.testing.assert_allclose(B, B_hand)


@pytest.mark.parametrize("order", [3, 6])
def test_transfer_function_is_pade_of_delay(order: int) -> None:
    theta = 0.7
    A, B = legendre_state_space(order, theta)
    C = legendre_decoder(order, np.array([1.0]))[0]
    taylor = [(-theta) ** n / math.factorial(n) for n in range(2 * order)]
    num, den = pade(taylor, order, order - 1)  # [q-1 / q] approximant of e^{-theta s}
    for s in (0.3, 1.0 + 2.0j, 5.0j, 12.0):
        h = C @ np.linalg.solve(s * np.eye(order) - A, B)
        assert abs(h - num(s) / den(s)) < 1e-8 * max(1.0, abs(num(s) / den(s)))


def test_zoh_matches_scipy() -> None:
    A, B = legendre_state_space(5, theta=30.0)
    Ad, Bd = discretize_zoh(A, B, dt=1.0)
    ref = cont2discrete((A, B[:, None], np.eye(5), np.zeros((5, 1))), 1.0, method="zoh")
    np.testing.assert_allclose(Ad, ref[0], atol=1e-12)
    np.testing.assert_allclose(Bd, ref[1][:, 0], atol=1e-12)


def test_memory_reconstructs_delayed_input() -> None:
    theta, order = 200, 10
    t = torch.arange(800, dtype=torch.float64)
    u = torch.sin(2 * math.pi * t / 310) + 0.5 * torch.cos(2 * math.pi * t / 170)
    mem = LegendreMemory(order, float(theta)).double()
    m = mem(u[:, None, None])[:, 0, 0].numpy()  # [T, q]
    for r in (0.0, 0.5, 1.0):
        decoded = m @ legendre_decoder(order, np.array([r]))[0]
        lag = int(round(r * theta))
        err = decoded[400:] - u.numpy()[400 - lag: 800 - lag]
        assert np.abs(err).max() < 0.05, (r, np.abs(err).max())


def test_memory_parallel_equals_recurrent() -> None:
    mem = LegendreMemory(6, 12.0)
    u = torch.rand(20, 3, 4, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(mem(u), mem(u, recurrent=True), atol=1e-5, rtol=1e-5)


def _wkv_definition(w: torch.Tensor, u: torch.Tensor, k: torch.Tensor, v: torch.Tensor
                    ) -> torch.Tensor:
    out = torch.zeros_like(k)
    for t in range(k.shape[0]):
        num = torch.exp(u + k[t]) * v[t]
        den = torch.exp(u + k[t])
        for i in range(t):
            e = torch.exp(-(t - 1 - i) * w + k[i])
            num, den = num + e * v[i], den + e
        out[t] = num / den
    return out


def test_wkv_parallel_recurrent_and_definition_agree() -> None:
    gen = torch.Generator().manual_seed(3)
    k, v = torch.randn(9, 2, 5, generator=gen, dtype=torch.float64), \
        torch.randn(9, 2, 5, generator=gen, dtype=torch.float64)
    w = torch.rand(5, generator=gen, dtype=torch.float64) + 0.05
    u = torch.randn(5, generator=gen, dtype=torch.float64)
    ref = _wkv_definition(w, u, k, v)
    torch.testing.assert_close(wkv_parallel(w, u, k, v), ref)
    torch.testing.assert_close(wkv_recurrent(w, u, k, v), ref)
    big = 60 * k  # e^{60 k} overflows float32: the stable forms still agree
    torch.testing.assert_close(wkv_parallel(w, u, big.float(), v.float()),
                               wkv_recurrent(w, u, big.float(), v.float()), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("block", ["rwkv", "lmu"])
def test_block_parallel_equals_recurrent(block: str) -> None:
    net = (RWKVBlock(6, 10, spiking=False) if block == "rwkv"
           else LMUBlock(6, 10, spiking=False, d_u=3, order=4, theta_steps=8.0))
    x = torch.rand(12, 2, 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(net(x, recurrent=False), net(x, recurrent=True), atol=1e-5,
                               rtol=1e-5)


def test_synops_hand_count() -> None:
    ops = OpCount()
    spikes = torch.tensor([[[1.0, 0.0, 1.0]], [[0.0, 0.0, 1.0]]])  # [T=2, B=1, 3]: 3 events
    ops.matrix(spikes, fan_out=4, spiking=True)
    ops.matrix(torch.tensor([[[0.5, 0.0]]]), fan_out=3, spiking=False)  # dense: 2 inputs x 3
    assert (ops.synops, ops.macs) == (12.0, 6.0)


def _linear_reads(model: torch.nn.Module, x: torch.Tensor) -> tuple[float, float, bool]:
    """Count each nn.Linear's input through forward hooks: (nnz * out, numel * out, binary)."""
    totals = {"nnz": 0.0, "dense": 0.0, "binary": True}

    def hook(mod: torch.nn.Linear, args: tuple[torch.Tensor], _out: torch.Tensor) -> None:
        (inp,) = args
        totals["nnz"] += float((inp != 0).sum()) * mod.out_features
        totals["dense"] += float(inp.numel()) * mod.out_features
        totals["binary"] &= bool(((inp == 0) | (inp == 1)).all())

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return totals["nnz"], totals["dense"], totals["binary"]


def test_lmu_synops_equal_spikes_reaching_the_matrices() -> None:
    d, d_u, q, T, B = 8, 3, 4, 10, 2
    block = LMUBlock(d, 12, spiking=True, d_u=d_u, order=q, theta_steps=6.0, memory_gain=20.0)
    x = (torch.rand(T, B, d, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    nnz, _, binary = _linear_reads(block, x)
    assert binary  # every weight matrix of the spiking block reads spikes
    ops = OpCount()
    with torch.no_grad():
        u = block.act[0](block.lin["encode"](x))
        block(x, ops)
    # the matrices' reads, plus Bbar u (each event feeds q states); Abar m is dense
    assert ops.synops == nnz + float(u.sum()) * q
    assert ops.macs == T * B * d_u * q * q
    assert ops.synops > 0


def test_twin_macs_hand_formula() -> None:
    d, f, d_u, q, T, B = 8, 12, 3, 4, 10, 2
    model = SequenceModel("lmu", "classify", 1, 5, d=d, d_ffn=f, spiking=False, d_u=d_u,
                          order=q, theta_steps=6.0)
    ops = OpCount()
    with torch.no_grad():
        model.logits(torch.randn(T, B, 1), ops)
    per_step = 1 * d + d * d_u + d_u * q + d_u * q * q + 2 * d_u * q * d + 2 * d * f + d * 5
    assert ops.per_sample()["macs"] == T * per_step and ops.synops == 0
    params = (d + d) + d * d_u + 2 * d_u * q * d + 2 * d * f + d_u * q + (d * 5 + 5)
    assert n_parameters(model) == params


def test_bad_input_is_one_clear_error() -> None:
    model = SequenceModel("rwkv", "lm", 11, 11, d=8, d_ffn=8)
    with pytest.raises(ValueError, match="int64 tokens"):
        model(torch.zeros(4, 2, 11))
    with pytest.raises(ValueError, match="unknown block"):
        SequenceModel("gru", "lm", 11, 11)
    with pytest.raises(ValueError, match="time-major"):
        RWKVBlock(4, 4, spiking=True)(torch.zeros(3, 2, 5))


def test_differentiable_synop_fraction_hand_count() -> None:
    spikes = torch.tensor([[[1.0, 0.0, 1.0]], [[0.0, 0.0, 1.0]]], requires_grad=True)
    ops = OpCount(differentiable=True)
    ops.matrix(spikes, fan_out=4, spiking=True)  # 3 events x 4 of 6 inputs x 4 possible
    frac = ops.synop_fraction()
    assert frac.item() == 12.0 / 24.0
    frac.backward()
    assert torch.all(spikes.grad == 4.0 / 24.0)  # each event's share of the dense reads


def test_spiking_model_takes_the_twin_weights() -> None:
    twin = SequenceModel("rwkv", "classify", 1, 3, d=6, d_ffn=6, spiking=False, seed=1)
    spk = SequenceModel("rwkv", "classify", 1, 3, d=6, d_ffn=6, spiking=True, seed=2)
    spk.load_twin_weights(twin)
    for (name, a), (_, b) in zip(twin.named_parameters(), spk.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="models differ"):
        spk.load_twin_weights(SequenceModel("rwkv", "classify", 1, 3, d=6, d_ffn=8))


def test_same_seed_same_model() -> None:
    torch.manual_seed(1)
    a = SequenceModel("lmu", "classify", 2, 3, d=6, d_ffn=6, seed=5)
    torch.manual_seed(2)
    b = SequenceModel("lmu", "classify", 2, 3, d=6, d_ffn=6, seed=5)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(p, q), name
