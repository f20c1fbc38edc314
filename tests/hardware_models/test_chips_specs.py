"""check(network, chip) reads specs: event-engine networks and spec graphs are checked like the
dense modules, with the violations the chip catalog predicts."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from neuromorph import specs
from neuromorph.experiments import cuba
from neuromorph.hardware_models.chips import check, layer_views
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)
from neuromorph.sim import LIFGroup, Network, PoissonGroup, all_to_all
from neuromorph.sim.spec_io import network_spec

nir = pytest.importorskip("nir")
from neuromorph.nir.export import to_nir  # noqa: E402
from neuromorph.nir.spec_nodes import nir_to_graph  # noqa: E402


def _rules(violations, severity: str = "error") -> set[str]:
    return {v.rule for v in violations if v.severity == severity}


def _cuba(**changes) -> tuple[Network, LIFGroup]:
    net, group, _, _ = cuba.build(cuba.Config(n_neurons=400, brian2_reference=False, **changes))
    return net, group


def test_cuba_on_loihi2_needs_one_synaptic_current() -> None:
    # Lava's CUBA LIF holds one current u; CUBA's ge (5 ms) and gi (10 ms) are two
    found = check(_cuba()[0], "loihi2")
    assert [(v.rule, v.severity, v.layer) for v in found] == [("synaptic_currents", "error", "P")]
    assert "2 synaptic currents (tau_syn = 5, 10 ms) > 1 per neuron" in found[0].message
    # one time constant: both channels sum into one current, and the network fits Loihi 2 (zero
    # reset to v_reset, refractory through LIFRefractory, 12-bit decays within 2 %)
    assert check(_cuba(tau_i=5e-3)[0], "loihi2") == []


def test_cuba_on_xylo_has_the_reset_refractory_and_output_violations() -> None:
    found = check(_cuba()[0], "xylo")
    assert _rules(found) == {"reset", "refractory", "outputs"}
    text = "\n".join(map(str, found))
    assert "reset='zero' is not available" in text  # the engine resets to v_reset in-step
    assert "refractory period of 5 ms (50 steps)" in text
    assert "400 output neurons > 8" in text
    # dt = 0.1 ms: exp(-dt/tau) is far from Xylo's 1 - 2^-dash for tau_m and both channels
    assert {v.message.split(":")[0] for v in found if v.rule == "decay"} == {
        "tau", "tau_syn[ge]", "tau_syn[gi]"}


def test_engine_view_counts_synapses_like_the_projections() -> None:
    net, group = _cuba()
    (view,) = layer_views(net)
    projections = [o for o in net.objects if type(o).__name__ == "Projection"]
    post = torch.cat([p.post.long() + p.t0 for p in projections])
    pre = torch.cat([p.pre.long() + p.s0 for p in projections])
    assert view.kind == "recurrent" and view.neuron_kind == "cuba_lif"
    assert view.n_out == group.n == 400 and view.synapses == post.numel()
    assert view.fan_in == int(torch.bincount(post).max())
    assert view.fan_out == int(torch.bincount(pre).max())
    assert view.neuron.options.reset == "zero" and view.neuron.refractory == 5e-3


def _layered(sizes: tuple[int, ...], n_in: int = 20) -> Network:
    """Poisson(n_in) -> LIF groups of ``sizes``, all-to-all, each with one 5 ms current."""
    net = Network(dt=1e-3, seed=0)
    src = net.add(PoissonGroup(n_in, 20.0, name="X"))
    for k, n in enumerate(sizes):
        g = net.add(LIFGroup(n, tau_m=20e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0,
                             channels={"syn": 5e-3}, name=f"H{k}"))
        net.connect(src, g, "syn", all_to_all(), weight=0.2, name=f"W{k}")
        src = g
    return net


def test_layered_engine_network_against_xylo_limits() -> None:
    # 20 inputs > 16; hidden 50 + 960 = 1010 > 1000; each H0 neuron reaches 960 targets > 64;
    # 10 outputs > 8; zero reset; 58,600 synapses stay under 64,000
    found = check(_layered((50, 960, 10)), "xylo")
    assert _rules(found) == {"inputs", "neurons", "fan_out", "outputs", "reset"}
    by_rule = {v.rule: v for v in found if v.severity == "error"}
    assert by_rule["inputs"].message == "20 input channels > 16"
    assert by_rule["neurons"].message == "1010 neurons > 1000"
    assert by_rule["fan_out"].layer == "H1" and "reaches 960 targets > 64" in \
        by_rule["fan_out"].message
    assert by_rule["outputs"].message == "10 output neurons > 8"


def test_small_engine_network_fits_loihi2() -> None:
    net = _layered((32, 4), n_in=16)
    views = layer_views(net)  # two current-based populations, 16 x 32 + 32 x 4 synapses
    assert [(v.name, v.neuron_kind, v.n_out, v.synapses) for v in views] == [
        ("H0", "cuba_lif", 32, 512), ("H1", "cuba_lif", 4, 128)]
    assert check(net, "loihi2") == []


def _same(a, b) -> None:
    key = lambda v: (v.rule, v.severity, v.message, v.fix)  # noqa: E731
    assert Counter(map(key, a)) == Counter(map(key, b))


DENSE = {
    "lif_li": (lambda: SpikingSequential(
        SpikingLinear(64, 128, dt=2e-3, tau=0.02),
        SpikingLinear(128, 10, neuron="li", dt=2e-3, tau=0.02)), None),
    "conv": (lambda: SpikingSequential(
        SpikingConv2d(2, 4, 3, dt=1e-3, neuron="if", reset="zero"), torch.nn.Flatten(),
        SpikingLinear(144, 10, dt=1e-3, neuron="if")), (2, 8, 8)),
    "recurrent": (lambda: SpikingSequential(
        RecurrentSpiking(4, 70, dt=1e-3, reset="zero", reset_delay=True),
        SpikingLinear(70, 3, dt=1e-3, neuron="cuba_lif", tau_syn=2e-3, tau_mem=8e-3)), None),
}


@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_network_and_its_spec_graph_give_the_same_violations(name: str) -> None:
    torch.manual_seed(0)
    make, shape = DENSE[name]
    net = make()
    graph, weights = nir_to_graph(to_nir(net, input_shape=shape))
    assert isinstance(graph, specs.Graph)
    errors = 0
    for chip in ("loihi2", "xylo", "speck", "spinnaker2", "akida"):
        dense = check(net, chip, input_shape=shape)
        errors += len(_rules(dense))
        _same(check(graph, chip, weights=weights), dense)
    assert errors >= 3  # the comparison covers real verdicts


def test_spec_graph_needs_its_weights_and_a_step() -> None:
    graph, weights = network_spec(_layered((8, 2)))
    assert check(graph, "loihi2", weights=weights) == []  # dt from the engine metadata
    bare = specs.Graph(graph.nodes, graph.edges)
    with pytest.raises(ValueError, match="pass dt="):
        check(bare, "loihi2", weights=weights)
    with pytest.raises(ValueError, match=r"no weights for synapse nodes \['W0'\]"):
        check(graph, "loihi2", weights={k: v for k, v in weights.items() if k != "W0"})
    with pytest.raises(ValueError, match="give a dense module"):
        check({"W0": weights["W0"]}, "loihi2")
