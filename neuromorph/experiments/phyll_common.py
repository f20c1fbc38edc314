"""Shared machinery of the PhyLL experiments: build networks, run PhyLL and its baselines.

One table, :data:`METHODS`, maps a method name to the function that trains and scores it.
Every method sees the same split, the same physical system (rebuilt from the same seed, so
query counts are per method) and reports test accuracy and the physical queries it spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from neuromorph.experiments.plots import seed_mean_text
from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.baselines import (
    PhysicalClassifier,
    SupervisedBaseline,
    linear_readout_accuracy,
)
from neuromorph.learning_rules.phyll import PhyLL
from neuromorph.networks.physical import (
    LabelEmbedding,
    PhysicalLayer,
    PhysicalNetwork,
    reserve_label_slots,
)

SystemFactory = Callable[[], PhysicalSystem]


@dataclass
class Task:
    """Train/test tensors with reserved label slots, ready to drive the first system."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    n_classes: int

    @classmethod
    def from_arrays(
        cls, xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray,
        n_classes: int, width: int,
    ) -> Task:
        def prep(x: np.ndarray) -> Tensor:
            return reserve_label_slots(torch.as_tensor(x, dtype=torch.float32), n_classes, width)

        return cls(prep(xtr), torch.as_tensor(ytr), prep(xte), torch.as_tensor(yte), n_classes)


@dataclass
class MethodSettings:
    """Training settings of every method; the PhyLL experiments' config fields default to these
    (one place for the defaults)."""

    layers: int = 2
    epochs: int = 200
    inner_steps: int = 10
    lr: float = 5e-4
    alpha: float = 4.0
    supervised_steps: int = 300
    supervised_lr: float = 3e-3
    supervised_batch: int = 128  # 0 = full batch
    twin_mismatch: float = 0.3
    eval_every: int = 10


@dataclass
class MethodResult:
    test_accuracy: float
    train_accuracy: float
    queries: int
    curve: list[tuple[int, float]] = field(default_factory=list)
    losses: list[list[float]] = field(default_factory=list)
    predictions: Tensor | None = None
    model: object | None = None


def _network(system: PhysicalSystem, task: Task, s: MethodSettings, physics: bool, seed: int):
    torch.manual_seed(seed)
    width = system.n_in
    layers = [PhysicalLayer(system, width, physics=physics) for _ in range(s.layers)]
    scale = float(task.x_train.abs().max())
    return PhysicalNetwork(layers, LabelEmbedding(task.n_classes, scale))


def _phyll(
    factory: SystemFactory, task: Task, s: MethodSettings, seed: int, physics: bool,
    tick: Callable[[], None],
) -> MethodResult:
    system = factory()
    net = _network(system, task, s, physics, seed)
    rule = PhyLL(net, alpha=s.alpha, inner_steps=s.inner_steps, seed=seed)
    opt = make_optimizer("adam", rule.parameters(), s.lr)
    curve, losses = [], []
    for epoch in range(1, s.epochs + 1):
        losses.append(rule.train_batch(task.x_train, task.y_train, opt))
        if epoch % s.eval_every == 0 or epoch == s.epochs:
            curve.append((100 * epoch / s.epochs, rule.accuracy(task.x_test, task.y_test)))
        tick()
    pred = rule.predict(task.x_test)
    return MethodResult(
        test_accuracy=float((pred == task.y_test).float().mean()),
        train_accuracy=rule.accuracy(task.x_train, task.y_train),
        queries=system.queries,
        curve=curve,
        losses=losses,
        predictions=pred,
        model=net,
    )


