"""The spiking digits network in situ: its StackNet is the snn-digits network; SPSA trains it."""

import copy

import pytest
import torch

from neuromorph.experiments.analog_snn import train_snn
from neuromorph.experiments.analog_snn_insitu import (
    flatten_time,
    readout_losses,
    spiking_stack,
    train_snn_in_situ,
)
from neuromorph.experiments.analog_training import InSituSettings
from neuromorph.experiments.snn_common import build_network, layer_outputs
from neuromorph.experiments.snn_digits import Config, digits_task
from neuromorph.hardware_models.crossbar import TileConfig, make_device
from neuromorph.hardware_models.crossbar.pcm import PCM, PCMParams
from neuromorph.learning_rules.spike_losses import get_loss

#: a real PCM model with its programming noise, read noise and drift switched off
EXACT_PCM = PCM(PCMParams(prog_noise_scale=0.0, read_noise_scale=0.0, drift_scale=0.0))
IDEAL = TileConfig(dac_bits=0, adc_bits=0, adc_bound=1e6, input_range=1.0)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (tests/conftest.py)


def small_network(steps: int = 10, hidden: int = 24):
    cfg = Config(n_steps=steps, hidden=(hidden,))
    task = digits_task(cfg, 0)
    torch.manual_seed(0)
    return cfg, task, build_network(cfg, task.n_inputs, task.n_classes)


def test_noise_free_stack_is_the_spiking_network():
    """Exact devices and ideal converters: same hidden spikes and readout loss as snn-digits."""
    cfg, task, net = small_network()
    spikes, y = task.batch(torch.arange(48), True, torch.Generator().manual_seed(1))
    stack = spiking_stack(net, cfg.n_steps, EXACT_PCM, IDEAL, t_read=1.0, seed=0)
    features, outputs = stack.record(flatten_time(spikes))
    hidden, trace = layer_outputs(net, spikes)
    assert hidden.sum() > 0.05 * hidden.numel()  # the hidden layer does spike
    assert torch.equal(features[1], flatten_time(hidden))
    losses = readout_losses(copy.deepcopy(net.layers[-1].neuron), cfg.readout, cfg.n_steps,
                            task.n_classes)
    ours = losses(outputs[-1].unsqueeze(0), y)
    assert ours.shape == (1,)
    assert torch.allclose(ours[0], get_loss(cfg.readout)(trace, y), rtol=1e-5)


def test_member_losses_are_per_member():
    cfg, task, net = small_network()
    spikes, y = task.batch(torch.arange(8), True, torch.Generator().manual_seed(2))
    trace = layer_outputs(net, spikes)[-1]  # [T, B, C]
    currents = torch.stack([flatten_time(trace), flatten_time(2 * trace)])  # two members
    losses = readout_losses(torch.nn.Identity(), "mean_membrane", cfg.n_steps, 10)(currents, y)
    ce = get_loss("mean_membrane")
    assert torch.allclose(losses, torch.stack([ce(trace, y), ce(2 * trace, y)]), rtol=1e-6)


def test_library_spsa_trains_the_spiking_network_on_pcm():
    cfg, task, net = small_network()
    settings = InSituSettings("spsa", steps=200, directions=2, c=0.02, lr=0.02, batch=32)
    queries = train_snn_in_situ(net, task, cfg.n_steps, cfg.readout, make_device("pcm"),
                                settings, TileConfig(), seed=0, tick=lambda: None)
    assert queries == 200 * 2 * 2  # every member one write and read of each array
    x, y = task.batch(torch.arange(task.n_test), False, torch.Generator().manual_seed(3))
    correct = layer_outputs(net, x)[-1].mean(dim=0).argmax(dim=1) == y
    assert correct.float().mean() > 0.3  # chance 0.1 (0.42 with these seeds)


def test_insitu_method_needs_its_settings():
    with pytest.raises(ValueError, match="insitu method needs its settings"):
        train_snn("insitu", 1, TileConfig(), TileConfig(), 0, lambda: None)
    _, _, net = small_network()
    net.layers.insert(0, copy.deepcopy(net.layers[0]))
    with pytest.raises(ValueError, match="needs one hidden layer"):
        spiking_stack(net, 10, EXACT_PCM, IDEAL, 1.0, 0)
