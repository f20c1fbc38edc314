"""Backends as one strategy: the registry, the capability check, and the event parts each
backend hands out (queues, schedules, recorders) against hand-built references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuromorph.sim import LIFGroup, Network
from neuromorph.sim.backend import BACKENDS, NumpyOps, TorchOps, make_ops
from neuromorph.sim.connectivity import fixed_probability
from neuromorph.sim.fused import FusedPropagation
from neuromorph.sim.loop_native import NativeLoop

OPS = [NumpyOps(), TorchOps()]
N = 7
# (step, neuron) spikes, sorted by step then neuron
EVENTS = [(0, 1), (0, 5), (2, 0), (3, 3), (3, 4), (3, 6), (6, 2)]


def as_set(ops, spikes) -> list[int]:
    return sorted(int(i) for i in ops.indices(spikes))


def by_step(last: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {k: [] for k in range(last + 1)}
    for s, i in EVENTS:
        out[s].append(i)
    return out


def test_registry_names_every_backend_and_refuses_unknown_names() -> None:
    assert isinstance(make_ops("auto", torch.device("cpu")), NumpyOps)
    assert isinstance(make_ops("auto", torch.device("cuda")), TorchOps)
    with pytest.raises(ValueError, match="unknown backend 'jax'; choose one of"):
        make_ops("jax", torch.device("cpu"))
    with pytest.raises(ValueError, match="runs only on CPU tensors"):
        make_ops("numpy", torch.device("cuda"))
    assert set(BACKENDS) == {"auto", "numpy", "torch"}


def test_capability_check_is_one_line_naming_the_backend_that_has_it() -> None:
    NumpyOps().require("compiled_loop", "the compiled event loop")
    with pytest.raises(ValueError) as err:
        TorchOps().require("row_layouts", "fused static propagation")
    msg = str(err.value)
    assert "\n" not in msg and "'torch' lacks" in msg and "use backend='numpy'" in msg


def test_paths_of_one_backend_refuse_the_other() -> None:
    net = Network(dt=1e-4, backend="torch")
    g = net.add(LIFGroup(20, tau_m=10e-3, v_rest=0.0, v_threshold=1.0, v_reset=0.0,
                         channels={"a": 5e-3, "b": 5e-3}))
    p = net.connect(g, g, "a", fixed_probability(0.2), weight=0.1)
    q = net.connect(g, g, "b", fixed_probability(0.2), weight=0.1)
    net.build()
    assert net._native is None and net._fused == []
    with pytest.raises(ValueError, match="compiled_loop"):
        NativeLoop(net)
    with pytest.raises(ValueError, match="row_layouts"):
        FusedPropagation([p, q])


@pytest.mark.parametrize("ops", OPS, ids=lambda o: o.name)
def test_list_schedule_emits_each_steps_spikes(ops) -> None:
    steps = torch.tensor([s for s, _ in EVENTS])
    idx = torch.tensor([i for _, i in EVENTS])
    table = ops.list_schedule(steps, idx, torch.zeros(N, dtype=torch.bool))
    want = by_step(6)
    for k in range(9):
        assert as_set(ops, table.at(k)) == want.get(k, [])


@pytest.mark.parametrize("ops", OPS, ids=lambda o: o.name)
def test_chunk_schedule_emits_each_steps_spikes(ops) -> None:
    flat = torch.tensor([s * N + i for s, i in EVENTS])
    table = ops.chunk_schedule(flat, N, 7, torch.zeros(7, N, dtype=torch.bool))
    want = by_step(6)
    for k in range(7):
        assert as_set(ops, table.at(k)) == want[k]


def spikes_of(ops, neurons: list[int]):
    mask = np.zeros(N, dtype=bool)
    mask[neurons] = True
    return ops.spikes(ops.view(torch.from_numpy(mask)))


@pytest.mark.parametrize("ops", OPS, ids=lambda o: o.name)
def test_queue_delays_spikes_by_its_depth_and_round_trips(ops) -> None:
    depth = 3
    queue = ops.spike_queue(depth, N, torch.device("cpu"))
    want = by_step(6)
    for k in range(7):
        arrived = queue.swap(k % depth, spikes_of(ops, want[k]))
        assert as_set(ops, arrived) == (want[k - depth] if k >= depth else [])
    other = ops.spike_queue(depth, N, torch.device("cpu"))
    other.load(queue.state())
    for k in range(7, 10):
        assert as_set(ops, other.swap(k % depth, spikes_of(ops, []))) == want[k - depth]


@pytest.mark.parametrize("ops", OPS, ids=lambda o: o.name)
def test_recorder_drains_indices_with_their_steps(ops) -> None:
    rec = ops.spike_recorder(N, torch.device("cpu"))
    want = by_step(6)
    for k in range(7):
        rec.record(k, spikes_of(ops, want[k]))
    i, s = rec.drain()
    assert list(zip(s.tolist(), i.tolist(), strict=True)) == EVENTS
    assert rec.drain() is None


@pytest.mark.parametrize("ops", OPS, ids=lambda o: o.name)
def test_counts_takes_and_scatter_adds(ops) -> None:
    sp = spikes_of(ops, [1, 3, 4, 6])
    assert int(ops.count_in(sp, 2, 5, False)) == 2
    assert int(ops.count_in(sp, 0, N, True)) == 4
    row = ops.view(torch.arange(N, dtype=torch.float64) * 10.0)
    idx = ops.index_array(np.array([6, 0, 3]), torch.device("cpu"))
    out = ops.view(torch.zeros(3, dtype=torch.float64))
    ops.take(row, idx, out)
    assert [float(x) for x in out] == [60.0, 0.0, 30.0]
    ops.scatter_add(row, idx, out)
    assert [float(x) for x in row] == [0.0, 10.0, 20.0, 60.0, 40.0, 50.0, 120.0]
