"""hebbian-physical: SoftHebb trains the digital layer after a physical system, without labels.

Digits drive a physical system (default: the optical scattering layer, 74 channels: 10 empty
label slots + 64 pixels, as in ``phyll-digits``). A :class:`PhysicalLayer` ``u = W [P(x); x]``
has its digital map ``W`` (``hidden`` neurons) trained by SoftHebb (Moraitis et al. 2022)
on the *measured* features: unsupervised, local, forward-only with respect to the system (the
rule is bound to ``layer.linear``; binding it to the physical layer itself is an access
error). Features are standardised with training statistics (folded into ``W`` and the bias
afterwards, so ``layer(x) = u``; during training each standardised sample is also scaled to
unit norm); the hidden code is the "triangle" activation ``h = [u - mean_k u]_+`` and a
logistic-regression readout on ``h`` gives the accuracy, fitted with all training labels and
with only ``labels_per_class`` labels per class (mean over ``label_draws`` draws), where an
unsupervised representation should help most.

Compared on the same system (same construction and seed) through the PhyLL machinery of
:mod:`neuromorph.experiments.phyll_common`: PhyLL (supervised, model-free), the linear readout
of ``P(x)`` and of the raw pixels, and the same pipeline with an untrained random ``W`` (does
the Hebbian learning matter?). Default: under a minute on 2 cores (PhyLL dominates);
larger: ``--set hidden=1000 epochs=40 phyll_epochs=200``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.data.digits import sklearn_digits  # noqa: E402
from neuromorph.data.vowels import split_data  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.phyll_common import METHODS, MethodSettings, Task  # noqa: E402
from neuromorph.experiments.phyll_config import check_system  # noqa: E402
from neuromorph.experiments.plots import learning_curves  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.hardware_models import make_system  # noqa: E402
from neuromorph.hardware_models.base import PhysicalSystem  # noqa: E402
from neuromorph.learning_rules.baselines import linear_readout_accuracy  # noqa: E402
from neuromorph.learning_rules.plasticity import SoftHebb  # noqa: E402
from neuromorph.networks.physical import PhysicalLayer  # noqa: E402

SUMMARY = "SoftHebb trains the digital layer after a physical system; compared with PhyLL"
BASELINES = ("phyll", "linear-readout", "linear-raw")


@dataclass
class Config(ExperimentConfig):
    system: str = "optical"
    width: int = 74  # 10 label slots (empty here) + 64 pixels
    system_seed: int = 0
    test_fraction: float = 0.2
    hidden: int = 400
    epochs: int = 20
    batch: int = 32
    lr: float = 0.5  # per mini-batch (the batch mean); decays linearly to 0
    temperature: float = 0.05
    eval_every: int = 5  # epochs
    labels_per_class: int = 5  # the few-label readout
    label_draws: int = 5
    phyll_epochs: int = 100
    phyll_lr: float = 2e-3
    phyll_layers: int = 2
    inner_steps: int = 10
    alpha: float = 4.0

    def __post_init__(self) -> None:
        check_system(self, min_width=74)
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")
        self.check(self.hidden >= 2 and self.batch >= 1, "need hidden >= 2 and batch >= 1")
        self.check(self.epochs >= 1 and self.phyll_epochs >= 1, "epochs must be >= 1")
        self.check(self.lr > 0 and self.temperature > 0 and self.phyll_lr > 0,
                   "lr, temperature and phyll_lr must be > 0")
        self.check(self.eval_every >= 1 and self.phyll_layers >= 1 and self.inner_steps >= 1,
                   "eval_every, phyll_layers and inner_steps must be >= 1")
        self.check(self.labels_per_class >= 1 and self.label_draws >= 1,
                   "labels_per_class and label_draws must be >= 1")


def triangle(u: Tensor) -> Tensor:
    """``[u - mean_k u]_+``: the hidden code read out linearly."""
    return torch.relu(u - u.mean(1, keepdim=True))


def few_label_accuracy(h_train: Tensor, y_train: Tensor, h_test: Tensor, y_test: Tensor,
                       per_class: int, draws: int, seed: int) -> float:
    """Mean test accuracy of readouts fitted on ``per_class`` labelled samples per class
    (``draws`` seeded random subsets): how much the representation helps with few labels."""
    gen = torch.Generator().manual_seed(seed + 99)
    accs = []
    for _ in range(draws):
        idx = torch.cat([torch.nonzero(y_train == k).flatten()[
            torch.randperm(int((y_train == k).sum()), generator=gen)[:per_class]]
            for k in range(int(y_train.max()) + 1)])
        accs.append(linear_readout_accuracy(h_train[idx], y_train[idx], h_test, y_test, seed))
    return float(sum(accs) / len(accs))


def readout(layer: PhysicalLayer, task: Task, cfg: Config) -> tuple[float, float]:
    """Test accuracy of logistic regression on the triangle code of the layer's output,
    with all training labels and with ``labels_per_class`` labels."""
    with torch.no_grad():
        h_train, h_test = (triangle(layer(x)) for x in (task.x_train, task.x_test))
    full = linear_readout_accuracy(h_train, task.y_train, h_test, task.y_test, cfg.seed)
    few = few_label_accuracy(h_train, task.y_train, h_test, task.y_test, cfg.labels_per_class,
                             cfg.label_draws, cfg.seed)
    return full, few


def fold_standardization(layer: PhysicalLayer, mu: Tensor, sd: Tensor) -> None:
    """``W z`` with ``z = (f - mu) / sd`` becomes ``W' f + b`` inside ``layer.linear``."""
    with torch.no_grad():
        w = layer.linear.weight / sd
        layer.linear.weight.copy_(w)
        layer.linear.bias.copy_(-(w * mu).sum(1))


