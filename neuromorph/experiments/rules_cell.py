"""One cell of the rules matrix: train one rule on one substrate for one seed, then drift it.

The cell measures what the matrix reports: test accuracy, the substrate queries spent while
training, the training wall time, the peak bytes of the rule's training state (rule buffers,
optimiser state, largest transient), the accuracy after a drift of the substrate and after
in-situ retraining with the same rule. A refusal (:class:`~neuromorph.access.AccessError`) is
a result, recorded with its text; any other exception is recorded as an error, never hidden.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import asdict, dataclass

import torch

from neuromorph.access import AccessError
from neuromorph.experiments.rules_data import MatrixTask, load_task
from neuromorph.experiments.rules_entries import Context, RuleEntry, all_entries, seeded
from neuromorph.learning_rules.base import LearningRule, make_optimizer
from neuromorph.models import module_spec
from neuromorph.networks.physical import LabelEmbedding
from neuromorph.networks.stack import StackNet
from neuromorph.substrates import build_network

MIB = 1024.0 * 1024.0


@dataclass(frozen=True)
class CellSettings:
    dataset: str = "digits"
    full: bool = False
    budget: float = 1.0  # multiplies every rule's epochs
    drift: float = 0.7
    retrain_fraction: float = 0.25
    data_dir: str = ""


@dataclass
class CellResult:
    rule: str
    substrate: str
    seed: int
    refused: str = ""
    error: str = ""
    test_accuracy: float = float("nan")
    train_accuracy: float = float("nan")
    queries: float = float("nan")
    seconds: float = float("nan")
    peak_mib: float = float("nan")
    drift_accuracy: float = float("nan")
    retrained_accuracy: float = float("nan")

    def to_dict(self) -> dict:
        """Plain data (what a run folder saves per cell and reads back on ``--resume``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> CellResult:
        """The result saved by :meth:`to_dict` (other keys, such as a network, are ignored)."""
        return cls(**{k: v for k, v in saved.items() if k in cls.__dataclass_fields__})


def cell_key(rule: str, substrate: str, seed: int) -> str:
    """The run folder's key of one cell (its results file ``seeds/KEY.pt``)."""
    return f"cell-{rule}.{substrate}.{int(seed)}"


def _epochs(entry: RuleEntry, substrate: str, s: CellSettings) -> int:
    return max(1, int(round(entry.epochs_on(substrate, s.full) * s.budget)))


def _train(rule: LearningRule, opt, task: MatrixTask, entry: RuleEntry, epochs: int,
           gen: torch.Generator) -> int:
    """Minibatch epochs; returns the peak training-state bytes seen."""
    n, bs, peak = task.x_train.shape[0], entry.batch_size, 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            loss = rule.train_batch(task.x_train[idx], task.y_train[idx], opt)
            if loss is not None and not math.isfinite(float(_scalar(loss))):
                raise FloatingPointError(f"{entry.name} diverged (loss {loss}); lower its lr")
            peak = max(peak, rule.training_state_bytes(opt))
    return peak


def _scalar(loss) -> float:
    return sum(loss) / len(loss) if isinstance(loss, list | tuple) else float(loss)


def _build(entry: RuleEntry, substrate: str, task: MatrixTask, seed: int,
           s: CellSettings) -> tuple[StackNet, LearningRule, object]:
    embed = LabelEmbedding(task.n_classes, float(task.x_train.abs().max()))
    net = build_network(substrate, task.n_in, task.n_classes, seed=seed, embedding=embed,
                        data_dir=s.data_dir)
    ctx = Context(task.n_classes, seed, embed, task.x_train, task.y_train)
    torch.manual_seed(seed)
    rule = entry.build(net, ctx)
    opt = None if entry.optimizer is None else make_optimizer(
        entry.optimizer, rule.parameters(), entry.lr)
    return net, rule, opt


#: key of a saved cell's trained network (``{"spec", "state"}``; ``None`` if it did not train)
CELL_NETWORK = "network"


def run_cell_saved(rule_name: str, substrate: str, seed: int, s: CellSettings) -> dict:
    """:func:`run_cell` as plain data (a job of :meth:`RunDir.results`, pickled to a pool), with
    the trained network under :data:`CELL_NETWORK`."""
    cell = run_cell(rule_name, substrate, seed, s, keep_network=True)
    return {**cell.to_dict(), CELL_NETWORK: getattr(cell, "model", None)}


def run_cell(rule_name: str, substrate: str, seed: int, s: CellSettings,
             keep_network: bool = False) -> CellResult:
    """Train and score one (rule, substrate, seed) cell (see the module docstring).

    ``keep_network``: also set ``result.model = {"spec": ..., "state": ...}``, the trained network
    (before the drift test) as plain data that :func:`neuromorph.models.build_module` rebuilds."""
    torch.set_num_threads(1)
    out = CellResult(rule_name, substrate, seed)
    entry = all_entries().get(rule_name)
    if entry is None:
        out.error = f"rule {rule_name!r} is not implemented in this version"
        return out
    task = load_task(s.dataset, seed)
    try:
        net, rule, opt = _build(entry, substrate, task, seed, s)
    except AccessError as exc:
        out.refused = str(exc)
        return out
    try:
        gen = seeded(seed + 17)
        t0 = time.perf_counter()
        peak = _train(rule, opt, task, entry, _epochs(entry, substrate, s), gen)
        out.seconds = time.perf_counter() - t0
        out.queries = float(net.physical_queries())
        out.peak_mib = peak / MIB
        out.test_accuracy = rule.accuracy(task.x_test, task.y_test)
        out.train_accuracy = rule.accuracy(task.x_train, task.y_train)
        if keep_network:
            out.model = {"spec": module_spec(net).to_dict(),
                         "state": {k: v.detach().clone() for k, v in net.state_dict().items()}}
        drift_gen = seeded(seed + 991)
        for stage in net.layers:
            stage.transform.perturb(s.drift, drift_gen)
        out.drift_accuracy = rule.accuracy(task.x_test, task.y_test)
        retrain = max(1, int(round(_epochs(entry, substrate, s) * s.retrain_fraction)))
        _train(rule, opt, task, entry, retrain, gen)
        out.retrained_accuracy = rule.accuracy(task.x_test, task.y_test)
    except AccessError as exc:
        out.refused = str(exc)
    except Exception as exc:  # recorded in the table and the report, never hidden
        out.error = f"{type(exc).__name__}: {exc}"
        out.error += " | " + traceback.format_exc(limit=-2).replace("\n", " ")[-400:]
    return out
