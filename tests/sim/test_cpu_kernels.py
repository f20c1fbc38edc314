"""The fused CPU kernels against the torch reference: values and gradients over random shapes."""

from __future__ import annotations

import itertools
import zlib

import pytest
import torch

from neuromorph.sim.kernels import cuba_lif_multistep, if_multistep, lif_multistep
from neuromorph.sim.kernels.cpu_cuba import cuba_lif_multistep_cpu
from neuromorph.sim.kernels.cpu_fused import linear_lif_multistep
from neuromorph.sim.kernels.cpu_lif import if_multistep_cpu, lif_multistep_cpu
from neuromorph.sim.kernels.reference import (
    cuba_lif_multistep_reference,
    if_multistep_reference,
    lif_multistep_reference,
)
from neuromorph.specs import SpikeOptions

SURROGATES = ["fast_sigmoid", "arctan", "sigmoid", "triangular", "straight_through"]
MODES = list(itertools.product(["subtract", "zero"], [False, True], [False, True]))


def _opts(**fields) -> dict:
    """The kernels' one ``options`` argument from the option fields."""
    return {"options": SpikeOptions(**fields)}


def _seed(*key: object) -> int:
    return zlib.crc32(repr(key).encode())


def _leaves(gen: torch.Generator, T: int, B: int, N: int, dtype=torch.float64):
    def r(*shape, lo=-1.0, hi=1.0):
        return (torch.rand(*shape, generator=gen, dtype=dtype) * (hi - lo) + lo).requires_grad_()

    # v0 spans the threshold so the delayed reset at t = 0 is exercised.
    return dict(
        x=r(T, B, N, lo=-0.6, hi=1.4),
        i0=r(B, N, lo=-0.5, hi=0.5),
        v0=r(B, N, lo=-0.5, hi=1.5),
        alpha_syn=r(N, lo=0.3, hi=0.95),
        alpha=r(N, lo=0.5, hi=0.99),
        theta=r(N, lo=0.5, hi=1.5),
    )


def _grads(outputs, leaves, weights):
    loss = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    return torch.autograd.grad(loss, leaves, allow_unused=True)


def _compare(out_a, out_b, leaves, gen):
    for a, b in zip(out_a, out_b, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    weights = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in out_a]
    ga = _grads(out_a, leaves, weights)
    gb = _grads(out_b, leaves, weights)
    for a, b in zip(ga, gb, strict=True):
        assert a is not None and b is not None
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("reset", "delay", "detach"), MODES)
@pytest.mark.parametrize("surrogate", SURROGATES)
def test_lif_cpu_matches_reference(reset, delay, detach, surrogate):
    gen = torch.Generator().manual_seed(_seed(reset, delay, detach, surrogate))
    T, B, N = (int(torch.randint(1, 9, (1,), generator=gen)) for _ in range(3))
    d = _leaves(gen, T, B, N)
    kw = _opts(reset=reset, reset_delay=delay, detach_reset=detach, surrogate=surrogate,
              v_reset=-0.2 if reset == "zero" else 0.0)
    leaves = [d["x"], d["v0"], d["alpha"], d["theta"]]
    ref = lif_multistep_reference(*leaves, **kw)
    cpu = lif_multistep_cpu(*leaves, **kw)
    _compare(ref, cpu, leaves, gen)


@pytest.mark.parametrize(("reset", "delay", "detach"), MODES)
def test_cuba_cpu_matches_reference(reset, delay, detach):
    gen = torch.Generator().manual_seed(_seed(reset, delay, detach))
    T, B, N = 11, 3, 5
    d = _leaves(gen, T, B, N)
    kw = _opts(reset=reset, reset_delay=delay, detach_reset=detach, surrogate="arctan", scale=3.0)
    leaves = [d["x"], d["i0"], d["v0"], d["alpha_syn"], d["alpha"], d["theta"]]
    ref = cuba_lif_multistep_reference(*leaves, **kw)
    cpu = cuba_lif_multistep_cpu(*leaves, **kw)
    _compare(ref, cpu, leaves, gen)


