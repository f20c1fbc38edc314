"""The engine reads the same specs: a CUBA network -> spec graph -> NIR file -> engine network
runs to the same spikes; what NIR cannot hold is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph import specs
from neuromorph.experiments import cuba
from neuromorph.sim import LIFGroup, Network, PoissonGroup, SpikeMonitor
from neuromorph.sim.connectivity import fixed_probability
from neuromorph.sim.plasticity import STDP
from neuromorph.sim.spec_io import NotRepresentableError, network_from_spec, network_spec


def _spikes(mon: SpikeMonitor) -> tuple[np.ndarray, np.ndarray]:
    i, t = mon.i, mon.t
    return np.asarray(i), np.asarray(t)


def _run_same_start(src: Network, src_group: LIFGroup, back: Network, ms: float = 200.0):
    """Run both networks from the source's initial membrane; return both spike trains."""
    dst_group = back["P"]
    dst_group.set("v", src_group.get("v").clone())
    mon = back.add(SpikeMonitor(dst_group, name="spikes"))
    back.run(ms * 1e-3)
    src.run(ms * 1e-3)
    return _spikes(src["spikes"]), _spikes(mon)


def test_group_spec_is_the_groups_equation() -> None:
    g = LIFGroup(5, tau_m=20e-3, v_rest=-49e-3, v_threshold=-50e-3, v_reset=-60e-3,
                 refractory=5e-3, r_m=2.0)
    assert g.spec == specs.LIF(shape=(5,), tau=20e-3, r=2.0, v_leak=-49e-3, v_threshold=-50e-3,
                               method="exact", refractory=5e-3,
                               options=specs.SpikeOptions(reset="zero", v_reset=-60e-3))
    again = LIFGroup.from_spec(g.spec)
    assert (again.tau_m, again.v_rest, again.r_m, again.refractory) == (20e-3, -49e-3, 2.0, 5e-3)
    with pytest.raises(ValueError, match="integrates exactly"):
        LIFGroup.from_spec(specs.LIF(shape=(3,)))  # Euler, subtract reset: the dense layers'


@pytest.mark.parametrize("through_nir", [False, True])
def test_cuba_round_trip_gives_identical_spikes(tmp_path, through_nir: bool) -> None:
    cfg = cuba.Config(n_neurons=500, dtype="float64", p_connect=0.08, seed=3)
    net, P, _, _ = cuba.build(cfg)
    if through_nir:
        pytest.importorskip("nir")
        from neuromorph.nir.engine_io import engine_from_nir, engine_to_nir

        back = engine_from_nir(engine_to_nir(net, tmp_path / "cuba.nir"), dtype=torch.float64)
    else:
        graph, weights = network_spec(net)
        assert set(graph.nodes) == {"P", "P.I", "P.spikes", "P.ge", "P.gi", "Ce", "Ci"}
        back = network_from_spec(specs.spec_from_dict(graph.to_dict()), weights,
                                 dtype=torch.float64)
    (i0, t0), (i1, t1) = _run_same_start(net, P, back)
    assert i0.size > 500  # the network is active (898 spikes in 200 ms measured)
    np.testing.assert_array_equal(i0, i1)
    np.testing.assert_array_equal(t0, t1)


@pytest.mark.parametrize("through_nir", [False, True])
def test_delta_synapses_delays_and_poisson_inputs_round_trip(tmp_path, through_nir: bool) -> None:
    def build() -> tuple[Network, LIFGroup]:
        net = Network(dt=1e-4, seed=5, dtype=torch.float64)
        inp = net.add(PoissonGroup(40, 80.0, name="inp"))
        P = net.add(LIFGroup(30, tau_m=10e-3, v_rest=0.0, v_threshold=0.02, v_reset=0.0,
                             r_m=2.0, name="P"))
        net.connect(inp, P, "v", fixed_probability(0.3), weight=4e-3, delay=2e-3, name="C")
        net.connect(P, P, "v", fixed_probability(0.1), weight=-1e-3, name="R")
        net.add(SpikeMonitor(P, name="spikes"))
        return net, P

    net, P = build()
    graph, weights = network_spec(net)
    assert isinstance(graph.nodes["C.delay"], specs.Delay) and graph.nodes["inp"].shape == (40,)
    if through_nir:
        pytest.importorskip("nir")
        from neuromorph.nir.engine_io import engine_from_nir, engine_to_nir

        back = engine_from_nir(engine_to_nir(net, tmp_path / "delta.nir"), seed=5,
                               dtype=torch.float64)
    else:
        back = network_from_spec(graph, weights, seed=5, dtype=torch.float64)
    (i0, t0), (i1, t1) = _run_same_start(net, net["P"], back, ms=100.0)
    assert i0.size > 20
    np.testing.assert_array_equal(i0, i1)
    np.testing.assert_array_equal(t0, t1)


def test_what_nir_cannot_hold_is_refused_by_name() -> None:
    net = Network(dt=1e-4)
    P = net.add(LIFGroup(4, tau_m=10e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0, name="P",
                         channels={"ge": 5e-3}))
    net.connect(P, P, "ge", fixed_probability(1.0), weight=0.1, name="plastic",
                plasticity=STDP(tau_pre=0.02, tau_post=0.02, a_pre=0.01, a_post=-0.01,
                                w_max=1.0))
    with pytest.raises(NotRepresentableError, match="'plastic' is plastic.*static=True"):
        network_spec(net)


def test_static_freezes_a_plastic_projection_at_its_current_weights() -> None:
    net = Network(dt=1e-4, dtype=torch.float64)
    P = net.add(LIFGroup(3, tau_m=10e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0, name="P",
                         channels={"ge": 5e-3}))
    proj = net.connect(P, P, "ge", fixed_probability(1.0), weight=0.1, name="S",
                       plasticity=STDP(tau_pre=0.02, tau_post=0.02, a_pre=0.01, a_post=-0.01,
                                       w_max=1.0))
    proj.weights[:] = torch.arange(1, 10, dtype=torch.float64) / 10  # "trained" weights
    graph, weights = network_spec(net, static=True)
    assert graph.metadata["neuromorph.engine"]["frozen"] == ["S"]
    W = np.zeros((3, 3))
    W[proj.post.numpy(), proj.pre.numpy()] = proj.weights.numpy()
    np.testing.assert_array_equal(weights["S"]["weight"], W)
    back = network_from_spec(graph, weights, dtype=torch.float64)
    assert back["S"].plasticity is None
