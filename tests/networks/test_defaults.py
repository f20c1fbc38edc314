"""Defaults that work (issue 12): unit input gain, ``beta=`` as snnTorch's decay, NaN inputs
refused, and tau / dt / method validated once, at construction.

Each test reproduces a reported fault and checks the fix against hand-written step equations
(independent of the library's discretisation code).
"""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.networks import neurons as N
from neuromorph.networks.spiking_layers import SpikingLinear
from neuromorph.specs import SpikeOptions

T, B = 40, 3


def _leaky_loop(x: torch.Tensor, a: float, thr: float | None = 1.0) -> tuple[torch.Tensor, ...]:
    """``v <- a v + x`` (unit gain), subtract reset at ``thr`` (None: no spikes)."""
    v, spikes, vs = torch.zeros_like(x[0]), [], []
    for xt in x:
        h = a * v + xt
        s = (h > thr).to(x.dtype) if thr is not None else torch.zeros_like(h)
        v = h - s * (thr or 0.0)
        spikes.append(s)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs)


def test_readme_layer_fires_at_init_on_unit_scale_inputs() -> None:
    """The README's ``SpikingLinear(64, 128, neuron="lif", dt=2e-3, tau=20e-3)`` was silent at
    init (the old r = 1 gives step gain dt/tau = 0.1); with unit gain about half the neurons
    fire on ``torch.rand`` inputs."""
    torch.manual_seed(0)
    x = torch.rand(100, 16, 64)
    fired = {}
    for name, kw in (("old r=1", {"r": 1.0}), ("default", {})):
        torch.manual_seed(1)
        layer = SpikingLinear(64, 128, neuron="lif", dt=2e-3, tau=20e-3, **kw)
        with torch.no_grad():
            fired[name] = int((layer(x).sum((0, 1)) > 0).sum())
    assert fired["old r=1"] == 0  # the reported fault, reproduced with the old gain
    assert fired["default"] >= 40, fired
    assert SpikingLinear(64, 128, dt=2e-3, tau=20e-3).neuron.spec.r == 10.0  # tau / dt