def softhebb(factory: Callable[[], PhysicalSystem], task: Task, cfg: Config, train: bool,
             tick: Callable[[], None]) -> dict:
    """Train (or not: the random-feature control) a SoftHebb layer after the system."""
    system = factory()
    torch.manual_seed(cfg.seed)
    layer = PhysicalLayer(system, cfg.hidden)
    rule = SoftHebb(lr=cfg.lr, temperature=cfg.temperature)
    synapses = rule.bind(layer.linear)  # the digital map; rule.bind(layer) is an AccessError
    with torch.no_grad():
        layer.linear.weight.copy_(torch.nn.functional.normalize(layer.linear.weight, dim=1))
        layer.linear.bias.zero_()
        f = layer.features(task.x_train)
    mu, sd = f.mean(0), f.std(0)
    constant = sd < 1e-6  # e.g. the empty label slots: nothing to learn, keep W = 0 there
    sd = torch.where(constant, torch.ones_like(sd), sd)
    with torch.no_grad():
        layer.linear.weight[:, constant] = 0.0
    gen = torch.Generator().manual_seed(cfg.seed)
    n, curve = len(task.x_train), []
    steps, step = cfg.epochs * ((n + cfg.batch - 1) // cfg.batch), 0
    for epoch in range(1, cfg.epochs + 1):
        for idx in torch.randperm(n, generator=gen).split(cfg.batch):
            if train:
                with torch.no_grad():
                    z = (layer.features(task.x_train[idx]) - mu) / sd  # measured in situ
                    z = torch.nn.functional.normalize(z, dim=1)
                rule.lr = cfg.lr * (1 - step / steps)
                synapses.observe(z, apply="inplace")
            step += 1
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            probe = PhysicalLayer(system, cfg.hidden)
            probe.load_state_dict(layer.state_dict())
            fold_standardization(probe, mu, sd)
            curve.append((epoch, *readout(probe, task, cfg)))
        tick()
    fold_standardization(layer, mu, sd)
    with torch.no_grad():
        z = torch.nn.functional.normalize((f - mu) / sd, dim=1)
        winner = rule.response(z, layer.linear.weight * sd).argmax(1)
        wins = winner.unique()
        order = torch.bincount(winner, minlength=cfg.hidden).argsort(descending=True)
        norms = (layer.linear.weight * sd).norm(dim=1)
    return {"test_accuracy": curve[-1][1], "few_label_accuracy": curve[-1][2],
            "curve": [(e, a) for e, a, _ in curve], "few_curve": [(e, b) for e, _, b in curve],
            "layer": layer, "learned_w": (layer.linear.weight * sd).detach()[order],
            "queries": float(system.queries), "winners": float(len(wins)),
            "weight_norm_mean": float(norms.mean())}


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "hebbian-physical", cfg)
    data = sklearn_digits()
    split = split_data(data, cfg.test_fraction, cfg.seed)
    task = Task.from_arrays(split.x_train, split.y_train, split.x_test, split.y_test, 10,
                            cfg.width)

    def factory() -> PhysicalSystem:
        system = make_system(cfg.system, cfg.width, cfg.width, seed=cfg.system_seed)
        system.reseed(cfg.seed)
        return system

    bar = tqdm(total=2 * cfg.epochs + cfg.phyll_epochs + 2 * cfg.phyll_epochs,
               desc="hebbian-physical", disable=not progress)
    tick = bar.update
    results = {"softhebb": softhebb(factory, task, cfg, True, tick),
               "random-features": softhebb(factory, task, cfg, False, tick)}
    settings = MethodSettings(layers=cfg.phyll_layers, epochs=cfg.phyll_epochs,
                              inner_steps=cfg.inner_steps, lr=cfg.phyll_lr, alpha=cfg.alpha,
                              eval_every=max(1, cfg.phyll_epochs // 10))
    baselines = {m: METHODS[m](factory, task, settings, cfg.seed, tick) for m in BASELINES}
    bar.close()
    with torch.no_grad():  # few-label readouts of the fixed features, for comparison
        system = factory()
        few = {"linear-readout": (system(task.x_train), system(task.x_test)),
               "linear-raw": (task.x_train, task.x_test)}
    few_acc = {name: few_label_accuracy(a, task.y_train, b, task.y_test, cfg.labels_per_class,
                                        cfg.label_draws, cfg.seed) for name, (a, b) in few.items()}
    metrics: dict[str, float] = {}
    for name, r in results.items():
        key = name.replace("-", "_")
        metrics[f"{key}_test_accuracy"] = r["test_accuracy"]
        metrics[f"{key}_few_label_accuracy"] = r["few_label_accuracy"]
        metrics[f"{key}_physical_queries"] = r["queries"]
    metrics["softhebb_winning_neurons"] = results["softhebb"]["winners"]
    metrics["softhebb_weight_norm_mean"] = results["softhebb"]["weight_norm_mean"]
    for name, r in baselines.items():
        key = name.replace("-", "_")
        metrics[f"{key}_test_accuracy"] = r.test_accuracy
        metrics[f"{key}_physical_queries"] = float(r.queries)
        if name in few_acc:
            metrics[f"{key}_few_label_accuracy"] = few_acc[name]
    metrics["test_accuracy"] = metrics["softhebb_test_accuracy"]
    notes = {"softhebb": "SoftHebb on [P(x); x], unsupervised + linear readout",
             "random-features": "same pipeline, untrained random W",
             "phyll": "PhyLL (supervised, model-free), same system",
             "linear-readout": "logistic regression on P(x)",
             "linear-raw": "logistic regression on the raw pixels"}
    lines = [f"hebbian-physical: digits through {cfg.system} ({cfg.width} channels), "
             f"{cfg.hidden} SoftHebb neurons",
             f"{'method':<18}{'test acc':>10}{f'{cfg.labels_per_class} labels/class':>18}"
             f"{'queries':>10}  note"]
    for name in notes:
        key = name.replace("-", "_")
        few_cell = metrics.get(f"{key}_few_label_accuracy")
        few_text = f"{100 * few_cell:>17.1f}%" if few_cell is not None else f"{'-':>18}"
        lines.append(f"{name:<18}{100 * metrics[key + '_test_accuracy']:>9.1f}%{few_text}"
                     f"{metrics[key + '_physical_queries']:>10.3g}  {notes[name]}")
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    curves = {"softhebb + readout (epochs of SoftHebb)": results["softhebb"]["curve"],
              f"softhebb + readout, {cfg.labels_per_class} labels/class":
                  results["softhebb"]["few_curve"],
              "phyll (epochs of PhyLL)": baselines["phyll"].curve}
    fig = learning_curves(curves, xlabel="epoch", title=f"digits through {cfg.system}")
    for name in ("linear-readout", "linear-raw"):
        fig.axes[0].axhline(100 * baselines[name].test_accuracy, ls="--", lw=1, label=name,
                            color="C3" if name == "linear-readout" else "C4")
    fig.axes[0].legend(fontsize=8)
    run.save_figure(fig, "accuracy")
    layer = results["softhebb"]["layer"]
    w = results["softhebb"]["learned_w"][:, cfg.width + 10 :]  # on the standardised pixels
    k = min(cfg.hidden, 40)
    fig, axes = plt.subplots(4, 10, figsize=(10, 4.2))
    for j, ax in enumerate(axes.flat):
        if j < k:
            ax.imshow(w[j].reshape(8, 8).numpy(), cmap="RdBu_r")
        ax.axis("off")
    fig.suptitle("SoftHebb weights on the standardised pixels (the 40 most frequent winners)")
    run.save_figure(fig, "softhebb_weights")
    run.save_network(layer, info={"rule": "softhebb", "readout": "triangle code"})  # system+W
    run.save_network(baselines["phyll"].model, info={"rule": "phyll"}, name="phyll")
    return run.path
