"""The conductance-based LIF (``CondLIF``) against the event engine's ``COBALIFGroup``, a
hand-computed few-step case, and the inline Diehl & Cook neuron it replaced."""

from __future__ import annotations

import math

import pytest
import torch

from neuromorph.networks.neurons import (
    CondLIF,
    CondLIFParams,
    cond_lif_step,
    make_neuron,
)
from neuromorph.nir import to_nir
from neuromorph.nir.convention import NIRConversionError
from neuromorph.sim import (
    Channel,
    COBALIFGroup,
    Network,
    Projection,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
)
from neuromorph.sim.propagators import refractory_steps
from neuromorph.specs import SpikeOptions

F64 = torch.float64
V_RESET = -0.0505  # close below threshold: a neuron can fire again right after refractoriness
MODEL = dict(tau_mem=20e-3, tau_exc=5e-3, tau_inh=10e-3, v_leak=-0.06, v_threshold=-0.05,
             e_exc=0.0, e_inh=-0.08)


def _generator(spikes: torch.Tensor, dt: float) -> SpikeGeneratorGroup:
    t, i = spikes.nonzero(as_tuple=True)
    return SpikeGeneratorGroup(spikes.shape[1], i, t.to(F64) * dt)


def _engine(spk_e, spk_i, w_e, w_i, dt: float, refractory: float, backend: str):
    """``COBALIFGroup`` driven through all-to-all projections; returns spikes ``[T + 2, n]``
    and the membrane recorded at the start of every step ``[T + 2, n]``."""
    T, n_in = spk_e.shape
    n = w_e.shape[0]
    net = Network(dt=dt, dtype=F64, backend=backend)
    src_e, src_i = net.add(_generator(spk_e, dt)), net.add(_generator(spk_i, dt))
    group = net.add(COBALIFGroup(
        n, tau_m=MODEL["tau_mem"], v_rest=MODEL["v_leak"], v_threshold=MODEL["v_threshold"],
        v_reset=V_RESET, refractory=refractory,
        channels={"ge": Channel(MODEL["tau_exc"], e_rev=MODEL["e_exc"]),
                  "gi": Channel(MODEL["tau_inh"], e_rev=MODEL["e_inh"])}))
    pre, post = (a.flatten() for a in torch.meshgrid(torch.arange(n_in), torch.arange(n),
                                                      indexing="ij"))
    net.add(Projection(src_e, group, "ge", (pre, post), weight=w_e.T.flatten()))
    net.add(Projection(src_i, group, "gi", (pre, post), weight=w_i.T.flatten()))
    v_mon, s_mon = net.add(StateMonitor(group, "v")), net.add(SpikeMonitor(group))
    net.run((T + 2) * dt)
    spikes = torch.zeros(T + 2, n, dtype=F64)
    spikes[torch.as_tensor(s_mon.steps), torch.as_tensor(s_mon.i)] = 1.0
    return spikes, torch.as_tensor(v_mon.v)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("refractory", [0.0, 3e-3])
def test_matches_the_engine_coba_group_on_the_same_input_trains(backend, refractory):
    """Same spikes, membranes to 1e-15 V (float64). The engine updates v with the conductances
    at the start of its step and delivers the step's input after the threshold, so its step
    n + 1 is the neuron's step n, and its monitor (start of step) at n + 2 is the neuron's v[n]."""
    dt, T, n, n_in = 1e-3, 400, 6, 20
    gen = torch.Generator().manual_seed(1)
    spk_e = torch.rand(T, n_in, generator=gen, dtype=F64) < 0.05
    spk_i = torch.rand(T, n_in, generator=gen, dtype=F64) < 0.03
    w_e = 0.6 * torch.rand(n, n_in, generator=gen, dtype=F64)
    w_i = 0.8 * torch.rand(n, n_in, generator=gen, dtype=F64)
    eng_s, eng_v = _engine(spk_e, spk_i, w_e, w_i, dt, refractory, backend)

    default = torch.get_default_dtype()
    torch.set_default_dtype(F64)  # parameters stored in float64, as the engine's
    try:
        neuron = CondLIF(n, dt=dt, refractory=refractory, v_reset=V_RESET, **MODEL)
    finally:
        torch.set_default_dtype(default)
    out = neuron(spk_e.to(F64)[:, None] @ w_e.T, x_inh=spk_i.to(F64)[:, None] @ w_i.T,
                 return_v=True)
    s, v = out.spikes[:, 0], out.v[:, 0]
    assert s.sum() > 50  # the neurons fire often enough to exercise reset and refractoriness
    assert torch.equal(s, eng_s[1: T + 1]) and eng_s[0].sum() == 0
    assert (v - eng_v[2: T + 2]).abs().max() < 1e-15
    if refractory:  # some neuron fires again as soon as it is allowed: R steps after a spike
        R = refractory_steps(refractory, dt)
        isi = [torch.diff(s[:, k].nonzero().flatten()) for k in range(n)]
        assert min(int(d.min()) for d in isi if d.numel()) == R