@pytest.mark.parametrize("method", ["euler", "exact"])
def test_default_gain_is_unit_per_step(method: str) -> None:
    """r not given: ``v <- alpha v + x`` for LIF, LI and ALIF (before adaptation), as Leaky."""
    dt, tau = 1e-3, 8e-3
    a = 1 - dt / tau if method == "euler" else math.exp(-dt / tau)
    x = torch.rand(T, B, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch.set_default_dtype(torch.float64)
    try:
        lif = N.LIF(4, dt=dt, tau=tau, method=method)
        li = N.LI(4, dt=dt, tau=tau, method=method)
        alif = N.ALIF(4, dt=dt, tau=tau, beta_adapt=0.0, method=method)
    finally:
        torch.set_default_dtype(torch.float32)
    s_want, v_want = _leaky_loop(x, a)
    out = lif(x, return_v=True)
    assert 0.05 < float(s_want.mean()) < 0.95
    torch.testing.assert_close(out.spikes, s_want)
    torch.testing.assert_close(out.v, v_want)
    torch.testing.assert_close(alif(x), s_want)
    torch.testing.assert_close(li(x), _leaky_loop(x, a, None)[1])


def test_default_gains_of_if_and_cuba() -> None:
    """IF: ``v <- v + x`` (r = 1/dt); CubaLIF / CubaLI: ``i <- a i + x``, ``v <- b v + i``."""
    dt = 1e-3
    x = torch.rand(T, B, 5, generator=torch.Generator().manual_seed(3)) * 0.3
    s_want, v_want = _leaky_loop(x, 1.0)
    out = N.IF(5, dt=dt)(x, return_v=True)
    torch.testing.assert_close(out.spikes, s_want)
    torch.testing.assert_close(out.v, v_want)
    torch.testing.assert_close(N.Integrator(dt=dt)(x), torch.cumsum(x, 0))
    a, b = 1 - dt / 4e-3, 1 - dt / 10e-3
    i, cur = torch.zeros_like(x[0]), []
    for xt in x:
        i = a * i + xt
        cur.append(i)
    cur = torch.stack(cur)
    s_want, v_want = _leaky_loop(cur, b, thr=2.0)
    out = N.CubaLIF(5, dt=dt, tau_syn=4e-3, tau_mem=10e-3, v_threshold=2.0)(x, return_v=True)
    assert float(s_want.mean()) > 0.05
    torch.testing.assert_close(out.spikes, s_want)
    torch.testing.assert_close(out.v, v_want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(N.CubaLI(dt=dt, tau_syn=4e-3, tau_mem=10e-3)(x),
                               _leaky_loop(cur, b, None)[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["euler", "exact"])
def test_beta_is_snntorchs_decay(method: str) -> None:
    """``beta=`` instead of tau: ``v <- beta v + x`` at any dt, for LIF, CubaLIF (membrane),
    ALIF and LI; the spec carries the tau it maps to."""
    beta, dt = 0.9, 2e-3
    x = torch.rand(T, B, 3, generator=torch.Generator().manual_seed(4))
    s_want, v_want = _leaky_loop(x, beta)
    lif = N.LIF(dt=dt, beta=beta, method=method)
    torch.testing.assert_close(lif(x, return_v=True).v, v_want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(N.ALIF(dt=dt, beta=beta, beta_adapt=0.0, method=method)(x), s_want)
    torch.testing.assert_close(N.LI(dt=dt, beta=beta, method=method)(x),
                               _leaky_loop(x, beta, None)[1], rtol=1e-5, atol=1e-5)
    cuba = N.CubaLIF(dt=dt, beta=beta, tau_syn=dt, method=method)
    assert cuba.spec.tau_mem == pytest.approx(lif.spec.tau)
    want_tau = dt / (1 - beta) if method == "euler" else -dt / math.log(beta)
    assert lif.spec.tau == pytest.approx(want_tau)


@pytest.mark.parametrize("make, words", [
    (lambda: N.LIF(dt=1e-3, tau=0.02, beta=0.9), "give tau (time constant, s) or beta"),
    (lambda: N.CubaLIF(dt=1e-3, tau_mem=0.02, beta=0.9), "give tau_mem"),
    (lambda: N.LIF(dt=1e-3, beta=1.0), "decay (beta) must lie in [0, 1)"),
    (lambda: N.LI(dt=1e-3, beta=0.0, method="exact"), "cannot represent a decay of 0"),
    (lambda: N.LIF(dt=1e-3, tau=0.5e-3), "Euler discretisation needs dt <= tau"),
    (lambda: N.CubaLIF(dt=1e-3, tau_syn=0.2e-3), "needs dt <= tau_syn"),
    (lambda: N.ALIF(dt=1e-3, tau_adapt=-1.0), "tau_adapt must be positive"),
    (lambda: N.LIF(dt=1e-3, reset="hard"), "unknown reset 'hard'"),
    (lambda: N.LIF(dt=1e-3, options=SpikeOptions(), reset="zero"), "not both"),
])
def test_bad_parameters_fail_at_construction(make, words: str) -> None:
    with pytest.raises(ValueError) as err:
        make()
    assert words in str(err.value)


def test_unknown_option_keyword_is_named() -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword\(s\) \['resett'\]"):
        N.LIF(dt=1e-3, resett="zero")


def test_forward_does_not_validate_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation runs at construction only: with the checker made to fail afterwards, forward
    passes, the step loop and the fused layer still run (no per-call check, so no host sync)."""
    import neuromorph.networks.neurons.base as base
    import neuromorph.primitives.discretize as disc

    lif = N.LIF(4, dt=1e-3, tau=torch.full((4,), 5e-3), learn_tau=True)
    alif = N.ALIF(4, dt=1e-3)
    cuba = N.CubaLIF(4, dt=1e-3, learn_tau=True)
    layer = SpikingLinear(3, 4, dt=1e-3)

    def refuse(*args, **kwargs):
        raise AssertionError("validated again after construction")

    monkeypatch.setattr(base, "check_time_constant", refuse)
    monkeypatch.setattr(disc, "check_time_constant", refuse)
    x = torch.rand(5, 2, 4)
    lif(x).sum().backward()
    lif.step(x[0])
    alif(x)
    cuba(x)
    layer(x[..., :3])


def test_trained_tau_below_dt_is_clamped_not_raised() -> None:
    """An optimiser step that pushes a learnable Euler tau below dt makes it act as tau = dt
    (decay 0) instead of raising in the middle of training."""
    x = torch.rand(T, B, 2, generator=torch.Generator().manual_seed(5))
    lif = N.LIF(2, dt=1e-3, tau=5e-3, r=1.0, learn_tau=True)
    with torch.no_grad():
        lif.tau.fill_(0.2e-3)
    want = N.LIF(2, dt=1e-3, tau=1e-3, r=1.0)(x, return_v=True)
    got = lif(x, return_v=True)
    torch.testing.assert_close(got.v, want.v)
    assert lif.spec.tau == pytest.approx(1e-3)  # the tau the kernels used (shared: one value)


@pytest.mark.parametrize("make, silenced", [
    (lambda: N.LIF(3, dt=1e-3), 1), (lambda: N.IF(3, dt=1e-3, backend="reference"), 1),
    (lambda: N.CubaLIF(3, dt=1e-3), 1), (lambda: N.ALIF(3, dt=1e-3), 1),
    (lambda: SpikingLinear(3, 3, dt=1e-3), 3),  # the NaN reaches every neuron via the weights
], ids=["lif", "if-reference", "cuba", "alif", "fused-linear"])
def test_nan_in_a_spiking_input_raises_one_clear_line(make, silenced: int) -> None:
    """One NaN used to silence its neuron for the rest of the sequence without a word."""
    layer = make()
    x = torch.rand(10, 2, 3)
    layer(x)  # a clean input passes
    x[4, 1, 2] = float("nan")
    with pytest.raises(ValueError, match=rf"spiking input holds NaN .* {silenced} neuron\(s\)") \
            as err:
        layer(x)
    assert "\n" not in str(err.value)
