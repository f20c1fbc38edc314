"""snn-randman: classify spike-timing patterns on random manifolds (Zenke & Vogels, 2021).

Every input channel fires exactly once per sample, so only relative spike timing tells the
``n_classes`` smooth random manifolds apart (:mod:`neuromorph.data.randman`). A current-based LIF
hidden layer (synaptic filtering turns timing into membrane dynamics) feeds a leaky-integrator
readout; the loss is the cross-entropy of the readout's peak membrane over time. Trained with
surrogate-gradient BPTT (Adam). Reports test accuracy, mean +- std over ``seeds`` data sets
(each seed draws new manifolds) and network initialisations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from neuromorph.data.randman import make_randman
from neuromorph.data.splits import stratified_split
from neuromorph.experiments.snn_common import Neuron, Readout, SNNConfig, SNNTask, run_snn

SUMMARY = "randman spike-timing manifolds (10 classes), spiking network trained by BPTT"


@dataclass
class Config(SNNConfig):
    n_classes: int = 10
    n_units: int = 20  # input channels (one spike each)
    n_steps: int = 50
    dt: float = 1e-3
    dim_manifold: int = 1
    alpha: float = 2.0  # manifold smoothness (power spectrum ~ f^-alpha)
    samples_per_class: int = 500
    test_fraction: float = 0.2
    neuron: Neuron = "cuba_lif"
    tau_syn: float = 5e-3
    tau_mem: float = 10e-3
    tau_out: float = 10e-3
    readout: Readout = "max_membrane"
    init_scale: float = 2.0
    bias: bool = False  # no constant drive: hidden neurons fire only in response to input
    epochs: int = 12
    batch_size: int = 128
    lr: float = 3e-3

    def __post_init__(self) -> None:
        self.check_snn()
        for name in ("n_classes", "n_units", "n_steps", "dim_manifold", "samples_per_class"):
            self.check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        self.check(self.n_classes >= 2, f"n_classes must be >= 2, got {self.n_classes}")
        self.check(self.alpha > 0, f"alpha must be > 0, got {self.alpha}")
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")


def randman_task(cfg: Config, seed: int) -> SNNTask:
    """The seed's randman data set, split stratified into train and test."""
    data = make_randman(
        cfg.n_classes, cfg.n_units, cfg.n_steps, dt=cfg.dt, dim_manifold=cfg.dim_manifold,
        n_samples=cfg.samples_per_class, alpha=cfg.alpha, seed=seed,
    )
    train, test = stratified_split(data.labels, cfg.test_fraction, seed)
    raster = data.spikes()  # [T, N, n_units], binned once

    def batch(idx: Tensor, is_train: bool, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        rows = (train if is_train else test)[idx]
        return raster[:, rows], data.labels[rows]

    return SNNTask(cfg.n_units, cfg.n_classes, len(train), len(test), batch, cfg.dt)


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    title = (f"{cfg.n_classes} classes, {cfg.n_units} units, D={cfg.dim_manifold}, "
             f"{cfg.n_steps} steps x {cfg.dt * 1e3:g} ms, hidden {list(cfg.hidden)} "
             f"{cfg.neuron}, {cfg.readout}")
    return run_snn("snn-randman", cfg, out_dir, lambda s: randman_task(cfg, s), title, progress)