@pytest.mark.parametrize(("reset", "delay", "detach"), MODES)
def test_if_cpu_matches_reference(reset, delay, detach):
    gen = torch.Generator().manual_seed(11)
    d = _leaves(gen, 9, 2, 6)
    kw = _opts(reset=reset, reset_delay=delay, detach_reset=detach, surrogate="sigmoid", scale=5.0)
    leaves = [d["x"], d["v0"], d["theta"]]
    _compare(if_multistep_reference(*leaves, **kw), if_multistep_cpu(*leaves, **kw), leaves, gen)


@pytest.mark.parametrize(("reset", "delay", "detach"), MODES)
def test_final_state_only_matches_trace(reset, delay, detach):
    """trace=False gives v[-1] (and i[-1]) with the same gradients as slicing the reference."""
    gen = torch.Generator().manual_seed(_seed("final", reset, delay, detach))
    d = _leaves(gen, 7, 3, 4)
    kw = _opts(reset=reset, reset_delay=delay, detach_reset=detach)
    leaves = [d["x"], d["v0"], d["alpha"], d["theta"]]
    s_ref, v_ref = lif_multistep_reference(*leaves, **kw)
    out = lif_multistep(*leaves, **kw, trace=False)
    assert out[1].shape == (3, 4)
    _compare((s_ref, v_ref[-1]), out, leaves, gen)
    leaves = [d["x"], d["i0"], d["v0"], d["alpha_syn"], d["alpha"], d["theta"]]
    s_ref, i_ref, v_ref = cuba_lif_multistep_reference(*leaves, **kw)
    out = cuba_lif_multistep(*leaves, **kw, trace=False)
    _compare((s_ref, i_ref[-1], v_ref[-1]), out, leaves, gen)


def test_spike_only_loss_float32_and_partial_grads():
    """The benchmark's case: loss = sum(spikes), float32, only x and theta need gradients."""
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(50, 4, 64, generator=gen) * 0.8).requires_grad_()
    v0 = torch.zeros(4, 64)
    alpha = torch.full((64,), 0.9)
    theta = torch.full((64,), 1.0, requires_grad=True)
    grads = []
    for backend in ("reference", "cpu"):
        s, _ = lif_multistep(x, v0, alpha, theta, SpikeOptions(surrogate="arctan"),
                             backend=backend)
        grads.append(torch.autograd.grad(s.sum(), (x, theta)))
        assert 0.0 < s.mean() < 1.0
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_if_dispatch_and_errors():
    x = torch.rand(5, 2, 3)
    v0 = torch.zeros(2, 3)
    theta = torch.ones(3)
    s_ref, v_ref = if_multistep(x, v0, theta, backend="reference")
    s_cpu, v_cpu = if_multistep(x, v0, theta)
    torch.testing.assert_close(s_ref, s_cpu)
    torch.testing.assert_close(v_ref, v_cpu)
    with pytest.raises(ValueError, match="unknown backend"):
        if_multistep(x, v0, theta, backend="gpu")
    with pytest.raises(ValueError, match="unknown reset"):
        if_multistep(x, v0, theta, SpikeOptions(reset="hard"))
    with pytest.raises(ValueError, match="unknown surrogate"):
        if_multistep(x, v0, theta, {"surrogate": "tanh"})
    with pytest.raises(ValueError, match=r"v0 must have shape \[B, N\]"):
        if_multistep(x, torch.zeros(3), theta)
    with pytest.raises(ValueError, match="per-neuron"):
        if_multistep(x, v0, torch.ones(()))
    with pytest.raises(ValueError, match=r"\[T, B, N\]"):
        if_multistep(x[0], v0, theta)
    with pytest.raises(ValueError, match="dtype"):
        if_multistep(x, v0.double(), theta)


@pytest.mark.parametrize(("reset", "delay", "detach"), MODES)
@pytest.mark.parametrize(("recompute", "chunk"), [(False, None), (False, 3), (True, None),
                                                  (True, 4)])
