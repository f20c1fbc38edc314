"""Backprop and physics-aware training (PAT) on a :class:`~neuromorph.networks.stack.StackNet`.

Both minimise the cross-entropy of ``logits = W_L F_L(... W_1 F_1(x))`` by autograd; they
differ in what is differentiated in place of each transform ``F_k``:

=========  ===========================================  ===============================
rule        forward value / gradient of ``F_k``           access needed of ``F_k``
=========  ===========================================  ===============================
``bp``      ``F_k`` / ``F_k`` (autograd, a surrogate     ``DIFFERENTIABLE``
            for spikes)
``pat``     ``F_k`` measured / its twin ``T_k``:         ``FORWARD_ONLY`` + a twin
            ``y = T_k(z) + sg(F_k(z) - T_k(z))``
            (Wright et al., Nature 601, 2022)
=========  ===========================================  ===============================

A transform without the access (or without a twin) makes the constructor raise
:class:`~neuromorph.access.AccessError` naming the fix, never a silent fallback.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access, require_access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.stack import Physics, StackNet


class Backprop(LearningRule):
    """End-to-end cross-entropy through every transform (needs differentiable access)."""

    requires = Access.DIFFERENTIABLE

    def __init__(self, net: StackNet) -> None:
        for k, stage in enumerate(net.layers):
            require_access(self.name, self.requires,
                           f"stage {k} ({type(stage.transform).__name__})", stage.access)
        self.net = net

    def physics(self) -> list[Physics | None] | None:
        return None

    def parameters(self) -> list[nn.Parameter]:
        return self.net.trainable_parameters()

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        loss = F.cross_entropy(self.net(x, self.physics()), y)
        loss.backward()
        return float(loss.detach())

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Deployed: every transform is measured (never the twin)."""
        return self.net(x).argmax(dim=1)


class PhysicsAware(Backprop):
    """PAT: the measured value of every transform, the gradient of its twin."""

    requires = Access.FORWARD_ONLY

    def __init__(self, net: StackNet) -> None:
        self.net = net
        self.twins = [None if s.access >= Access.DIFFERENTIABLE else s.transform.twin()
                      for s in net.layers]
        self._physics = [None if twin is None else _pat(stage.transform, twin)
                         for stage, twin in zip(net.layers, self.twins, strict=True)]

    def physics(self) -> list[Physics | None]:
        return self._physics


def _pat(system: Physics, twin: Physics) -> Physics:
    """``y = twin(z) + stopgrad(system(z) - twin(z))``."""

    def estimate(z: Tensor) -> Tensor:
        y_twin = twin(z)
        return y_twin + (system(z.detach()) - y_twin).detach()

    return estimate
