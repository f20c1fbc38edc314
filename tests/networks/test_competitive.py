"""Diehl & Cook's competitive layer (``CompetitiveLayer``): its dynamics against the event
engine (one ``COBALIFGroup`` per neuron, projections for the input and the lateral inhibition),
the presentation protocol with retries, the label votes by hand, and its spec's checks."""

from __future__ import annotations

import pytest
import torch

from neuromorph import specs
from neuromorph.networks.competitive import CompetitiveLayer
from neuromorph.sim import (
    Channel,
    COBALIFGroup,
    Network,
    Projection,
    SpikeGeneratorGroup,
    SpikeMonitor,
)

F64 = torch.float64
NEURON = specs.CondLIF(tau_mem=20e-3, tau_exc=2e-3, tau_inh=4e-3, v_leak=-0.065,
                       v_threshold=-0.052, e_exc=0.0, e_inh=-0.1, refractory=3e-3,
                       options=specs.SpikeOptions("zero", v_reset=-0.06))


def _engine(spk: torch.Tensor, w: torch.Tensor, theta: torch.Tensor, w_inh: float, dt: float):
    """The layer built from engine parts: neuron ``j`` is a one-neuron ``COBALIFGroup`` with
    threshold ``v_threshold + theta_j``, input synapses ``w[j]`` onto ``ge`` and an inhibitory
    synapse of weight ``w_inh`` onto ``gi`` from every other neuron. Returns the spikes
    ``[T + 2, n]``."""
    T, n_in = spk.shape
    n = w.shape[0]
    net = Network(dt=dt, dtype=F64, backend="numpy")
    t_idx, i_idx = spk.nonzero(as_tuple=True)
    src = net.add(SpikeGeneratorGroup(n_in, i_idx, t_idx.to(F64) * dt))
    groups = [net.add(COBALIFGroup(
        1, tau_m=NEURON.tau_mem, v_rest=NEURON.v_leak,
        v_threshold=NEURON.v_threshold + float(theta[j]), v_reset=NEURON.options.v_reset,
        refractory=NEURON.refractory,
        channels={"ge": Channel(NEURON.tau_exc, e_rev=NEURON.e_exc),
                  "gi": Channel(NEURON.tau_inh, e_rev=NEURON.e_inh)})) for j in range(n)]
    one = torch.zeros(1, dtype=torch.long)
    for j, group in enumerate(groups):
        net.add(Projection(src, group, "ge", (torch.arange(n_in), one.expand(n_in)),
                           weight=w[j]))
        for k, other in enumerate(groups):
            if k != j:
                net.add(Projection(other, group, "gi", (one, one),
                                   weight=torch.tensor([w_inh], dtype=F64)))
    monitors = [net.add(SpikeMonitor(g)) for g in groups]
    net.run((T + 2) * dt)
    spikes = torch.zeros(T + 2, n, dtype=F64)
    for j, s_mon in enumerate(monitors):
        spikes[torch.as_tensor(s_mon.steps, dtype=torch.long), j] = 1.0
    return spikes


def _layer(n_in: int, n: int, dt: float, **fields) -> CompetitiveLayer:
    return CompetitiveLayer(n_in, n, dt=dt, neuron=NEURON, **fields)


def test_matches_the_engine_built_from_groups_and_projections():
    """Same spikes, one step later in the engine (which delivers a step's input after its
    threshold); lateral inhibition and theta both change the outcome."""
    dt, T, n, n_in, w_inh = 1e-3, 300, 4, 16, 0.5
    gen = torch.Generator().manual_seed(3)
    spk = torch.rand(T, n_in, generator=gen, dtype=F64) < 0.15
    w = 0.5 * torch.rand(n, n_in, generator=gen, dtype=F64)
    theta = torch.tensor([0.0, 1e-3, 2e-3, 0.5e-3], dtype=F64)

    def layer_spikes(w_inh: float, theta: torch.Tensor) -> torch.Tensor:
        layer = _layer(n_in, n, dt, w_inh=w_inh).double()
        layer.weight, layer.theta = w, theta
        out, theta_after = layer.run(spk[:, None].to(F64))
        assert torch.equal(theta_after, theta)  # no threshold rule given: theta stays
        return out[:, 0]

    s = layer_spikes(w_inh, theta)
    eng = _engine(spk, w, theta, w_inh, dt)
    assert (s.sum(0) >= 15).all()  # every neuron fires, refractoriness is exercised
    assert torch.equal(s, eng[1: T + 1]) and eng[0].sum() == 0
    assert s.sum() < layer_spikes(0.0, theta).sum()  # inhibition removes spikes
    assert not torch.equal(layer_spikes(w_inh, torch.zeros(n, dtype=F64)), s)  # theta acts


