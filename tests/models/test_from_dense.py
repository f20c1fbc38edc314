"""A trained dense LIF stack runs event-driven in the engine (models.from_dense): the same input
spike trains give the same spikes in every layer, shifted by one step per layer (float64)."""

from __future__ import annotations

import pytest
import torch

from neuromorph.models.from_dense import NotConvertibleError, network_from_dense
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential
from neuromorph.sim import SpikeGeneratorGroup, SpikeMonitor

T, N_IN, DT = 300, 20, 1e-3


def _layer(n_in: int, n_out: int, tau: float, r: float, v_leak: float) -> SpikingLinear:
    return SpikingLinear(n_in, n_out, dt=DT, tau=tau, r=r, v_leak=v_leak, v_threshold=0.1,
                         method="exact", reset="zero", v_reset=-0.02)


def _dense_and_engine(model: SpikingSequential, x: torch.Tensor):
    with torch.no_grad():
        dense, h = [], x
        for layer in model.layers:
            h = layer(h)
            dense.append(h[:, 0])
    steps, idx = torch.nonzero(x[:, 0], as_tuple=True)
    source = SpikeGeneratorGroup(N_IN, idx.numpy(), (steps.double() * DT).numpy(), name="in")
    net = network_from_dense(model, source, dtype=torch.float64)
    monitors = [net.add(SpikeMonitor(net[f"layer{k}"])) for k in range(len(model.layers))]
    L = len(model.layers)
    net.run((T + L) * DT)
    engine = []
    for k, (mon, d) in enumerate(zip(monitors, dense, strict=True)):
        s = torch.zeros(T + L, d.shape[-1], dtype=torch.float64)
        s[mon.steps, mon.i] = 1.0
        engine.append(s[k + 1: k + 1 + T])  # layer k + 1 lags k + 1 steps
    return dense, engine


@pytest.mark.parametrize("gain", [1.5, 3.0, 8.0])
def test_dense_stack_runs_to_the_same_spikes_in_the_engine(gain: float) -> None:
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the neuron parameters are built unrounded
    try:
        model = SpikingSequential(_layer(N_IN, 30, 10e-3, 2.0, 0.0),
                                  _layer(30, 20, 5e-3, 1.5, 0.01),
                                  _layer(20, 8, 20e-3, 3.0, -0.01))
    finally:
        torch.set_default_dtype(old)
    with torch.no_grad():
        for m in model.layers:
            m.synapse.weight.mul_(gain)  # from sparse firing to saturated layers
            m.synapse.bias.uniform_(-0.01, 0.03)
    x = (torch.rand(T, 1, N_IN) < 0.1).double()
    dense, engine = _dense_and_engine(model, x)
    # spikes per layer measured: 495/305/53 (1.5), 896/810/208 (3), 1426/1349/433 (8)
    assert dense[-1].sum() > 40, "the last layer must fire for the check to mean anything"
    for d, e in zip(dense, engine, strict=True):
        torch.testing.assert_close(e, d, rtol=0, atol=0)


def test_what_the_engine_cannot_run_is_refused_by_name() -> None:
    euler = SpikingSequential(SpikingLinear(4, 3, dt=DT, tau=10e-3))
    with pytest.raises(NotConvertibleError, match="method='euler'.*reset='subtract'"):
        network_from_dense(euler, SpikeGeneratorGroup(4, [], []))
    alif = SpikingSequential(SpikingLinear(4, 3, dt=DT, neuron="alif"))
    with pytest.raises(NotConvertibleError, match="layer 0 is a ALIF"):
        network_from_dense(alif, SpikeGeneratorGroup(4, [], []))
    per_neuron = _layer(4, 3, 10e-3, 2.0, 0.0)
    per_neuron.neuron = type(per_neuron.neuron)(3, dt=DT, tau=torch.tensor([5e-3, 6e-3, 7e-3]),
                                                method="exact", reset="zero")
    with pytest.raises(NotConvertibleError, match="tau varies per neuron"):
        network_from_dense(SpikingSequential(per_neuron), SpikeGeneratorGroup(4, [], []))
