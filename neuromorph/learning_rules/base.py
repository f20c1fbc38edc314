"""What every learning rule shares: its access need, its check, the optimiser contract.

The one contract (every rule, forward-only, local or differentiable)::

    optimizer = make_optimizer("adam", rule.parameters(), lr)   # built outside the rule
    loss = rule.train_batch(x, y, optimizer)                    # one batch

A rule computes an update direction and writes it into ``.grad`` of :meth:`parameters`
(:meth:`compute_grads`); the optimiser outside the rule applies it. The default
:meth:`train_batch` is ``zero_grad(set_to_none=True); compute_grads; step``. Rules whose nature
is several optimiser steps per batch (layer-local losses with inner steps) override
:meth:`train_batch` and step the *same* optimiser several times; rules whose nature is an
explicit in-place update (a genetic algorithm's selection) override it and document that the
optimiser is unused (``optimizer=None`` is then allowed).

Because ``zero_grad(set_to_none=True)`` leaves untouched parameters at ``grad=None`` and
``torch.optim`` skips those, one optimiser over all parameters equals one optimiser per layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import torch
from torch import Tensor, nn

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
    if not lr > 0 or lr == float("inf"):
        raise ValueError(f"learning rate must be a finite number > 0, got {lr}")
    return OPTIMIZERS[name](params, lr=lr)


def tensor_bytes(tensors: Iterable[Tensor]) -> int:
    """Bytes held by ``tensors`` (each counted once, by identity)."""
    seen: dict[int, int] = {}
    for t in tensors:
        if isinstance(t, Tensor):
            seen[id(t)] = t.numel() * t.element_size()
    return sum(seen.values())


def optimizer_state_bytes(optimizer: torch.optim.Optimizer | None) -> int:
    """Bytes of an optimiser's per-parameter state (Adam's moments, momentum buffers)."""
    if optimizer is None:
        return 0
    return tensor_bytes(v for s in optimizer.state.values() for v in s.values())


class LearningRule:
    """A rule declares the access it needs (``requires``) and checks its layers at build time.

    See the module docstring for the optimiser contract. Subclasses set ``requires`` and
    implement :meth:`parameters`, :meth:`compute_grads` (or :meth:`train_batch`) and
    :meth:`predict`. ``transient_bytes`` is the largest temporary the rule materialised for an
    update (a perturbation, a population); :meth:`training_state_bytes` adds it to what the rule
    and its optimiser hold.
    """

    requires: ClassVar[Access] = Access.FORWARD_ONLY
    transient_bytes: int = 0

    @property
    def name(self) -> str:
        return type(self).__name__

    def check_layers(self, layers: Iterable[nn.Module]) -> None:
        """Raise :class:`~neuromorph.access.AccessError` if a layer offers too little access."""
        for i, layer in enumerate(layers):
            offered = getattr(layer, "access", Access.DIFFERENTIABLE)
            require_access(self.name, self.requires, f"layer {i} ({type(layer).__name__})", offered)

    # -- the optimiser contract -------------------------------------------------------------
    def parameters(self) -> list[nn.Parameter]:
        """Every tensor the outside optimiser steps (network weights and the rule's own)."""
        raise NotImplementedError(f"{self.name} does not define parameters()")

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        """Write the update direction into ``.grad`` of :meth:`parameters`; return the loss."""
        raise NotImplementedError(f"{self.name} does not define compute_grads()")

    def train_batch(self, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer) -> float:
        """One batch: ``zero_grad``, :meth:`compute_grads`, ``step``; returns the loss."""
        if optimizer is None:
            raise ValueError(f"{self.name} writes .grad and needs an optimizer; build one with "
                             "make_optimizer('adam', rule.parameters(), lr)")
        optimizer.zero_grad(set_to_none=True)
        loss = self.compute_grads(x, y)
        optimizer.step()
        return loss

    # -- inference ---------------------------------------------------------------------------
    def predict(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{self.name} does not define predict()")

    @torch.no_grad()
    def accuracy(self, x: Tensor, y: Tensor) -> float:
        return float((self.predict(x) == y).float().mean())

    # -- memory ------------------------------------------------------------------------------
    def state_tensors(self) -> list[Tensor]:
        """Tensors the rule holds beyond the network (feedback matrices, probes, a population)."""
        return []

    def training_state_bytes(self, optimizer: torch.optim.Optimizer | None = None) -> int:
        """Rule state + optimiser state + the largest transient (bytes)."""
        return (tensor_bytes(self.state_tensors()) + optimizer_state_bytes(optimizer)
                + int(self.transient_bytes))
