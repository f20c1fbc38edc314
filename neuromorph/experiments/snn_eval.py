"""Evaluation helpers shared by snn-timesteps and snn-attack: chip integer models, threads.

**Pipeline flush.** A chip's integer model delivers a layer's spikes to the next layer a step
late (Loihi 2: every Dense; Xylo: hidden -> output), so a network of depth ``L = sum(delays)``
answers ``L`` steps after its input. :func:`run_flushed` runs ``T + L`` steps (the input
followed by ``L`` silent steps) and reads the readout on the last ``T`` steps, which line up step
for step with the float network's ``T`` steps. The alignment is exact for layers without a bias;
a bias is the chip's constant drive and acts from step 0, i.e. for the few steps before a
delayed layer's first input too (that is what the chip computes). The operations counted for
the energy include the flush steps: they are what the chip executes. (Reading only the first
``T`` steps, as a plain ``IntegerNetwork.run`` does, loses the last ``L`` steps of the answer:
all of it at ``T = 1``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from neuromorph.hardware_models.chips import (
    IntegerNetwork,
    IntegerRun,
    count_integer_ops,
    estimate,
    quantize,
)
from neuromorph.learning_rules.spike_losses import predict
from neuromorph.networks.spiking_layers import SpikingSequential

__all__ = ["ChipResult", "deploy", "pipeline_depth", "run_flushed", "torch_threads"]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block on ``n`` torch CPU threads, then restore the previous count.

    These networks are small: on a loaded 2-core machine one thread is 5-10x faster than two
    (OpenMP barriers wait on descheduled threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pipeline_depth(net: IntegerNetwork) -> int:
    """``L``: the steps between an input event and its effect on the readout."""
    return int(sum(getattr(layer, "delay", 0) for layer in net.layers))


def run_flushed(net: IntegerNetwork, x: Tensor) -> tuple[IntegerRun, Tensor]:
    """``(run over T + L steps, readout [T, B, C] aligned with the float network)``."""
    depth = pipeline_depth(net)
    padded = torch.cat([x, x.new_zeros(depth, *x.shape[1:])]) if depth else x
    run = net.run(padded)
    return run, run.readout[depth:]


@dataclass
class ChipResult:
    """One network on one chip model: accuracy of the integer model and cost per inference."""

    chip: str
    accuracy: float
    synops: float
    energy_nj: float | None
    latency_us: float | None
    steps: int  # chip steps per inference, flush included
    notes: list[str]


def deploy(model: SpikingSequential, chip: str, x: Tensor, y: Tensor, calibration: Tensor,
           dt: float, readout: str) -> ChipResult:
    """Quantise ``model`` for ``chip``, run it on input events ``x [T, B, N_in]`` with the
    pipeline flushed, and estimate energy and latency per inference from its counted ops."""
    net = quantize(model, chip, calibration=calibration)
    run, aligned = run_flushed(net, x)
    acc = float((predict(aligned.float(), readout) == y).float().mean())
    report = estimate(count_integer_ops(run, net.layers), chip, dt)
    return ChipResult(
        chip, acc, report.synops,
        None if report.energy is None else report.energy * 1e9,
        None if report.latency is None else report.latency * 1e6,
        x.shape[0] + pipeline_depth(net), list(net.notes) + list(report.assumptions))
