"""ours -> NIR -> ours is exact; imported NIR nodes follow the documented Euler convention."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

nir = pytest.importorskip("nir")

from neuromorph.networks.neurons import IF, LIF  # noqa: E402
from neuromorph.networks.spiking_layers import (  # noqa: E402
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)
from neuromorph.nir import GraphNetwork, export_nir, from_nir, to_nir  # noqa: E402
from neuromorph.nir.layers import Delay, Scale, SumPool2d, Threshold  # noqa: E402


def _spikes(shape: tuple[int, ...], p: float = 0.3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


def _assert_same(a: nn.Module, b: nn.Module, x: torch.Tensor) -> None:
    assert repr(a) == repr(b)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def _mlp() -> SpikingSequential:
    torch.manual_seed(0)
    return SpikingSequential(
        SpikingLinear(6, 5, dt=1e-3, tau=torch.rand(5) * 0.02 + 0.005, r=3.0, v_threshold=0.7,
                      reset="subtract", surrogate="arctan", learn_tau=True),
        RecurrentSpiking(5, 4, dt=1e-3, tau=0.01, v_leak=0.1),
        SpikingLinear(4, 3, bias=False, neuron="cuba_lif", dt=1e-3, reset_delay=True,
                      detach_reset=True, learn_threshold=True),
        SpikingLinear(3, 3, neuron="if", dt=1e-3, reset="zero", v_reset=-0.25),
        SpikingLinear(3, 2, neuron="li", dt=1e-3, tau=0.03, method="exact"),
    )


def test_mlp_round_trip_through_file_is_exact(tmp_path) -> None:
    net = _mlp()
    with torch.no_grad():
        for layer in net.layers:
            (layer.synapse if hasattr(layer, "synapse") else layer.input).weight.mul_(3)
    path = tmp_path / "mlp.nir"
    export_nir(net, path)
    back = from_nir(path)
    x = _spikes((30, 4, 6))
    _assert_same(net, back, x)
    assert back[0].neuron.surrogate == "arctan" and back[2].neuron.reset_delay
    assert float(net(x).detach().abs().sum()) > 0  # the comparison is not between two silent nets


def test_conv_net_round_trip_is_exact() -> None:
    torch.manual_seed(1)
    net = SpikingSequential(
        SpikingConv2d(2, 4, 3, padding=1, dt=1e-3, tau=0.01, v_threshold=0.5),
        SumPool2d(2),
        nn.AvgPool2d(2),
        nn.Flatten(),
        SpikingLinear(16, 3, dt=1e-3, neuron="cuba_lif"),
    )
    graph = to_nir(net, input_shape=(2, 8, 8))
    kinds = [type(graph.nodes[n]).__name__ for n in ("0.synapse", "1", "2", "3")]
    assert kinds == ["Conv2d", "SumPool2d", "AvgPool2d", "Flatten"]
    _assert_same(net, from_nir(graph), _spikes((10, 3, 2, 8, 8), 0.5))


def test_conv1d_and_nested_sequential_round_trip() -> None:
    torch.manual_seed(2)
    inner = SpikingSequential(SpikingLinear(12, 6, dt=2e-3), SpikingLinear(6, 4, dt=2e-3))
    net = SpikingSequential(nn.Conv1d(3, 2, 3, stride=1, padding=1),
                            LIF((2, 6), dt=2e-3, tau=0.02, r=torch.rand(2, 1) + 1.0),
                            nn.Flatten(), inner)
    back = from_nir(to_nir(net, input_shape=(3, 6)))
    assert isinstance(back[3], SpikingSequential)
    _assert_same(net, back, _spikes((8, 2, 3, 6), 0.5))


def test_shared_scalar_parameters_keep_their_shape() -> None:
    net = SpikingSequential(SpikingConv2d(1, 2, 3, dt=1e-3, tau=0.02))  # neuron shape None
    back = from_nir(to_nir(net, input_shape=(1, 5, 5)))
    assert back[0].neuron.shape is None and back[0].neuron.tau.shape == ()


def _io(n: int) -> tuple:
    return nir.Input(input_type=np.array([n])), nir.Output(output_type=np.array([n]))


def test_graph_with_branch_delay_and_aux_nodes_round_trips() -> None:
    n = 3
    inp, out = _io(n)
    nodes = {
        "in": inp,
        "scale": nir.Scale(scale=np.array([1.0, 2.0, 0.5], dtype=np.float32)),
        "delay": nir.Delay(delay=np.array([0.0, 1e-3, 2e-3], dtype=np.float32)),
        "integ": nir.I(r=np.full(n, 50.0, dtype=np.float32)),
        "thr": nir.Threshold(threshold=np.full(n, 0.09, dtype=np.float32)),
        "cuba": nir.CubaLI(tau_syn=np.full(n, 2e-3), tau_mem=np.full(n, 4e-3), r=np.ones(n),
                           v_leak=np.zeros(n), w_in=np.full(n, 2.0)),
        "out": out,
    }
    edges = [("in", "scale"), ("in", "delay"), ("scale", "integ"), ("delay", "integ"),
             ("integ", "thr"), ("thr", "cuba"), ("cuba", "out")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges)
    net = from_nir(graph, dt=1e-3)
    assert isinstance(net, GraphNetwork) and not net.cyclic
    x = torch.zeros(6, 1, n)
    x[0] = 1.0
    with torch.no_grad():
        y = net(x)
    # hand-computed: integ[t] = sum_{s<=t} 0.05 * (scale*x[s] + x[s - delay_steps])
    scale = torch.tensor([1.0, 2.0, 0.5])
    delayed = torch.zeros(6, n)
    for k, d in enumerate((0, 1, 2)):
        delayed[d, k] = 1.0
    integ = torch.cumsum(0.05 * (scale * x[:, 0] + delayed), dim=0)
    spikes = (integ > 0.09).float()
    i, v, ref = torch.zeros(n), torch.zeros(n), []
    for t in range(6):  # CubaLI, Euler: a = 1 - dt/tau, g_syn = w_in dt/tau_syn, g_mem = r dt/tau
        i = 0.5 * i + 2.0 * 0.5 * spikes[t]
        v = 0.75 * v + 0.25 * i
        ref.append(v.clone())
    assert torch.allclose(y[:, 0], torch.stack(ref), atol=1e-6)
    back = from_nir(to_nir(net), dt=1e-3)
    assert isinstance(back, GraphNetwork)
    assert set(back.edges) == set(net.edges)
    with torch.no_grad():
        assert torch.equal(back(x), y)


def test_lif_node_follows_the_euler_convention() -> None:
    tau, r, v_leak, th, v_reset, dt = 0.02, 4.0, 0.3, 1.0, -0.2, 1e-3
    node = nir.LIF(tau=np.full(2, tau), r=np.full(2, r), v_leak=np.full(2, v_leak),
                   v_threshold=np.full(2, th), v_reset=np.full(2, v_reset))
    neuron = from_nir(node, dt=dt)
    x = torch.full((40, 1, 2), 0.5)
    x[:, :, 1] = 0.0
    with torch.no_grad():
        s = neuron(x)
    a, v, ref = 1 - dt / tau, [0.0, 0.0], []
    for t in range(40):  # tau dv/dt = (v_leak - v) + r I, spike when v > th, then v = v_reset
        row = []
        for k in range(2):
            v[k] = a * v[k] + dt / tau * (r * float(x[t, 0, k]) + v_leak)
            spk = v[k] > th
            row.append(float(spk))
            if spk:
                v[k] = v_reset
        ref.append(row)
    assert torch.equal(s[:, 0], torch.tensor(ref))
    assert s[:, 0, 0].sum() >= 2  # the driven neuron fires and resets


def test_dt_target_retimes_time_constants_exactly() -> None:
    torch.manual_seed(3)
    net = SpikingSequential(SpikingLinear(4, 3, dt=1e-3, tau=0.02, r=20.0, reset="zero"),
                            SpikingLinear(3, 2, neuron="if", dt=1e-3, r=500.0, reset="zero"),
                            Delay(torch.tensor([0.0, 2e-3]), dt=1e-3))
    graph = to_nir(net, dt_target=1e-4)
    assert graph.metadata["dt"] == pytest.approx(1e-4)
    assert np.allclose(graph.nodes["0.neuron"].tau, 0.002)
    assert np.allclose(graph.nodes["1.neuron"].r, 5000.0)
    assert np.allclose(graph.nodes["2"].delay, [0.0, 2e-4])
    back = from_nir(graph)  # dt from the metadata: 1e-4
    x = _spikes((25, 3, 4), 0.6)
    with torch.no_grad():
        assert torch.equal(back(x), net(x))


def test_peer_style_recurrent_subgraph_fuses_and_matches_step_execution() -> None:
    rng = np.random.default_rng(0)
    h = 4
    lif = nir.LIF(tau=np.full(h, 1e-3), r=np.full(h, 10.0), v_leak=np.zeros(h),
                  v_threshold=np.ones(h), v_reset=np.zeros(h))
    w_rec = nir.Affine(weight=rng.normal(0, 0.5, (h, h)).astype(np.float32),
                       bias=rng.normal(0, 0.1, h).astype(np.float32))
    sub = nir.NIRGraph(nodes={"input": _io(h)[0], "lif": lif, "w_rec": w_rec,
                              "output": _io(h)[1]},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
                              ("lif", "output")])
    graph = nir.NIRGraph(nodes={"input": _io(3)[0], "w_in": nir.Affine(
        weight=rng.normal(0, 1.5, (h, 3)).astype(np.float32), bias=np.zeros(h, np.float32)),
        "rnn": sub, "output": _io(h)[1]},
        edges=[("input", "w_in"), ("w_in", "rnn"), ("rnn", "output")])
    fused = from_nir(graph, dt=1e-4)
    general = from_nir(graph, dt=1e-4, fuse=False)
    assert isinstance(fused[0], RecurrentSpiking) and isinstance(general, GraphNetwork)
    x = _spikes((40, 2, 3), 0.5)
    with torch.no_grad():
        a, b = fused(x), general(x)
    assert torch.equal(a, b) and a.sum() > 5


def test_single_neuron_and_aux_layers_export() -> None:
    for module, shape in ((IF(3, dt=1e-3, r=2.0), (3,)), (Scale(torch.tensor([1.0, -1.0])), (2,)),
                          (Threshold(0.5), (4,))):
        graph = to_nir(module, input_shape=shape)
        back = from_nir(graph, dt=1e-3)
        x = torch.rand(5, 2, *shape)
        with torch.no_grad():
            ref = module(x) if isinstance(module, IF) else module(x.reshape(10, *shape))
            got = back(x)
        assert torch.equal(got.reshape(ref.shape), ref)


def test_exact_method_round_trip_keeps_decay() -> None:
    net = SpikingSequential(SpikingLinear(2, 2, neuron="li", dt=1e-3, tau=0.01, r=1.0,
                                          method="exact"))
    back = from_nir(to_nir(net))
    x = torch.ones(3, 1, 2)
    with torch.no_grad():
        b = net[0].synapse(x[0, 0])
        y = back(x)
    a = math.exp(-0.1)
    assert torch.allclose(y[0, 0], (1 - a) * b) and torch.allclose(y[1, 0], (1 - a) * b * (1 + a))
