"""The spiking digits network trained in situ on a crossbar by a forward-only library rule.

The ``snn-digits`` network (``Linear(64, H) -> LIF -> Linear(H, 10) -> LI``, readout loss on
the LI membrane) becomes a :class:`~neuromorph.networks.stack.StackNet` of two stages whose
trainable maps are :class:`~neuromorph.hardware_models.crossbar.in_situ.InSituLinearOverTime`
layers and whose fixed transform between them is the network's own LIF population run over the
``T`` time steps (hard threshold, forward only). A sample is its whole spike train, flattened
time-major per sample (``x[b, t n + i] = s_i[t]``)::

    I_1[t] = S[t] W~_1^T + b_1           (array 1: one write, read at every step)
    s_h    = LIF(I_1[0..T-1])            (the fixed transform F_2, spikes [T, H])
    I_2[t] = s_h[t] W~_2^T + b_2         (array 2)
    L      = readout_loss(LI(I_2), y)    (the member loss: LI membrane, e.g. mean over t)

``W~`` is the weight written onto fresh devices with programming noise and read ``t_read`` s
later, so every member the rule measures is a write and a read of both arrays; the rule (SPSA
by default) sees only the losses. The LI readout has no trainable parameter, so it is part of
the loss, not a stage. Spikes are 0 or 1, so both DAC ranges are 1.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.experiments.analog_training import InSituSettings, optimise_in_situ
from neuromorph.experiments.snn_common import SNNTask
from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.hardware_models.crossbar.in_situ import InSituLinearOverTime
from neuromorph.hardware_models.crossbar.tile import TileConfig
from neuromorph.learning_rules.perturbation import MemberLoss
from neuromorph.learning_rules.spike_losses import get_loss
from neuromorph.networks.spiking_layers import SpikingSequential
from neuromorph.networks.stack import Identity, StackNet, Stage, Transform


class NeuronsOverTime(Transform):
    """``F``: input currents ``[B, T n]`` -> spikes ``[B, T n]`` of ``n`` neurons over ``T`` steps.

    ``neuron`` is a time-major population (``[T, B, n] -> [T, B, n]``, e.g. the network's
    :class:`~neuromorph.networks.neurons.LIF`), started from rest for every sample. Offered
    forward only: the spikes use the hard threshold, and a rule sees nothing else.
    """

    access = Access.FORWARD_ONLY

    def __init__(self, neuron: nn.Module, n: int, steps: int) -> None:
        super().__init__(steps * n, steps * n)
        self.neuron, self.n, self.steps = neuron, int(n), int(steps)

    def measure(self, z: Tensor) -> Tensor:
        b = z.shape[0]
        currents = z.reshape(b, self.steps, self.n).transpose(0, 1)
        with torch.no_grad():
            spikes = self.neuron(currents)
        return spikes.transpose(0, 1).reshape(b, self.steps * self.n)


def readout_losses(readout_neuron: nn.Module, readout: str, steps: int,
                   n_classes: int) -> MemberLoss:
    """Member losses ``[M]`` from the output array's currents ``[M, B, T C]``: the readout
    neuron's trace over the ``T`` steps, then the readout loss ``readout`` (e.g.
    ``mean_membrane``: ``CE(mean_t v[t], y)``), averaged over the batch."""
    loss_fn = get_loss(readout)

    def losses(currents: Tensor, y: Tensor) -> Tensor:
        m, b, _ = currents.shape
        trace = readout_neuron(currents.reshape(m * b, steps, n_classes).transpose(0, 1))
        return loss_fn(trace, y.repeat(m), reduction="none").reshape(m, b).mean(dim=1)

    return losses


def spiking_stack(net: SpikingSequential, steps: int, device: DeviceModel, tile: TileConfig,
                  t_read: float, seed: int) -> StackNet:
    """The one-hidden-layer spiking ``net`` as a StackNet on in-situ arrays (module doc)."""
    if len(net.layers) != 2:
        raise ValueError(f"the in-situ spiking network needs one hidden layer (2 spiking layers), "
                         f"got {len(net.layers)}; set hidden to a single width")
    hidden, out = net.layers
    n_in, n_hidden = hidden.synapse.in_features, hidden.synapse.out_features
    n_out = out.synapse.out_features
    first = Stage(Identity(steps * n_in), steps * n_hidden, bias=False)
    first.linear = InSituLinearOverTime.from_linear(hidden.synapse, device, tile, t_read,
                                                    seed=2 * seed, steps=steps)
    second = Stage(NeuronsOverTime(copy.deepcopy(hidden.neuron), n_hidden, steps),
                   steps * n_out, bias=False)
    second.linear = InSituLinearOverTime.from_linear(out.synapse, device, tile, t_read,
                                                     seed=2 * seed + 1, steps=steps)
    return StackNet([first, second])


def flatten_time(spikes: Tensor) -> Tensor:
    """``[T, B, n]`` -> ``[B, T n]`` (time-major per sample)."""
    return spikes.transpose(0, 1).reshape(spikes.shape[1], -1)


def train_snn_in_situ(net: SpikingSequential, task: SNNTask, steps: int, readout: str,
                      device: DeviceModel, s: InSituSettings, tile: TileConfig, seed: int,
                      tick: Callable[[], None]) -> int:
    """Train ``net``'s synapses on the arrays with the library rule ``s.rule``; return the
    hardware queries (network forward passes; each writes and reads both arrays once).

    Every step draws ``s.batch`` training samples with fresh Poisson spikes. The trained
    weights are copied back into ``net``.
    """
    stack = spiking_stack(net, steps, device, tile, s.t_read, seed)
    readout_neuron = copy.deepcopy(net.layers[-1].neuron)
    loss = readout_losses(readout_neuron, readout, steps, task.n_classes)

    def sample(gen: torch.Generator) -> tuple[Tensor, Tensor]:
        idx = torch.randint(task.n_train, (s.batch,), generator=gen)
        spikes, y = task.batch(idx, True, gen)
        return flatten_time(spikes), y

    optimise_in_situ(stack, s, seed, sample, tick, loss=loss)
    with torch.no_grad():
        for layer, stage in zip(net.layers, stack.layers, strict=True):
            layer.synapse.weight.copy_(stage.linear.weight)
            layer.synapse.bias.copy_(stage.linear.bias)
    return stack.layers[0].linear.writes
