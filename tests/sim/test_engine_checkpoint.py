"""Checkpoint / resume gives the spikes of an uninterrupted run; backends agree with each other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim import (
    STDP,
    LIFGroup,
    Network,
    PoissonGroup,
    PopulationRateMonitor,
    SpikeMonitor,
    StateMonitor,
    fixed_indegree,
    fixed_probability,
    load_checkpoint,
    save_checkpoint,
)
from neuromorph.sim.groups import Channel

DT = 1e-4


def build(backend: str = "numpy", dtype: torch.dtype = torch.float64, seed: int = 5,
          kernels: str = "auto", n: int = 120, device: str = "cpu") -> tuple[Network, dict]:
    """Poisson drive, a recurrent E/I LIF network with heterogeneous delays, a plastic input."""
    net = Network(dt=DT, dtype=dtype, seed=seed, backend=backend, kernels=kernels, device=device)
    inp = net.add(PoissonGroup(60, torch.linspace(5.0, 40.0, 60), name="inp"))
    P = net.add(LIFGroup(n, tau_m=20e-3, v_rest=-0.049, v_threshold=-0.05, v_reset=-0.06,
                         refractory=2e-3, channels={"ge": 5e-3, "gi": Channel(10e-3)}, name="P"))
    P.set("v", -0.06 + 0.01 * torch.rand(n, generator=net.generator("init"), dtype=torch.float64))
    ne = n * 4 // 5
    delay = lambda k, g: 1e-3 * torch.rand(k, generator=g, dtype=torch.float64)  # noqa: E731
    net.connect(P[:ne], P, "ge", fixed_probability(0.1), weight=1.6e-3, delay=delay, name="E")
    net.connect(P[ne:], P, "gi", fixed_probability(0.1), weight=-9e-3, name="I")
    rule = STDP(tau_pre=20e-3, tau_post=20e-3, a_pre=1e-4, a_post=-1.05e-4, w_max=3e-3)
    plastic = net.connect(inp, P, "ge", fixed_indegree(6), weight=1e-3, delay=5e-4,
                          plasticity=rule, name="plastic")
    mons = {"spikes": net.add(SpikeMonitor(P, name="spikes")),
            "v": net.add(StateMonitor(P, ["v", "ge"], record=[0, 5, 17], every=3, name="vmon")),
            "rate": net.add(PopulationRateMonitor(P, name="rate")),
            "w": net.add(StateMonitor(plastic, "w", record=[0, 1, 2], name="wmon")),
            "proj": plastic}
    return net, mons


def test_resume_from_a_checkpoint_gives_identical_spikes(tmp_path):
    full, m_full = build()
    full.run(0.3)
    part, _ = build()
    part.run(0.13)
    save_checkpoint(part, tmp_path / "ck.pt")
    resumed, m_res = build()
    load_checkpoint(resumed, tmp_path / "ck.pt")
    assert resumed.step == 1300
    resumed.run(0.17)
    assert m_full["spikes"].num_spikes > 100
    np.testing.assert_array_equal(m_full["spikes"].i, m_res["spikes"].i)
    np.testing.assert_array_equal(m_full["spikes"].steps, m_res["spikes"].steps)
    np.testing.assert_array_equal(m_full["v"]["v"], m_res["v"]["v"])
    np.testing.assert_array_equal(m_full["v"].t, m_res["v"].t)
    np.testing.assert_array_equal(m_full["rate"].rate, m_res["rate"].rate)
    np.testing.assert_array_equal(m_full["w"].w, m_res["w"].w)
    assert torch.equal(m_full["proj"].weights, m_res["proj"].weights)


def test_run_in_pieces_equals_one_run():
    a, ma = build()
    a.run(0.1)
    b, mb = build()
    for _ in range(4):
        b.run(0.025)
    np.testing.assert_array_equal(ma["spikes"].i, mb["spikes"].i)
    np.testing.assert_array_equal(ma["spikes"].steps, mb["spikes"].steps)


def test_checkpoint_of_another_network_is_refused(tmp_path):
    a, _ = build()
    a.run(0.001)
    save_checkpoint(a, tmp_path / "a.pt")
    other = Network(dt=DT)
    other.add(LIFGroup(3, tau_m=1e-2, v_rest=0, v_threshold=1, v_reset=0))
    with pytest.raises(ValueError, match="different network"):
        load_checkpoint(other, tmp_path / "a.pt")


def test_numpy_and_torch_backends_give_identical_spikes():
    a, ma = build("numpy")
    b, mb = build("torch", kernels="reference")
    a.run(0.05)
    b.run(0.05)
    assert ma["spikes"].num_spikes > 30
    np.testing.assert_array_equal(ma["spikes"].i, mb["spikes"].i)
    np.testing.assert_array_equal(ma["spikes"].steps, mb["spikes"].steps)
    np.testing.assert_allclose(ma["w"].w, mb["w"].w, rtol=0, atol=1e-15)
    np.testing.assert_allclose(ma["v"]["v"], mb["v"]["v"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ma["rate"].rate, mb["rate"].rate)


def test_torch_backend_with_triton_event_kernels():
    pytest.importorskip("triton")
    from triton.runtime.interpreter import InterpretedFunction

    from neuromorph.sim.kernels.triton_events import propagate_kernel
    interpreted = isinstance(propagate_kernel, InterpretedFunction)
    if not interpreted and not torch.cuda.is_available():
        pytest.skip("Triton kernels need CUDA or TRITON_INTERPRET=1")
    # Poisson inputs draw from the generator of the network's device (Network.generator), so a
    # CUDA run differs from a CPU run: on CUDA the reference is the reference kernels on CUDA.
    a, ma = build("numpy", n=30) if interpreted else \
        build("torch", kernels="reference", n=30, device="cuda")
    b, mb = build("torch", kernels="triton", n=30, device="cpu" if interpreted else "cuda")
    for net in (a, b):  # start close to threshold so that the short run has spikes
        net["P"].set("v", torch.linspace(-0.0502, -0.0498, 30, dtype=torch.float64))
        net.run(0.008)
    assert mb["spikes"].num_spikes > 2
    np.testing.assert_array_equal(ma["spikes"].steps, mb["spikes"].steps)
    np.testing.assert_array_equal(ma["spikes"].i, mb["spikes"].i)
    np.testing.assert_allclose(ma["w"].w, mb["w"].w, rtol=0, atol=1e-12)


def test_same_seed_same_run_other_seed_other_run():
    a, ma = build(seed=1)
    b, mb = build(seed=1)
    c, mc = build(seed=2)
    for net in (a, b, c):
        net.run(0.05)
    np.testing.assert_array_equal(ma["spikes"].i, mb["spikes"].i)
    assert ma["spikes"].num_spikes != mc["spikes"].num_spikes or \
        not np.array_equal(ma["spikes"].i, mc["spikes"].i)
