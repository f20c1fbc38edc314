"""The spiking part of analog-drift: the snn-digits network on crossbars.

The network of ``snn-digits`` (Poisson-coded digits, ``Linear -> LIF -> Linear -> LI``) is
trained three ways: by surrogate-gradient BPTT in float (then converted with ``to_analog``) and
hardware-aware (the analog twin with noise injection and converters in the loop), and in situ
(:mod:`~neuromorph.experiments.analog_snn_insitu`: a forward-only library rule measuring the
losses of the network written onto the crossbar, then converted like the float one). Spikes are
0/1, so every DAC range is 1. Accuracy uses the same fixed test spikes as ``snn-digits``; the
energy per inference counts the array reads from the network's own spikes on those inputs
(:func:`~neuromorph.hardware_models.crossbar.inference_cost` with ``spiking=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuromorph.data.poisson_digits import minibatches
from neuromorph.experiments.analog_snn_insitu import train_snn_in_situ
from neuromorph.experiments.analog_training import InSituSettings
from neuromorph.experiments.snn_common import SNNTask, build_network, evaluate, layer_outputs
from neuromorph.experiments.snn_digits import Config as DigitsConfig
from neuromorph.experiments.snn_digits import digits_task
from neuromorph.hardware_models.crossbar import TileConfig, to_analog
from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.learning_rules.spike_losses import get_loss

SNN_METHODS = ("float", "hwa", "insitu")


def bptt(model: nn.Module, task: SNNTask, cfg: DigitsConfig, seed: int,
         tick: Callable[[], None]) -> nn.Module:
    """Adam + cosine schedule on the readout loss, one pass of fresh spikes per epoch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    loss_fn = get_loss(cfg.readout)
    for _ in range(cfg.epochs):
        model.train()
        for idx in minibatches(task.n_train, cfg.batch_size, generator=gen):
            x, y = task.batch(idx, True, gen)
            loss = loss_fn(layer_outputs(model, x)[-1], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        tick()
    model.eval()
    return model


@dataclass
class SpikingRun:
    """A trained spiking network on crossbars and how to score it.

    ``test_spikes``: the first test batch's input spikes ``[T, B, 64]`` (the same Poisson draw
    as :func:`score` uses), for the energy per inference.
    """

    model: nn.Module
    score: Callable[[nn.Module], float]
    digital: float | None  # the float network's own accuracy (float method only)
    test_spikes: Tensor
    queries: int = 0  # hardware forward passes spent in training (insitu method only)


def train_snn(method: str, epochs: int, tile: TileConfig, hwa_tile: TileConfig, seed: int,
              tick: Callable[[], None], insitu: InSituSettings | None = None,
              device: DeviceModel | None = None) -> SpikingRun:
    """Train the spiking digits network by ``method`` (``float``, ``hwa`` or ``insitu``), on
    crossbars. ``insitu`` and ``device``: the in-situ rule's settings and the hardware it
    trains on (``insitu`` method only)."""
    cfg = DigitsConfig(seed=seed, seeds=1, epochs=epochs)
    task = digits_task(cfg, seed)

    def score(model: nn.Module) -> float:
        return evaluate(model, task, cfg, seed)[0]

    first = torch.arange(min(task.n_test, 512))
    spikes = task.batch(first, False, torch.Generator().manual_seed(10_000 + seed))[0]
    torch.manual_seed(seed)
    net = build_network(cfg, task.n_inputs, task.n_classes)
    if method == "float":
        bptt(net, task, cfg, seed, tick)
        return SpikingRun(to_analog(net, tile, seed), score, score(net), spikes)
    if method == "hwa":
        analog = bptt(to_analog(net, hwa_tile, seed), task, cfg, seed, tick)
        for layer in analog.modules():
            if hasattr(layer, "hardware") and hasattr(layer, "tile"):
                layer.tile = tile  # deploy without the training-noise settings
        return SpikingRun(analog, score, None, spikes)
    if method == "insitu":
        if insitu is None or device is None:
            raise ValueError("the insitu method needs its settings and the device it trains on")
        queries = train_snn_in_situ(net, task, cfg.n_steps, cfg.readout, device, insitu, tile,
                                    seed, tick)
        return SpikingRun(to_analog(net, tile, seed), score, None, spikes, queries)
    raise ValueError(f"unknown spiking method {method!r}; choose one of {list(SNN_METHODS)}")
