"""Energy and latency per inference from counted synaptic operations and neuron updates."""

from __future__ import annotations

import pytest
import torch

from neuromorph.hardware_models.chips import (
    count_integer_ops,
    count_ops,
    estimate,
    get_chip,
    quantize,
)
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential


def _net() -> SpikingSequential:
    net = SpikingSequential(SpikingLinear(3, 2, bias=False, dt=1e-3, tau=0.01, r=10.0,
                                          reset="zero"),
                            SpikingLinear(2, 2, bias=False, neuron="li", dt=1e-3, tau=0.01))
    with torch.no_grad():
        net[0].synapse.weight.copy_(torch.tensor([[2.0, 0.0, 0.0], [2.0, 2.0, 0.0]]))
        net[1].synapse.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    return net


def test_hand_counted_operations() -> None:
    x = torch.zeros(4, 1, 3)
    x[0, 0, 0] = 1.0  # input 0 reaches 2 neurons: 2 synops
    x[1, 0, 1] = 1.0  # input 1 reaches 1 neuron: 1 synop
    x[2, 0, 2] = 1.0  # input 2 has no synapse: 0 synops
    net = _net()
    with torch.no_grad():
        hidden = net[0](x)
    c = count_ops(net, x)
    assert c.synops[0] == 3.0
    # hidden neuron 0 reaches 2 readout neurons, hidden neuron 1 reaches 1
    expected = 2.0 * float(hidden[:, 0, 0].sum()) + float(hidden[:, 0, 1].sum())
    assert c.synops[1] == expected and hidden.sum() >= 1
    assert c.updates == [8.0, 8.0] and c.steps == 4


def test_per_op_energy_for_loihi() -> None:
    x = (torch.rand(10, 4, 3, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    c = count_ops(_net(), x)
    r = estimate(c, "loihi2", 1e-3)
    chip = get_chip("loihi2")
    want = c.total_synops * 23.6e-12 + c.total_updates * 81e-12
    assert r.energy == pytest.approx(want) and r.breakdown["synaptic_ops"] > 0
    step = max(s / 10 * chip.time_per_synop + n * chip.time_per_neuron_update
               for s, n in zip(c.synops, c.neurons, strict=True))
    assert r.latency == pytest.approx(10 * step)
    assert "Davies" in " ".join(r.assumptions)


def test_power_model_for_xylo_and_missing_figures() -> None:
    x = (torch.rand(25, 4, 3, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    c = count_ops(_net(), x)
    r = estimate(c, "xylo", 2e-3)
    assert r.latency == pytest.approx(25 * 2e-3)
    assert r.energy == pytest.approx((219e-6 + 93e-6) * 25 * 2e-3)
    none = estimate(c, "spinnaker2", 2e-3)
    assert none.energy is None and "no published" in none.assumptions[0]
    assert "n/a" in none.summary()


def test_integer_run_counts_match_the_float_counts_for_the_input_layer() -> None:
    net = _net()
    x = (torch.rand(20, 8, 3, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    q = quantize(net, "loihi2", calibration=x)
    ci = count_integer_ops(q.run(x, delays=False), q.layers)
    cf = count_ops(net, x)
    assert ci.synops[0] == cf.synops[0]  # the same input events reach the same synapses
    assert ci.updates == cf.updates
