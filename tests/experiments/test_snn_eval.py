"""The pipeline flush of the chip integer models: the answer lines up with the float network."""

from __future__ import annotations

import torch

from neuromorph.experiments.snn_eval import pipeline_depth, run_flushed
from neuromorph.hardware_models.chips import quantize
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential

DT, TAU = 1e-3, 10e-3


def _net() -> SpikingSequential:
    torch.manual_seed(0)
    net = SpikingSequential(
        SpikingLinear(12, 20, bias=False, dt=DT, tau=TAU, r=TAU / DT, reset="zero"),
        SpikingLinear(20, 4, bias=False, neuron="li", dt=DT, tau=TAU, r=TAU / DT))
    with torch.no_grad():
        net[0].synapse.weight.mul_(4.0)
    return net


def test_flushed_loihi_readout_is_the_undelayed_one_shifted() -> None:
    net = _net()
    x = (torch.rand(6, 9, 12, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    q = quantize(net, "loihi2", calibration=x)
    assert pipeline_depth(q) == 2  # one step per Lava Dense
    run, aligned = run_flushed(q, x)
    assert run.readout.shape[0] == 6 + 2 and aligned.shape[0] == 6
    undelayed = q.run(x, delays=False).readout
    assert torch.equal(aligned, undelayed)
    assert not torch.equal(q.run(x).readout, undelayed)  # the plain run loses the last steps
    assert run.outputs[0].sum() > 0  # the hidden layer fires


def test_one_step_network_answers_only_after_the_flush() -> None:
    net = _net()
    x = (torch.rand(1, 5, 12, generator=torch.Generator().manual_seed(2)) < 0.6).float()
    q = quantize(net, "loihi2", calibration=x)
    assert torch.count_nonzero(q.run(x).readout) == 0  # delays: nothing arrives within T = 1
    _, aligned = run_flushed(q, x)
    assert torch.equal(aligned, q.run(x, delays=False).readout)
    with torch.no_grad():  # and it matches the float network to the quantisation error
        assert torch.allclose(aligned.float(), net(x), atol=0.05 * float(net(x).abs().max()))
