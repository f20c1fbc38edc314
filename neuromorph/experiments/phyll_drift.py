"""phyll-drift: the hardware is perturbed mid-training; who keeps learning?

Digits through a physical layer. At epoch ``perturb_at`` every physical constant of the
device changes (``c <- c + strength * std(c) * N(0, 1)``: someone bumped the table). PhyLL
keeps training in situ from measurements alone; PAT keeps using the twin it was given at
the start (now stale) for its backward pass; backprop in silico trained on that twin is
deployed on the changed hardware without retraining. Test accuracy on the *current* hardware
is plotted against training epochs for all three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from neuromorph.data.digits import sklearn_digits
from neuromorph.data.vowels import split_data
from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.phyll_common import Task
from neuromorph.experiments.phyll_config import check_system
from neuromorph.experiments.plots import learning_curves
from neuromorph.experiments.rundir import RunDir
from neuromorph.hardware_models import make_system
from neuromorph.hardware_models.base import PhysicalSystem, perturb_constants
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.baselines import PhysicalClassifier, SupervisedBaseline
from neuromorph.learning_rules.phyll import PhyLL
from neuromorph.networks.physical import LabelEmbedding, PhysicalLayer, PhysicalNetwork

SUMMARY = "hardware perturbed mid-training: PhyLL learns in situ, PAT uses a stale twin"


@dataclass
class Config(ExperimentConfig):
    system: str = "optical"
    width: int = 74
    system_seed: int = 0
    test_fraction: float = 0.2
    layers: int = 2
    epochs: int = 120
    perturb_at: int = 60
    strength: float = 0.7
    inner_steps: int = 10
    lr: float = 2e-3
    alpha: float = 4.0
    supervised_lr: float = 1e-2
    eval_every: int = 5

    def __post_init__(self) -> None:
        check_system(self, min_width=74)  # 10 label slots + 64 pixels
        self.check(0 < self.perturb_at < self.epochs, "perturb_at must be in (0, epochs)")
        self.check(self.strength >= 0, f"strength must be >= 0, got {self.strength}")
        self.check(self.eval_every >= 1 and self.layers >= 1, "eval_every, layers must be >= 1")
        self.check(self.lr > 0 and self.supervised_lr > 0, "learning rates must be > 0")


#: (one training step, test accuracy now, the network being trained)
Trainer = tuple[Callable[[], object], Callable[[], float], torch.nn.Module]


def _phyll(system: PhysicalSystem, task: Task, cfg: Config) -> Trainer:
    torch.manual_seed(cfg.seed)
    layers = [PhysicalLayer(system, cfg.width) for _ in range(cfg.layers)]
    net = PhysicalNetwork(layers, LabelEmbedding(task.n_classes, float(task.x_train.abs().max())))
    rule = PhyLL(net, cfg.alpha, cfg.inner_steps, seed=cfg.seed)
    opt = make_optimizer("adam", rule.parameters(), cfg.lr)
    return (
        lambda: rule.train_batch(task.x_train, task.y_train, opt),
        lambda: rule.accuracy(task.x_test, task.y_test),
        net,
    )


def _supervised(system: PhysicalSystem, task: Task, cfg: Config, mode: str, train: bool):
    torch.manual_seed(cfg.seed)
    clf = PhysicalClassifier([PhysicalLayer(system, cfg.width) for _ in range(cfg.layers)], 10)
    rule = SupervisedBaseline(clf, mode, seed=cfg.seed)
    opt = make_optimizer("adam", rule.parameters(), cfg.supervised_lr)
    if not train:  # in silico: train fully on the twin now, then only deploy
        for _ in range(cfg.epochs):
            rule.train_batch(task.x_train, task.y_train, opt)
    step = (lambda: rule.train_batch(task.x_train, task.y_train, opt)) if train else (lambda: None)
    return step, lambda: rule.accuracy(task.x_test, task.y_test), clf


METHODS: dict[str, Callable[[PhysicalSystem, Task, Config], Trainer]] = {
    "phyll (in situ)": _phyll,
    "pat (stale twin)": lambda s, t, c: _supervised(s, t, c, "pat", True),
    "backprop in silico (deployed)": lambda s, t, c: _supervised(s, t, c, "twin", False),
}


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "phyll-drift", cfg)
    data = sklearn_digits()
    split = split_data(data, cfg.test_fraction, cfg.seed)
    task = Task.from_arrays(split.x_train, split.y_train, split.x_test, split.y_test, 10, cfg.width)
    curves: dict[str, list[tuple[int, float]]] = {}
    metrics: dict[str, float] = {}
    bar = tqdm(total=len(METHODS) * cfg.epochs, desc="phyll-drift", disable=not progress)
    for name, build in METHODS.items():
        system = make_system(cfg.system, cfg.width, cfg.width, seed=cfg.system_seed)
        system.reseed(cfg.seed)
        step, evaluate, model = build(system, task, cfg)
        curve = [(0, evaluate())]
        for epoch in range(1, cfg.epochs + 1):
            if epoch == cfg.perturb_at:
                perturb_constants(system, cfg.strength, torch.Generator().manual_seed(cfg.seed))
                curve.append((epoch, evaluate()))
            step()
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                curve.append((epoch, evaluate()))
            bar.update()
        curves[name] = curve
        if name == "phyll (in situ)":
            phyll_net = model
        key = name.split(" ")[0]
        before = [a for e, a in curve if e < cfg.perturb_at][-1]
        after = [a for e, a in curve if e == cfg.perturb_at][0]
        metrics.update({
            f"{key}_accuracy_before_perturbation": before,
            f"{key}_accuracy_right_after_perturbation": after,
            f"{key}_final_accuracy": curve[-1][1],
            f"{key}_physical_queries": float(system.queries),
        })
    bar.close()
    metrics["test_accuracy"] = metrics["phyll_final_accuracy"]
    lines = [f"phyll-drift: digits through {cfg.system}, perturbation strength {cfg.strength} "
             f"at epoch {cfg.perturb_at} of {cfg.epochs}",
             f"{'method':<32}{'before':>9}{'just after':>12}{'final':>9}"]
    for name in METHODS:
        key = name.split(" ")[0]
        lines.append(
            f"{name:<32}{100 * metrics[f'{key}_accuracy_before_perturbation']:>8.1f}%"
            f"{100 * metrics[f'{key}_accuracy_right_after_perturbation']:>11.1f}%"
            f"{100 * metrics[f'{key}_final_accuracy']:>8.1f}%"
        )
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    fig = learning_curves(curves, title="accuracy on the current hardware")
    fig.axes[0].axvline(cfg.perturb_at, color="k", ls="--", lw=1, label="perturbation")
    fig.axes[0].legend()
    run.save_figure(fig, "accuracy_over_training")
    # PhyLL's network as trained on the perturbed device: the spec rebuilds the device, the state
    # holds its perturbed constants
    run.save_network(phyll_net, info={"system": cfg.system, "perturbed_at_epoch": cfg.perturb_at})
    return run.path