def test_threshold_rule_runs_after_every_step():
    """``adapt`` sees each step's spikes and the current theta (Diehl & Cook's +theta_plus
    per spike): the final theta is theta_plus times each neuron's spike count."""
    dt, T, n_in = 1e-3, 200, 16
    gen = torch.Generator().manual_seed(5)
    layer = _layer(n_in, 3, dt, w_inh=0.0).double()
    layer.weight = 0.6 * torch.rand(3, n_in, generator=gen, dtype=F64)
    spk = (torch.rand(T, 2, n_in, generator=gen, dtype=F64) < 0.2).to(F64)
    out, theta = layer.run(spk, adapt=lambda s, th: th + 1e-9 * s.sum(0))
    assert out.sum() > 20
    assert torch.allclose(theta, 1e-9 * out.sum((0, 1)), rtol=0, atol=1e-20)
    assert torch.equal(layer.theta, torch.zeros(3, dtype=F64))  # the buffer is left alone


def test_presentation_retries_weak_images_faster_until_the_rate_is_one_spike_per_step():
    """Images evoking fewer than ``min_spikes`` spikes are shown again, ``rate_step`` Hz
    faster, the rate capped at one spike per step; counts are those of the last showing."""
    dt, n_in = 1e-3, 4
    layer = _layer(n_in, 2, dt, n_steps=40, max_rate=400.0, rate_step=400.0, min_spikes=3,
                   max_retries=4)
    shown: list[torch.Tensor] = []

    def simulate(spikes_in: torch.Tensor) -> torch.Tensor:
        """Image ``b`` of the batch answers with ``b`` spikes of neuron 0 per showing."""
        shown.append(spikes_in)
        out = torch.zeros(spikes_in.shape[0], spikes_in.shape[1], 2)
        for b in range(spikes_in.shape[1]):
            out[:b, b, 0] = 1.0
        return out

    images = torch.ones(4, n_in)
    counts = layer.present(images, torch.Generator().manual_seed(0), simulate=simulate)
    # showing 1: 4 images -> 0, 1, 2, 3 spikes; images 0-2 again (as batch rows 0-2) ->
    # 0, 1, 2 spikes; ... the weak ones shrink to the first rows and never reach 3
    assert [x.shape[1] for x in shown] == [4, 3, 3, 3, 3]
    assert counts[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0] and counts[:, 1].sum() == 0
    rates = [float(x.mean()) / dt for x in shown]  # all-ones images: the mean is the rate
    assert 300 < rates[0] < 500 and 700 < rates[1] < 900
    assert all(torch.equal(x, torch.ones_like(x)) for x in shown[2:])  # capped at 1 / dt


def test_labels_and_votes_by_hand():
    layer = _layer(3, 4, 1e-3, n_classes=3)
    counts = torch.tensor([[5.0, 0.0, 1.0, 0.0],   # class 0
                           [4.0, 1.0, 0.0, 0.0],   # class 0
                           [0.0, 3.0, 0.0, 0.0],   # class 1
                           [0.0, 1.0, 2.0, 6.0]])  # class 2
    targets = torch.tensor([0, 0, 1, 2])
    # mean per class: neuron 0 -> class 0 (4.5), neuron 1 -> class 1 (3), neuron 2 -> class 2
    # (2 against 0.5), neuron 3 -> class 2 (6)
    assert layer.assign_labels(counts, targets).tolist() == [0, 1, 2, 2]
    assert layer.labels.tolist() == [0, 1, 2, 2]
    # scores: class 0 = count of neuron 0, class 1 = neuron 1, class 2 = mean of neurons 2, 3
    probe = torch.tensor([[1.0, 2.0, 0.0, 3.0],    # 1, 2, 1.5 -> class 1
                          [4.0, 0.0, 2.0, 8.0],    # 4, 0, 5 -> class 2
                          [0.0, 0.0, 0.0, 0.0]])   # all 0: the first class
    assert layer.vote(probe).tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match="no neuron labels"):
        _layer(3, 4, 1e-3).classify(torch.zeros(2, 3))


@pytest.mark.parametrize("fields,message", [
    (dict(n_out=0), "n_out must be an integer >= 1"),
    (dict(max_retries=-1), "max_retries must be an integer >= 0"),
    (dict(max_rate=0.0), "max_rate must be > 0 Hz"),
    (dict(w_inh=-1.0), "w_inh must be finite and >= 0"),
    (dict(neuron=specs.LIF()), "needs a CondLIF neuron spec"),
    (dict(n_out=3, neuron=specs.CondLIF(shape=(4,))), "neuron shape"),
])
def test_bad_specs_are_one_clear_error(fields, message):
    with pytest.raises(ValueError, match=message):
        specs.CompetitiveLayer(**{"n_in": 2, "n_out": 3, **fields})


def test_bad_inputs_name_the_expected_shape():
    layer = _layer(5, 2, 1e-3)
    with pytest.raises(ValueError, match=r"expected \[T, B, 5\]"):
        layer(torch.zeros(10, 5))
    with pytest.raises(ValueError, match=r"expected \[B, 5\]"):
        layer.present(torch.zeros(3, 4))
