"""Spec <-> NIR node is 1:1: spec -> node -> spec gives the same spec, node -> spec -> node the
same arrays, for every node type neuromorph supports; older files' flat metadata still reads."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from neuromorph import specs as S  # noqa: E402
from neuromorph.nir.convention import NIRConversionError  # noqa: E402
from neuromorph.nir.spec_nodes import (  # noqa: E402
    graph_to_nir,
    nir_to_graph,
    node_to_spec,
    spec_to_node,
)

RNG = np.random.default_rng(0)
OPTS = S.SpikeOptions(reset="subtract", v_reset=-0.125, reset_delay=True, detach_reset=True,
                      surrogate="arctan", scale=3.0)

# (spec, weights, feature shape) for every spec kind with a NIR node
CASES = [
    (S.Input((2, 4)), None, None),
    (S.Output((5,)), None, None),
    (S.Affine(4, 3), {"weight": RNG.normal(size=(3, 4)), "bias": RNG.normal(size=3)}, None),
    (S.Affine(4, 3, bias=False), {"weight": RNG.normal(size=(3, 4))}, None),
    (S.Conv(2, 4, kernel_size=(3, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
     {"weight": RNG.normal(size=(4, 2, 3, 3)), "bias": RNG.normal(size=4)}, (2, 9, 9)),
    (S.Conv(4, 2, kernel_size=(5,), stride=1, padding=2, dilation=1, groups=2, bias=False),
     {"weight": RNG.normal(size=(2, 2, 5))}, (4, 12)),
    (S.Flatten(1, 2), None, (3, 4, 5)),
    (S.Scale((1.0, -2.0, 0.5)), None, (3,)),
    (S.Scale(2.5), None, (2, 2)),
    (S.Threshold((0.5, 0.25), options=OPTS), None, (2,)),
    (S.Pool2d((2, 2), (2, 1), (1, 0), mode="sum"), None, (1, 6, 6)),
    (S.Pool2d((3, 3), mode="avg"), None, (1, 6, 6)),
    (S.Delay((0.0, 1e-3, 3e-3)), None, (3,)),
    (S.Integrator(shape=(3,), r=(1.0, 2.0, 3.0)), None, None),
    (S.IF(shape=(2,), r=300.0, v_threshold=(1.0, 0.5), options=OPTS), None, None),
    (S.LI(shape=(2, 2), tau=(0.01, 0.02, 0.03, 0.04), v_leak=-0.07, method="exact"), None, None),
    (S.LIF(shape=(3,), tau=(0.01, 0.02, 0.03), r=2.0, v_leak=0.1, v_threshold=(1.0, 0.8, 0.6),
           options=OPTS, method="exact", refractory=2e-3), None, None),
    (S.LIF(tau=0.02, options=S.SpikeOptions(reset="zero", v_reset=0.1)), None, (2, 3)),
    (S.CubaLI(shape=(2,), tau_syn=(5e-3, 6e-3), w_in=0.5), None, None),
    (S.CubaLIF(shape=(2, 1), tau_syn=3e-3, tau_mem=(0.01, 0.02), w_in=(1.0, 2.0), options=OPTS),
     None, (2, 3)),
]
IDS = [f"{spec.kind}-{k}" for k, (spec, _, _) in enumerate(CASES)]


def _arrays(node) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in vars(node).items()
            if isinstance(v, np.ndarray | int | str | tuple) and k not in ("metadata",)}


def _assert_same_node(a, b) -> None:
    assert type(a) is type(b)
    ta, tb = _arrays(a), _arrays(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        assert np.array_equal(ta[k], tb[k]), k


@pytest.mark.parametrize("spec, weights, shape", CASES, ids=IDS)
def test_spec_node_spec_is_the_same_spec(spec, weights, shape) -> None:
    node = spec_to_node(spec, weights, shape=shape)
    back, back_w = node_to_spec(node)
    assert back == spec and type(back) is type(spec)
    assert (back_w is None) == (weights is None)
    for k, v in (weights or {}).items():
        assert np.array_equal(back_w[k], v), k


def test_parameters_land_in_the_nir_arrays() -> None:
    lif = spec_to_node(S.LIF(shape=(3,), tau=(0.01, 0.02, 0.03), r=2.0, options=OPTS))
    assert isinstance(lif, nir.LIF)
    assert np.array_equal(lif.tau, [0.01, 0.02, 0.03]) and np.array_equal(lif.r, [2.0] * 3)
    assert np.array_equal(lif.v_reset, [-0.125] * 3)
    extra = json.loads(lif.metadata["neuromorph"])
    assert extra["options"]["reset"] == "subtract" and "v_reset" not in extra["options"]
    assert extra["shared"] == ["r", "v_leak", "v_threshold"]
    cuba = spec_to_node(S.CubaLIF(tau_mem=0.02), shape=(2, 2))  # shared: broadcast to features
    assert cuba.tau_mem.shape == (2, 2) and np.all(cuba.tau_mem == 0.02)
    conv = spec_to_node(CASES[4][0], CASES[4][1], shape=(2, 9, 9))
    assert isinstance(conv, nir.Conv2d) and tuple(conv.output_type["output"]) == (4, 5, 5)
    assert isinstance(spec_to_node(S.Affine(2, 1, bias=False), {"weight": np.ones((1, 2))}),
                      nir.Linear)
    assert isinstance(spec_to_node(S.Pool2d(2, mode="avg")), nir.AvgPool2d)


def _peer_nodes() -> dict[str, object]:
    """Nodes as a peer writes them: per-neuron float32 arrays, no neuromorph metadata."""
    f = lambda *v: np.array(v, dtype=np.float32)  # noqa: E731
    return {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "output": nir.Output(output_type={"output": np.array([3])}),
        "affine": nir.Affine(weight=RNG.normal(size=(3, 3)).astype(np.float32), bias=f(1, 2, 3)),
        "linear": nir.Linear(weight=RNG.normal(size=(2, 3)).astype(np.float32)),
        "conv1d": nir.Conv1d(input_shape=8, weight=np.ones((2, 1, 3), np.float32), stride=1,
                             padding=1, dilation=1, groups=1, bias=f(0.5, 0)),
        "conv2d": nir.Conv2d(input_shape=(5, 5), weight=np.ones((2, 3, 3, 3), np.float32),
                             stride=(1, 2), padding=(0, 1), dilation=1, groups=1,
                             bias=f(0, 0)),
        "flatten": nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0, end_dim=1),
        "scale": nir.Scale(scale=f(1, 2, 3)),
        "threshold": nir.Threshold(threshold=f(0.5, 0.5, 1.0)),
        "sumpool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                 padding=np.array([0, 0])),
        "avgpool": nir.AvgPool2d(kernel_size=np.array([3, 3]), stride=np.array([1, 1]),
                                 padding=np.array([1, 1])),
        "delay": nir.Delay(delay=f(0, 1e-3, 2e-3)),
        "i": nir.I(r=f(1, 2, 3)),
        "if": nir.IF(r=f(1, 2, 3), v_threshold=f(1, 1, 2), v_reset=f(0.1, 0.1, 0.1)),
        "li": nir.LI(tau=f(0.01, 0.02, 0.03), r=f(1, 1, 1), v_leak=f(0, -0.1, 0)),
        "lif": nir.LIF(tau=f(0.01, 0.02, 0.03), r=f(1, 2, 1), v_leak=f(0, 0, 0),
                       v_threshold=f(1, 1, 0.5), v_reset=f(0, 0, 0)),
        "cubali": nir.CubaLI(tau_syn=f(5e-3, 5e-3, 6e-3), tau_mem=f(0.01, 0.02, 0.03),
                             r=f(1, 1, 1), v_leak=f(0, 0, 0), w_in=f(1, 2, 3)),
        "cubalif": nir.CubaLIF(tau_syn=f(5e-3, 5e-3, 6e-3), tau_mem=f(0.01, 0.02, 0.03),
                               r=f(1, 1, 1), v_leak=f(0, 0, 0), v_threshold=f(1, 1, 1),
                               v_reset=f(-0.5, -0.5, -0.5), w_in=f(1, 2, 3)),
    }


@pytest.mark.parametrize("name", list(_peer_nodes()))
def test_node_spec_node_gives_the_same_arrays(name: str) -> None:
    node = _peer_nodes()[name]
    spec, weights = node_to_spec(node)
    shape = None
    if isinstance(node, nir.Conv1d | nir.Conv2d | nir.Flatten):
        shape = tuple(node.input_type["input"])
    elif isinstance(node, nir.Scale | nir.Threshold | nir.Delay):
        shape = np.shape(next(iter(_arrays(node).values())))
    _assert_same_node(node, spec_to_node(spec, weights, shape=shape, dtype=np.float32))


def test_peer_neuron_reads_with_nir_meaning() -> None:
    # float32 arrays read as their shortest decimals; values shared by all neurons as one float
    spec, _ = node_to_spec(_peer_nodes()["cubalif"])
    assert spec == S.CubaLIF(shape=(3,), tau_syn=(5e-3, 5e-3, 6e-3),
                             tau_mem=(0.01, 0.02, 0.03), r=1.0, v_leak=0.0,
                             v_threshold=1.0, w_in=(1.0, 2.0, 3.0),
                             options=S.SpikeOptions(reset="zero", v_reset=-0.5))
    th, _ = node_to_spec(_peer_nodes()["threshold"])
    assert th.options == S.SpikeOptions()


def test_older_files_flat_metadata_still_reads() -> None:
    """What the exporter wrote before metadata["neuromorph"] (keys per option and shape)."""
    node = nir.LIF(tau=np.full((2, 3), 0.02, np.float32), r=np.full((2, 3), 5.0, np.float32),
                   v_leak=np.zeros((2, 3), np.float32), v_threshold=np.ones((2, 3), np.float32),
                   v_reset=np.zeros((2, 3)),
                   metadata={"shape": "none", "method": "exact", "reset": "subtract",
                             "reset_delay": 1, "detach_reset": 0, "surrogate": "arctan",
                             "scale": 2.0, "shape_tau": "scalar", "shape_r": "scalar",
                             "shape_v_leak": "scalar", "shape_v_threshold": "scalar"})
    spec, _ = node_to_spec(node)
    assert spec == S.LIF(tau=0.02, r=5.0, method="exact",  # float32 read as its shortest decimal
                         options=S.SpikeOptions(reset="subtract", reset_delay=True,
                                                surrogate="arctan", scale=2.0))
    thr = nir.Threshold(threshold=np.full(4, 0.5), metadata={"shape_threshold": "scalar",
                                                              "surrogate": "sigmoid"})
    assert node_to_spec(thr)[0] == S.Threshold(0.5, options=S.SpikeOptions(surrogate="sigmoid"))
    conv = nir.Conv1d(input_shape=4, weight=np.ones((1, 1, 2)), stride=1, padding=0, dilation=1,
                      groups=1, bias=np.zeros(1), metadata={"bias": 0})
    assert node_to_spec(conv)[0].bias is False


@pytest.mark.parametrize("spec, words", [
    (S.ALIF(), "ALIF has no NIR equivalent: NIR has no node for its threshold adaptation"),
    (S.Channel(5e-3), "Channel has no NIR equivalent"),
    (S.Sequential(layers=(S.LIF(),)), "give the layers as a Graph"),
])
def test_specs_without_a_node_are_refused_by_name(spec, words: str) -> None:
    with pytest.raises(NIRConversionError, match="exportable specs") as err:
        spec_to_node(spec)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bad_node_values_fail_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="per-neuron v_reset"):
        node_to_spec(nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="'tau' contains NaN"):
        node_to_spec(nir.LI(tau=np.array([np.nan]), r=np.ones(1), v_leak=np.zeros(1)))
    with pytest.raises(ValueError, match="needs its trained values"):
        spec_to_node(S.Affine(3, 3))
    with pytest.raises(ValueError, match="weight shape"):
        spec_to_node(S.Affine(3, 2), {"weight": np.ones((3, 3)), "bias": np.ones(2)})
    with pytest.raises(ValueError, match="needs its input feature shape"):
        spec_to_node(S.Flatten())
    with pytest.raises(NIRConversionError, match="unsupported NIR node type 'Resonator'"):
        node_to_spec(Resonator(omega=np.ones(2)))
    with pytest.raises(ValueError, match="'same' with kernel"):
        node_to_spec(nir.Conv1d(input_shape=5, weight=np.ones((1, 1, 2)), stride=1,
                                padding="same", dilation=1, groups=1, bias=np.zeros(1)))


@dataclass(eq=False)
class Resonator(nir.NIRNode):  # a node type neuromorph does not know
    omega: np.ndarray


def _recurrent_graph() -> tuple[S.Graph, dict]:
    sub = S.Graph(nodes={"input": S.Input((4,)), "lif": S.LIF(shape=(4,), options=OPTS),
                         "rec": S.Affine(4, 4, bias=False), "output": S.Output((4,))},
                  edges=[("input", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")],
                  metadata={"module": "RecurrentSpiking"})
    graph = S.Graph(nodes={"in": S.Input((2, 6, 6)), "conv": S.Conv(2, 1, (3, 3)),
                           "pool": S.Pool2d(2), "flat": S.Flatten(),
                           "fc": S.Affine(4, 4), "rnn": sub, "li": S.LI(tau=0.03),
                           "out": S.Output((4,))},
                    edges=[("in", "conv"), ("conv", "pool"), ("pool", "flat"), ("flat", "fc"),
                           ("fc", "rnn"), ("rnn", "li"), ("li", "out")],
                    metadata={"dt": 1e-3})
    weights = {"conv": {"weight": RNG.normal(size=(1, 2, 3, 3)), "bias": np.ones(1)},
               "fc": {"weight": RNG.normal(size=(4, 4)), "bias": RNG.normal(size=4)},
               "rnn/rec": {"weight": RNG.normal(size=(4, 4))}}
    return graph, weights


def test_graph_round_trips_with_subgraph_and_weights(tmp_path) -> None:
    graph, weights = _recurrent_graph()
    g = graph_to_nir(graph, weights)
    assert isinstance(g.nodes["rnn"], nir.NIRGraph) and isinstance(g.nodes["rnn"].nodes["rec"],
                                                                   nir.Linear)
    # shapes propagated from the Input: conv 2x6x6 -> 1x4x4 -> pool 1x2x2 -> flatten 4
    assert tuple(g.nodes["flat"].input_type["input"]) == (1, 2, 2)
    assert g.nodes["li"].tau.shape == (4,)
    path = tmp_path / "g.nir"
    nir.write(path, g)
    back, back_w = nir_to_graph(nir.read(path))
    assert back == graph and back.metadata["dt"] == 1e-3
    assert back.nodes["rnn"].metadata["module"] == "RecurrentSpiking"
    assert back_w.keys() == weights.keys()
    for name, arrays in weights.items():
        for k, v in arrays.items():
            assert np.array_equal(back_w[name][k], v), (name, k)


def test_graph_errors_name_the_node() -> None:
    graph, weights = _recurrent_graph()
    del weights["fc"]
    with pytest.raises(NIRConversionError, match=r"graph node 'fc' \(Affine\).*trained values"):
        graph_to_nir(graph, weights)
    bad = nir.NIRGraph(nodes={"i": nir.Input(input_type={"input": np.array([1])}),
                              "x": nir.LIF(tau=np.array([0.0]), r=np.ones(1),
                                           v_leak=np.zeros(1), v_threshold=np.ones(1))},
                       edges=[("i", "x")])
    with pytest.raises(NIRConversionError, match=r"'x' \(LIF\).*tau must be positive"):
        nir_to_graph(bad)


def test_export_writes_the_module_spec_and_import_runs_it() -> None:
    """layer -> .spec -> node on export, node -> spec -> from_spec on import."""
    import torch

    from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential
    from neuromorph.nir import from_nir, to_nir

    torch.manual_seed(0)
    net = SpikingSequential(
        SpikingLinear(3, 4, dt=1e-3, tau=torch.tensor([0.01, 0.02, 0.03, 0.04]), r=5.0,
                      reset="zero", v_reset=0.125, surrogate="arctan", reset_delay=True),
        SpikingLinear(4, 2, neuron="cuba_lif", dt=1e-3, method="exact"))
    graph = to_nir(net)
    for k in (0, 1):
        spec, _ = node_to_spec(graph.nodes[f"{k}.neuron"])
        assert spec == net[k].neuron.spec
        _, w = node_to_spec(graph.nodes[f"{k}.synapse"])
        assert np.array_equal(w["weight"], net[k].synapse.weight.detach().numpy())
    back = from_nir(graph)
    assert [layer.neuron.spec for layer in back] == [layer.neuron.spec for layer in net]
    # an import override changes the spec the layer is built from
    peer = from_nir(graph, reset="subtract", surrogate="sigmoid")
    assert peer[0].neuron.spec.options == S.SpikeOptions(reset="subtract", v_reset=0.125,
                                                         reset_delay=True, surrogate="sigmoid")
