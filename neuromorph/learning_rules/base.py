"""What every learning rule shares: its access need, its check, its optimiser factory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import torch
from torch import nn

from neuromorph.access import Access, require_access

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


def make_optimizer(name: str, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """The one place an optimiser name is dispatched."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    if lr <= 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    return OPTIMIZERS[name](params, lr=lr)


class LearningRule:
    """A rule declares the access it needs (``requires``) and checks its layers at build time.

    Rules produce parameter updates by writing ``.grad`` (so any ``torch.optim`` optimiser
    applies them) or by an explicit in-place update where that is the rule's nature.
    """

    requires: ClassVar[Access] = Access.FORWARD_ONLY

    @property
    def name(self) -> str:
        return type(self).__name__

    def check_layers(self, layers: Iterable[nn.Module]) -> None:
        """Raise :class:`~neuromorph.access.AccessError` if a layer offers too little access."""
        for i, layer in enumerate(layers):
            offered = getattr(layer, "access", Access.DIFFERENTIABLE)
            require_access(self.name, self.requires, f"layer {i} ({type(layer).__name__})", offered)