def _written_out(xs_e, xs_i, thetas, p: dict, dt: float, R: int):
    """The documented step, in plain Python floats (one neuron)."""
    v, ge, gi, ahead, out = p["v_leak"], 0.0, 0.0, 0, []
    for x_e, x_i, theta in zip(xs_e, xs_i, thetas, strict=True):
        ge = ge * math.exp(-dt / p["tau_exc"]) + x_e
        gi = gi * math.exp(-dt / p["tau_inh"]) + x_i
        g = 1.0 + ge + gi
        v_inf = (p["v_leak"] + ge * p["e_exc"] + gi * p["e_inh"]) / g
        if ahead == 0:
            v = v_inf + (v - v_inf) * math.exp(-g * dt / p["tau_mem"])
        fired = ahead == 0 and v > p["v_threshold"] + theta
        if fired:
            v, ahead = p["v_reset"], R - 1
        else:
            ahead = max(ahead - 1, 0)
        out.append((float(fired), v))
    return out


def test_a_few_steps_by_hand():
    """Excitation fires at step 1; v is held at v_reset in the refractory steps 2-3 (R = 3)
    and fires again at step 4, as soon as allowed; at step 7 a raised threshold (theta = 20 mV)
    blocks a spike that theta = 0 gives; at step 8 inhibition pulls v back toward e_inh."""
    dt, p = 1e-3, dict(MODEL, v_reset=-0.07)
    xs_e = [0.5, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0]
    xs_i = [0.0] * 8 + [40.0]
    thetas = [0.0] * 7 + [0.02, 0.0]
    expected = _written_out(xs_e, xs_i, thetas, p, dt, R=3)
    assert [s for s, _ in expected] == [0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert _written_out(xs_e, xs_i, [0.0] * 9, p, dt, R=3)[7][0] == 1.0  # theta mattered
    assert [v for _, v in expected[1:7]] == [-0.07] * 6  # reset, held while refractory
    assert -0.05 < expected[7][1] < -0.03 and expected[8][1] < -0.06
    # step 0 by hand: g_e = 0.5, v_inf = v_leak / 1.5, v relaxes for dt at rate 1.5 / tau_mem
    v0 = -0.06 / 1.5 + (-0.06 + 0.06 / 1.5) * math.exp(-1.5 * dt / 20e-3)
    assert expected[0][1] == pytest.approx(v0, abs=1e-15)
    params = CondLIFParams(**MODEL, refractory=3e-3, options=SpikeOptions("zero", v_reset=-0.07))
    state, got = None, []
    one = torch.ones(1, 1, dtype=F64)
    for x_e, x_i, theta in zip(xs_e, xs_i, thetas, strict=True):
        s, state = cond_lif_step(one * x_e, state, params, dt, x_inh=one * x_i,
                                 theta=one * theta)
        got.append((float(s), float(state.v)))
    assert [s for s, _ in got] == [s for s, _ in expected]
    assert max(abs(a[1] - b[1]) for a, b in zip(got, expected, strict=True)) < 1e-15


def _inline_diehl_cook(drive, inh_weight, theta, c: dict):
    """The experiment's hand-written neuron as it was at commit 3068f20 (float32; v held for
    ``round(refractory / dt)`` steps after the spike's step), kept as the reference."""
    T, B, n = drive.shape
    d_ge, d_gi = math.exp(-c["dt"] / c["tau_ge"]), math.exp(-c["dt"] / c["tau_gi"])
    v = torch.full((B, n), c["v_rest"])
    ge, gi, refr, s = (torch.zeros(B, n) for _ in range(4))
    out, vs, ref_steps = torch.empty(T, B, n), torch.empty(T, B, n), round(c["refr"] / c["dt"])
    for t in range(T):
        ge = ge * d_ge + drive[t]
        gi = gi * d_gi + inh_weight * (s.sum(1, keepdim=True) - s)
        g_tot = 1.0 + ge + gi
        v_inf = (c["v_rest"] + ge * c["e_exc"] + gi * c["e_inh"]) / g_tot
        v_new = v_inf + (v - v_inf) * torch.exp(-g_tot * (c["dt"] / c["tau_m"]))
        free = refr <= 0
        v = torch.where(free, v_new, v)
        s = ((v > c["v_thresh"] + theta) & free).float()
        v = torch.where(s > 0, c["v_reset"], v)
        refr = torch.where(s > 0, float(ref_steps), refr - 1)
        out[t], vs[t] = s, v
    return out, vs


def test_reproduces_the_inline_diehl_cook_neuron_bit_for_bit():
    """float32, same operation order: spikes and membranes identical (torch.equal) with
    ``refractory + dt`` (Brian2's period counts the spike's step)."""
    c = dict(dt=1e-3, tau_ge=1e-3, tau_gi=2e-3, v_rest=-65e-3, v_reset=-65e-3, v_thresh=-52e-3,
             e_exc=0.0, e_inh=-100e-3, tau_m=100e-3, refr=5e-3)
    gen = torch.Generator().manual_seed(2)
    T, B, n, n_in = 250, 8, 30, 64
    spikes_in = (torch.rand(T, B, n_in, generator=gen) < 0.06).float()
    drive = spikes_in @ (0.5 * torch.rand(n, n_in, generator=gen)).T
    theta = 2e-3 * torch.rand(n, generator=gen)
    ref_s, ref_v = _inline_diehl_cook(drive, 17.0, theta, c)
    p = CondLIFParams(tau_mem=c["tau_m"], tau_exc=c["tau_ge"], tau_inh=c["tau_gi"],
                      v_leak=c["v_rest"], v_threshold=c["v_thresh"], e_exc=c["e_exc"],
                      e_inh=c["e_inh"], refractory=c["refr"] + c["dt"],
                      options=SpikeOptions("zero", v_reset=c["v_reset"]))
    state, s = None, torch.zeros(B, n)
    coefficients = p.coefficients(c["dt"])
    for t in range(T):
        s, state = cond_lif_step(drive[t], state, p, c["dt"], theta=theta,
                                 x_inh=17.0 * (s.sum(1, keepdim=True) - s),
                                 coefficients=coefficients)
        assert torch.equal(s, ref_s[t]) and torch.equal(state.v, ref_v[t]), f"step {t}"
    assert ref_s.sum() > 100


def test_surrogate_gradient_reaches_the_input_and_leaves_the_numbers_alone():
    """With autograd the step takes its differentiable path (surrogate spike, arithmetic reset);
    its spikes and membranes equal those of the plain path, which the tests above check."""
    neuron = CondLIF(3, dt=1e-3, refractory=2e-3, surrogate="arctan")
    x = 2.0 * torch.rand(80, 2, 3, generator=torch.Generator().manual_seed(3))
    plain = neuron(x, x_inh=0.2 * x.flip(0), return_v=True)
    x.requires_grad_(True)
    tracked = neuron(x, x_inh=0.2 * x.flip(0), return_v=True)
    assert torch.equal(tracked.spikes.detach(), plain.spikes) and plain.spikes.sum() > 10
    assert torch.equal(tracked.v.detach(), plain.v)
    tracked.spikes.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_registered_and_spec_round_trip():
    neuron = make_neuron("cond_lif", 4, dt=1e-3, refractory=2e-3, v_leak=-0.07, v_reset=-0.07)
    assert isinstance(neuron, CondLIF)
    spec = neuron.spec
    assert spec.refractory == 2e-3 and spec.options.v_reset == -0.07 and spec.v_leak == -0.07
    rebuilt = CondLIF.from_spec(spec, dt=1e-3)
    x = torch.rand(60, 2, 4)
    assert torch.equal(neuron(x), rebuilt(x)) and rebuilt.spec == spec


@pytest.mark.parametrize("make, words", [
    (lambda: CondLIF(2, dt=1e-3, reset="subtract"), "reset='zero'"),
    (lambda: CondLIF(2, dt=1e-3, reset_delay=True), "reset_delay=False"),
    (lambda: CondLIF(2, dt=1e-3, method="euler"), "exponential Euler only"),
    (lambda: CondLIF(2, dt=1e-3, tau_exc=0.0), "tau_exc must be positive"),
    (lambda: CondLIF(2, dt=1e-3, refractory=-1e-3), "refractory must be >= 0"),
    (lambda: CondLIF(2, dt=1e-3)(torch.rand(5, 1, 2), theta=torch.rand(3)), "theta has shape"),
    (lambda: CondLIF(2, dt=1e-3)(torch.rand(5, 1, 2), x_inh=torch.rand(5, 2)), "x_inh has"),
])
def test_bad_input_fails_with_one_clear_error(make, words):
    with pytest.raises(ValueError) as err:
        make()
    assert words in str(err.value)


def test_nir_export_refuses_it_by_name():
    with pytest.raises(NIRConversionError, match="CondLIF"):
        to_nir(CondLIF(3, dt=1e-3), input_shape=(3,))