def _supervised(
    factory: SystemFactory, task: Task, s: MethodSettings, seed: int, mode: str,
    mismatch: float, tick: Callable[[], None],
) -> MethodResult:
    """``supervised_steps`` Adam steps on minibatches of ``supervised_batch`` (0 = all)."""
    system = factory()
    torch.manual_seed(seed)
    layers = [PhysicalLayer(system, system.n_in) for _ in range(s.layers)]
    clf = PhysicalClassifier(layers, task.n_classes)
    rule = SupervisedBaseline(clf, mode, mismatch, seed=seed)
    opt = make_optimizer("adam", rule.parameters(), s.supervised_lr)
    n = task.x_train.shape[0]
    batch = s.supervised_batch if 0 < s.supervised_batch < n else n
    gen = torch.Generator().manual_seed(seed)
    order, pos, curve, ticked = torch.randperm(n, generator=gen), 0, [], 0
    n_evals = max(1, s.epochs // s.eval_every)
    for step in range(1, s.supervised_steps + 1):
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos : pos + batch]
        pos += batch
        rule.train_batch(task.x_train[idx], task.y_train[idx], opt)
        if step * n_evals // s.supervised_steps > (step - 1) * n_evals // s.supervised_steps:
            progress = 100 * step / s.supervised_steps
            curve.append((progress, rule.accuracy(task.x_test, task.y_test)))
        while ticked < step * s.epochs // s.supervised_steps:  # progress bar in PhyLL epochs
            tick()
            ticked += 1
    pred = rule.predict(task.x_test)
    return MethodResult(
        test_accuracy=float((pred == task.y_test).float().mean()),
        train_accuracy=rule.accuracy(task.x_train, task.y_train),
        queries=system.queries,
        curve=curve,
        predictions=pred,
        model=clf,
    )


def _linear_readout(
    factory: SystemFactory, task: Task, s: MethodSettings, seed: int, physics: bool,
    tick: Callable[[], None],
) -> MethodResult:
    system = factory()
    with torch.no_grad():
        ftr = system(task.x_train) if physics else task.x_train
        fte = system(task.x_test) if physics else task.x_test
    acc = linear_readout_accuracy(ftr, task.y_train, fte, task.y_test, seed)
    train_acc = linear_readout_accuracy(ftr, task.y_train, ftr, task.y_train, seed)
    for _ in range(s.epochs):
        tick()
    return MethodResult(acc, train_acc, system.queries)


METHODS: dict[str, Callable[..., MethodResult]] = {
    "phyll": lambda f, t, s, seed, tick: _phyll(f, t, s, seed, True, tick),
    "physics-off": lambda f, t, s, seed, tick: _phyll(f, t, s, seed, False, tick),
    "linear-readout": lambda f, t, s, seed, tick: _linear_readout(f, t, s, seed, True, tick),
    "linear-raw": lambda f, t, s, seed, tick: _linear_readout(f, t, s, seed, False, tick),
    "backprop": lambda f, t, s, seed, tick: _supervised(f, t, s, seed, "twin", 0.0, tick),
    "pat": lambda f, t, s, seed, tick: _supervised(f, t, s, seed, "pat", 0.0, tick),
    "pat-mismatched": lambda f, t, s, seed, tick: _supervised(
        f, t, s, seed, "pat", s.twin_mismatch, tick
    ),
}

METHOD_NOTES: dict[str, str] = {
    "phyll": "PhyLL, model-free, physical forward only",
    "physics-off": "same network and rule, physical system switched off",
    "linear-readout": "logistic regression on the physical features P(x)",
    "linear-raw": "logistic regression on the raw inputs",
    "backprop": "backprop through an exact twin (in silico), deployed on the system",
    "pat": "physics-aware training, exact twin",
    "pat-mismatched": "physics-aware training, deliberately mismatched twin",
}


def summarize(results: dict[str, list[MethodResult]]) -> dict[str, float]:
    """Flat metrics: ``<method>_test_accuracy_mean/std``, ``..._queries`` (mean)."""
    out: dict[str, float] = {}
    for method, runs in results.items():
        acc = np.array([r.test_accuracy for r in runs])
        key = method.replace("-", "_")
        out[f"{key}_test_accuracy_mean"] = float(acc.mean())
        out[f"{key}_test_accuracy_std"] = float(acc.std())
        out[f"{key}_train_accuracy_mean"] = float(np.mean([r.train_accuracy for r in runs]))
        out[f"{key}_physical_queries"] = float(np.mean([r.queries for r in runs]))
    return out


def table(results: dict[str, list[MethodResult]]) -> str:
    """A plain-text table: method, test accuracy mean +- std over seeds (the value alone for one
    seed), queries, note."""
    lines = [f"{'method':<16}{'test accuracy':>27}{'queries/run':>14}  note"]
    for method, runs in results.items():
        cell = seed_mean_text([100 * r.test_accuracy for r in runs])
        q = np.mean([r.queries for r in runs])
        lines.append(f"{method:<16}{cell:>27}{q:>14.3g}  {METHOD_NOTES.get(method, '')}")
    return "\n".join(lines)
