"""The compiled event loop (numba) against the per-step numpy path on the same networks.

Each network is built twice from the same seed: once with ``NEUROMORPH_NATIVE=0`` (the numpy
path, itself validated against Brian2 in ``test_brian2_validation.py``) and once with the
compiled loop. Spikes must be identical; states agree to rounding (the state update adds its
terms in a fixed order, BLAS in its own).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from neuromorph.sim import LIFGroup, Network, PoissonGroup, SpikeMonitor
from neuromorph.sim.connectivity import fixed_probability
from neuromorph.sim.loop_native import ENV_SWITCH, NativeLoop, native_available
from neuromorph.sim.poisson_input import PoissonInput

pytest.importorskip("numba")
DT = 1e-4
F64 = torch.float64


def cuba(dtype: torch.dtype, n: int = 4000, seed: int = 2) -> tuple[Network, list[SpikeMonitor]]:
    net = Network(dt=DT, seed=seed, dtype=dtype)
    P = net.add(LIFGroup(n, tau_m=20e-3, v_rest=-49e-3, v_threshold=-50e-3, v_reset=-60e-3,
                         refractory=5e-3, channels={"ge": 5e-3, "gi": 10e-3}, name="P"))
    P.set("v", -60e-3 + torch.rand(n, generator=net.generator("init"), dtype=F64) * 10e-3)
    n_e = int(0.8 * n)
    net.connect(P[:n_e], P, "ge", fixed_probability(0.02), weight=1.62e-3, name="Ce")
    net.connect(P[n_e:], P, "gi", fixed_probability(0.02), weight=-9e-3, name="Ci")
    return net, [net.add(SpikeMonitor(P, name="spikes"))]


def mixed(dtype: torch.dtype) -> tuple[Network, list[SpikeMonitor]]:
    """Two groups; per-synapse delays (ring buffer), delta synapses onto v of a refractory
    group (held by ``(unless refractory)``), an injected current, a subgroup monitor."""
    net = Network(dt=DT, seed=5, dtype=dtype)
    g = net.generator("init")
    A = net.add(LIFGroup(600, tau_m=10e-3, v_rest=-65e-3, v_threshold=-50e-3, v_reset=-65e-3,
                         refractory=2e-3, channels={"ge": 3e-3}, name="A"))
    B = net.add(LIFGroup(300, tau_m=15e-3, v_rest=-70e-3, v_threshold=-52e-3, v_reset=-70e-3,
                         refractory=3e-3, name="B"))
    A.set("I", 16e-3 + 4e-3 * torch.rand(600, generator=g, dtype=F64))
    A.set("v", -65e-3 + 10e-3 * torch.rand(600, generator=g, dtype=F64))
    net.connect(A, A, "ge", fixed_probability(0.05), weight=0.8e-3,
                delay=lambda n, gen: torch.rand(n, generator=gen, dtype=F64) * 4e-3, name="AA")
    net.connect(A[:300], B, "v", fixed_probability(0.1), weight=2.5e-3, delay=1e-3, name="AB")
    net.connect(B, A[100:400], "ge", fixed_probability(0.1), weight=-1.5e-3, name="BA")
    return net, [net.add(SpikeMonitor(A, name="a")), net.add(SpikeMonitor(B[50:250], name="b"))]


def fused_forms(dtype: torch.dtype) -> tuple[Network, list[SpikeMonitor]]:
    """The update's fused loops with no channel and with one (no injected current): a group
    that integrates while refractory, one that holds ``v``, delta synapses onto ``v`` and
    channel input (``mixed`` and ``cuba`` cover the general loop and two channels)."""
    net = Network(dt=DT, seed=7, dtype=dtype)
    g = net.generator("init")
    A = net.add(LIFGroup(700, tau_m=12e-3, v_rest=-45e-3, v_threshold=-50e-3, v_reset=-62e-3,
                         refractory=3e-3, integrate_refractory=True, name="A"))
    B = net.add(LIFGroup(500, tau_m=18e-3, v_rest=-48e-3, v_threshold=-50e-3, v_reset=-60e-3,
                         refractory=4e-3, channels={"ge": 4e-3}, name="B"))
    for G in (A, B):
        G.set("v", -62e-3 + 12e-3 * torch.rand(G.n, generator=g, dtype=F64))
    net.connect(A, B, "ge", fixed_probability(0.05), weight=0.6e-3, name="AB")
    net.connect(B, A, "v", fixed_probability(0.05), weight=-0.8e-3, name="BA")
    net.connect(B, B, "v", fixed_probability(0.03), weight=0.5e-3, delay=1e-3, name="BB")
    return net, [net.add(SpikeMonitor(A, name="a")), net.add(SpikeMonitor(B, name="b"))]


def poisson_driven(dtype: torch.dtype) -> tuple[Network, list[SpikeMonitor]]:
    """Poisson inputs (Brian2's ``PoissonInput``) onto a channel and onto ``v`` of a group that
    holds ``v`` while refractory, per-neuron source counts, two inputs on one stream whose draw
    chunks end at different steps (the groups differ in size), delayed recurrent synapses."""
    net = Network(dt=DT, seed=11, dtype=dtype)
    A = net.add(LIFGroup(5000, tau_m=10e-3, v_rest=-65e-3, v_threshold=-50e-3, v_reset=-65e-3,
                         refractory=2e-3, channels={"ge": 2e-3}, name="A"))
    B = net.add(LIFGroup(1500, tau_m=15e-3, v_rest=-70e-3, v_threshold=-52e-3, v_reset=-70e-3,
                         refractory=3e-3, name="B"))
    counts = 800 + torch.arange(A.n) % 400
    net.add(PoissonInput(A, "ge", counts, 10.0, 0.8e-3, name="to_A"))
    net.add(PoissonInput(B, "v", 500, 12.0, 0.4e-3, name="to_B"))
    net.connect(A, B, "v", fixed_probability(0.01), weight=0.5e-3, delay=1e-3, name="AB")
    net.connect(B, A, "ge", fixed_probability(0.02), weight=-0.6e-3,
                delay=lambda n, gen: torch.rand(n, generator=gen, dtype=F64) * 3e-3, name="BA")
    return net, [net.add(SpikeMonitor(A, name="a")), net.add(SpikeMonitor(B, name="b"))]


def run_both(build: Callable[[], tuple[Network, list[SpikeMonitor]]], durations: list[float],
             monkeypatch: pytest.MonkeyPatch) -> list[tuple[Network, list[SpikeMonitor]]]:
    out = []
    for switch in ("0", "1"):
        monkeypatch.setenv(ENV_SWITCH, switch)
        net, mons = build()
        for d in durations:
            net.run(d)
        assert isinstance(net._native, NativeLoop) == (switch == "1")
        out.append((net, mons))
    return out


def assert_same(ref: tuple[Network, list[SpikeMonitor]], nat: tuple[Network, list[SpikeMonitor]],
                atol: float) -> None:
    for m_ref, m_nat in zip(ref[1], nat[1], strict=True):
        assert m_ref.num_spikes > 50
        np.testing.assert_array_equal(m_ref.i, m_nat.i)
        np.testing.assert_array_equal(m_ref.steps, m_nat.steps)
    for name in ("P", "A", "B"):
        try:
            g_ref, g_nat = ref[0][name], nat[0][name]
        except KeyError:
            continue
        torch.testing.assert_close(g_nat.state, g_ref.state, rtol=0, atol=atol)
        assert torch.equal(g_nat.lastspike, g_ref.lastspike)
        np.testing.assert_array_equal(np.sort(g_nat.spikes), np.sort(g_ref.spikes))


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-14), (torch.float32, 1e-6)])
def test_cuba_compiled_loop_gives_the_numpy_paths_spikes(dtype: torch.dtype, atol: float,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ref, nat = run_both(lambda: cuba(dtype), [0.15, 0.05], monkeypatch)
    assert_same(ref, nat, atol)


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-14), (torch.float32, 1e-6)])
def test_delays_delta_synapses_currents_and_subgroups(dtype: torch.dtype, atol: float,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ref, nat = run_both(lambda: mixed(dtype), [0.2], monkeypatch)
    assert_same(ref, nat, atol)


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-14), (torch.float32, 1e-6)])
def test_fused_updates_and_integration_while_refractory(dtype: torch.dtype, atol: float,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ref, nat = run_both(lambda: fused_forms(dtype), [0.1, 0.05], monkeypatch)
    assert not ref[0]["A"].clamp_v and ref[0]["B"].clamp_v
    assert_same(ref, nat, atol)


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-14), (torch.float32, 1e-6)])
def test_poisson_inputs_draw_the_same_counts_in_the_compiled_loop(
        dtype: torch.dtype, atol: float, monkeypatch: pytest.MonkeyPatch) -> None:
    ref, nat = run_both(lambda: poisson_driven(dtype), [0.0317, 0.0213], monkeypatch)
    assert nat[0]["B"].clamp_v and nat[0]._native.inputs  # v held; the inputs run compiled
    for name in ("to_A", "to_B"):
        assert nat[0][name].k == ref[0][name].k  # both paths stop at the same draw
        assert torch.equal(nat[0][name].buf, ref[0][name].buf)
    assert_same(ref, nat, atol)


def test_a_checkpoint_mid_chunk_resumes_the_poisson_draws(tmp_path, monkeypatch) -> None:
    from neuromorph.sim import load_checkpoint, save_checkpoint

    monkeypatch.setenv(ENV_SWITCH, "1")
    whole, whole_mons = poisson_driven(F64)
    whole.run(0.05)
    first, _ = poisson_driven(F64)
    first.run(0.0317)  # 317 steps: inside the second chunk of both inputs
    save_checkpoint(first, tmp_path / "net.pt")
    second, mons = poisson_driven(F64)
    load_checkpoint(second, tmp_path / "net.pt")
    second.run(0.0183)
    assert second._native is not None
    for m_whole, m in zip(whole_mons, mons, strict=True):
        assert m.num_spikes == m_whole.num_spikes > 1000
        np.testing.assert_array_equal(m.i, m_whole.i)
        np.testing.assert_array_equal(m.steps, m_whole.steps)


def test_compiled_loop_keeps_only_the_csr_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """A static synapse costs its two int32 indices and its weight: no row layout is built."""
    monkeypatch.setenv(ENV_SWITCH, "1")
    net, _ = cuba(F64, n=400)
    net.run(0.01)
    for name in ("Ce", "Ci"):
        p = net[name]
        assert p.rows is None and p.prop is None
        assert p.pre.dtype == p.post.dtype == torch.int32 and p.w_full.dtype == F64
        assert p.delay.stride() == (0,)  # one shared delay, no memory per synapse


def test_other_objects_fall_back_to_the_per_step_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SWITCH, "1")
    net = Network(dt=DT)
    inp = net.add(PoissonGroup(10, 50.0))
    out = net.add(LIFGroup(5, tau_m=10e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0))
    net.connect(inp, out, "v", fixed_probability(0.5), weight=0.3)
    net.run(0.01)
    assert net._native is None
    monkeypatch.setenv(ENV_SWITCH, "0")
    assert not native_available()
