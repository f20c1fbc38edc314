"""The rules of the ``rules`` matrix: one :class:`RuleEntry` per rule name, by family.

Each family module (``gradient``, ``forward_forward``, ``zeroth_order``, ``feedback``,
``energy``) defines ``ENTRIES: list[RuleEntry]``; :data:`RULE_NAMES` fixes the order and the
names (kept stable across versions so results stay comparable).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.physical import LabelEmbedding
from neuromorph.networks.stack import StackNet

RULE_NAMES: tuple[str, ...] = (
    "bp", "pat", "phyll", "ff", "cff", "spsa", "fgrad", "es", "eggroll", "ga", "dfa", "drtp",
    "mono_forward", "cafo", "noprop", "dual_prop", "eqprop", "counter_current",
)
FAMILIES: tuple[str, ...] = ("gradient", "forward_forward", "zeroth_order", "feedback", "energy")


@dataclass
class Context:
    """What a rule builder may use besides the network.

    ``embed`` writes a label into the input's first ``n_classes`` columns (zero in the data);
    ``x_train``/``y_train`` are the training set (for data-dependent initialisation only).
    """

    n_classes: int
    seed: int
    embed: LabelEmbedding
    x_train: Tensor
    y_train: Tensor


@dataclass(frozen=True)
class RuleEntry:
    """How the matrix trains one rule on any substrate.

    ``build(net, ctx)`` returns the rule (raising :class:`~neuromorph.access.AccessError` when
    the substrate offers too little). ``optimizer=None`` marks an explicit-update rule.
    ``epochs`` passes over the training set in minibatches of ``batch_size``;
    ``epochs_full`` is the ``preset=full`` budget. ``slow_substrates`` maps a substrate
    whose measurements are expensive (an ODE per sample, an integer chip loop) to the epochs
    the default preset spends there instead (``preset=full`` always uses ``epochs_full``).
    """

    name: str
    build: Callable[[StackNet, Context], LearningRule]
    optimizer: str | None = "adam"
    lr: float = 1e-3
    epochs: int = 20
    batch_size: int = 64
    epochs_full: int | None = None
    note: str = ""
    slow_substrates: dict[str, int] = field(default_factory=dict)

    def epochs_on(self, substrate: str, full: bool) -> int:
        """The budget on ``substrate`` (the one place the per-substrate rule is decided)."""
        if full:
            return self.epochs_full or self.epochs
        return self.slow_substrates.get(substrate, self.epochs)


def all_entries() -> dict[str, RuleEntry]:
    """Every registered entry, by name (families that are not importable are skipped)."""
    out: dict[str, RuleEntry] = {}
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"{__name__}.{family}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{family}":
                raise
            continue
        for entry in module.ENTRIES:
            out[entry.name] = entry
    return out


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


__all__ = ["FAMILIES", "RULE_NAMES", "Context", "RuleEntry", "all_entries", "seeded"]