def test_fused_linear_lif_matches_linear_then_reference(reset, delay, detach, recompute, chunk):
    gen = torch.Generator().manual_seed(_seed("fused", reset, delay, detach, recompute, chunk))
    T, B, K, N = 10, 3, 5, 4
    d = _leaves(gen, T, B, N)
    inp = (torch.rand(T, B, K, generator=gen, dtype=torch.float64) * 1.2).requires_grad_()
    w = (torch.rand(N, K, generator=gen, dtype=torch.float64) * 0.35).requires_grad_()
    b = (torch.randn(N, generator=gen, dtype=torch.float64) * 0.1).requires_grad_()
    kw = _opts(reset=reset, reset_delay=delay, detach_reset=detach, surrogate="fast_sigmoid",
              v_reset=0.1 if reset == "zero" else 0.0)
    leaves = [inp, w, b, d["v0"], d["alpha"], d["theta"]]
    s_ref, v_ref = lif_multistep_reference(inp @ w.t() + b, *leaves[3:], **kw)
    out = linear_lif_multistep(*leaves, **kw, recompute=recompute, chunk=chunk)
    assert 0.02 < float(s_ref.detach().mean()) < 0.98
    _compare((s_ref, v_ref[-1]), out, leaves, gen)


def test_fused_linear_lif_without_bias_and_errors():
    gen = torch.Generator().manual_seed(0)
    inp = torch.rand(6, 2, 3, generator=gen).requires_grad_()
    w = torch.randn(4, 3, generator=gen).requires_grad_()
    v0, alpha, theta = torch.zeros(2, 4), torch.full((4,), 0.9), torch.full((4,), 0.5)
    s, v = linear_lif_multistep(inp, w, None, v0, alpha, theta, recompute=True, chunk=4)
    s_ref, v_ref = lif_multistep_reference(inp @ w.t(), v0, alpha, theta)
    torch.testing.assert_close(s, s_ref)
    g = torch.autograd.grad(s.sum() + v.sum(), (inp, w))
    g_ref = torch.autograd.grad(s_ref.sum() + v_ref[-1].sum(), (inp, w))
    for a, b_ in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, b_, rtol=1e-5, atol=1e-6)
    gain, shift = torch.rand(4, generator=gen) + 0.5, torch.rand(4, generator=gen) * 0.1
    s, v = linear_lif_multistep(inp, w, None, v0, alpha, theta, gain=gain, shift=shift,
                                recompute=True, chunk=4)
    s_ref, v_ref = lif_multistep_reference((inp @ w.t()) * gain + shift, v0, alpha, theta)
    torch.testing.assert_close(s, s_ref)
    g = torch.autograd.grad(s.sum() + v.sum(), (inp, w))
    g_ref = torch.autograd.grad(s_ref.sum() + v_ref[-1].sum(), (inp, w))
    for a, b_ in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, b_, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="constants"):
        linear_lif_multistep(inp, w, None, v0, alpha, theta, gain=gain.requires_grad_())
    with pytest.raises(ValueError, match="matching K"):
        linear_lif_multistep(inp, w.t(), None, v0, alpha, theta)
    with pytest.raises(ValueError, match="chunk"):
        linear_lif_multistep(inp, w, None, v0, alpha, theta, chunk=0)


def test_fused_second_backward_needs_recompute():
    inp = torch.rand(4, 2, 3)
    w = torch.randn(5, 3, requires_grad=True)
    args = (torch.zeros(2, 5), torch.full((5,), 0.9), torch.full((5,), 0.2))
    s, _ = linear_lif_multistep(inp, w, None, *args)
    s.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="recompute=True"):
        s.sum().backward()
    s, _ = linear_lif_multistep(inp, w, None, *args, recompute=True)
    g1 = torch.autograd.grad(s.sum(), w, retain_graph=True)[0]
    g2 = torch.autograd.grad(s.sum(), w)[0]
    torch.testing.assert_close(g1, g2)


def test_kernel_threads_restores_the_thread_count(monkeypatch):
    import neuromorph.sim.kernels.cpu_lif as cpu_lif

    before = torch.get_num_threads()
    monkeypatch.setattr(cpu_lif, "KERNEL_THREADS", 1)
    with cpu_lif.kernel_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    monkeypatch.setattr(cpu_lif, "KERNEL_THREADS", 0)  # 0: leave torch's setting alone
    with cpu_lif.kernel_threads():
        assert torch.get_num_threads() == before
