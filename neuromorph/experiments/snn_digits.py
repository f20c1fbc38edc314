"""snn-digits: Poisson-coded scikit-learn digits, a spiking MLP trained by surrogate-gradient BPTT.

Each 8 x 8 digit (pixels ``x`` in [0, 1]) becomes ``n_steps`` steps of Bernoulli spikes, pixel
rate ``x * max_rate`` Hz at step ``dt`` (fresh spikes every epoch). The network is
``Linear(64, hidden) -> LIF -> Linear(hidden, 10) -> LI``; the loss is the cross-entropy of the
LI readout (mean membrane over time by default), trained with Adam through time (BPTT) with a
surrogate spike derivative. Reports test accuracy, mean +- std over ``seeds`` splits and seeds.

The machinery shared by the spiking experiments lives in :mod:`neuromorph.experiments.snn_common`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from neuromorph.data.poisson_digits import digits_split, poisson_digits
from neuromorph.experiments.snn_common import SNNConfig, SNNTask, run_snn

SUMMARY = "Poisson-coded sklearn digits, spiking MLP trained by surrogate-gradient BPTT"


@dataclass
class Config(SNNConfig):
    dt: float = 2e-3
    epochs: int = 20
    n_steps: int = 25
    max_rate: float = 500.0  # Hz at pixel value 1 (probability max_rate * dt per step)
    test_fraction: float = 0.2
    train_subset: int = 0  # use only this many training samples (0 = all; for quick runs)

    def __post_init__(self) -> None:
        self.check_snn()
        self.check(self.n_steps >= 1, f"n_steps must be >= 1, got {self.n_steps}")
        self.check(0 < self.max_rate * self.dt <= 1,
                   f"max_rate * dt must lie in (0, 1], got {self.max_rate * self.dt}")
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")
        self.check(self.train_subset >= 0, "train_subset must be >= 0")


def digits_task(cfg: Config, seed: int) -> SNNTask:
    """The seed's stratified split of the digits, rate-coded on the fly."""
    split = digits_split(cfg.test_fraction, seed)
    x_tr, y_tr = split.x_train, split.y_train
    if cfg.train_subset:
        x_tr, y_tr = x_tr[: cfg.train_subset], y_tr[: cfg.train_subset]

    def batch(idx: Tensor, train: bool, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        x, y = (x_tr, y_tr) if train else (split.x_test, split.y_test)
        spikes = poisson_digits(x[idx], cfg.n_steps, dt=cfg.dt, max_rate=cfg.max_rate,
                                generator=gen)
        return spikes, y[idx]

    return SNNTask(64, 10, len(y_tr), len(split.y_test), batch, cfg.dt)


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    title = (f"digits, {cfg.n_steps} steps x {cfg.dt * 1e3:g} ms, max {cfg.max_rate:g} Hz, "
             f"hidden {list(cfg.hidden)} {cfg.neuron}, {cfg.readout}")
    return run_snn("snn-digits", cfg, out_dir, lambda s: digits_task(cfg, s), title, progress)
