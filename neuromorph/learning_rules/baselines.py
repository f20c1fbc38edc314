"""Baselines beside PhyLL: backprop in silico, physics-aware training, linear readouts.

All supervised baselines train the same physical layers plus a digital linear head
``logits = H h_L`` with cross-entropy, differing only in what stands in for ``P`` while
training (one table, :data:`PHYSICS_MODES`):

=============  ==========================================  ============================
mode           forward value / gradient of ``P``           deployed on
=============  ==========================================  ============================
``"twin"``     twin / twin (backprop through an ideal       the physical system
               differentiable model, "in silico")
``"pat"``      physical measurement / twin (Wright et al.  the physical system
               2022); the twin may be deliberately wrong
``"direct"``   the layer itself (only if it is              the layer itself
               differentiable: physics off, or a digital
               layer); a black box raises AccessError
=============  ==========================================  ============================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access, require_access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.physical import PhysicalLayer, Physics, pat_physics


class PhysicalClassifier(nn.Module):
    """Physical layers followed by a digital linear head (for the supervised baselines)."""

    def __init__(self, layers: Sequence[PhysicalLayer], n_classes: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.head = nn.Linear(layers[-1].n_out, n_classes)

    def forward(self, x: Tensor, physics: Sequence[Physics | None] | None = None) -> Tensor:
        h = x
        for k, layer in enumerate(self.layers):
            h = layer(h, physics[k] if physics is not None else None)
        return self.head(h)

    def trainable_parameters(self) -> list[nn.Parameter]:
        params = [p for layer in self.layers for p in layer.trainable_parameters()]
        return params + list(self.head.parameters())


def _direct(layer: PhysicalLayer, twin: nn.Module | None) -> Physics | None:
    require_access("backprop (direct)", Access.DIFFERENTIABLE, type(layer).__name__, layer.access)
    return None


def _twin(layer: PhysicalLayer, twin: nn.Module | None) -> Physics | None:
    return twin if layer.physics_on else None


def _pat(layer: PhysicalLayer, twin: nn.Module | None) -> Physics | None:
    return pat_physics(layer.system, twin) if layer.physics_on else None


PHYSICS_MODES: dict[str, Callable[[PhysicalLayer, nn.Module | None], Physics | None]] = {
    "direct": _direct,
    "twin": _twin,
    "pat": _pat,
}


@dataclass
class SupervisedHistory:
    loss: list[float] = field(default_factory=list)
    test_accuracy: list[tuple[int, float]] = field(default_factory=list)


class SupervisedBaseline(LearningRule):
    """Cross-entropy training of a :class:`PhysicalClassifier` in one of :data:`PHYSICS_MODES`.

    ``"twin"`` and ``"pat"`` need a digital twin of every physical system (``twin_mismatch``
    perturbs it deliberately); systems without one (a bare callable) raise AccessError.
    The optimiser is built outside:
    ``opt = make_optimizer("adam", rule.parameters(), lr); rule.train_batch(x, y, opt)``.
    """

    requires = Access.DIFFERENTIABLE

    def __init__(
        self,
        classifier: PhysicalClassifier,
        mode: str = "pat",
        twin_mismatch: float = 0.0,
        seed: int = 0,
    ) -> None:
        if mode not in PHYSICS_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {sorted(PHYSICS_MODES)}")
        self.classifier, self.mode = classifier, mode
        twins: list[nn.Module | None] = []
        for k, layer in enumerate(classifier.layers):
            needs_twin = mode != "direct" and layer.physics_on
            twins.append(layer.system.twin(twin_mismatch, seed + k) if needs_twin else None)
        self.twins = twins
        self.train_physics = [
            PHYSICS_MODES[mode](layer, twin)
            for layer, twin in zip(classifier.layers, twins, strict=True)
        ]

    def parameters(self) -> list[nn.Parameter]:
        return self.classifier.trainable_parameters()

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        """Cross-entropy through the training physics; ``.grad`` of every digital weight."""
        loss = F.cross_entropy(self.classifier(x, self.train_physics), y)
        loss.backward()
        return float(loss.detach())

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Deployed: every layer measures its real physical system."""
        return self.classifier(x).argmax(dim=1)


def linear_readout_accuracy(
    f_train: Tensor, y_train: Tensor, f_test: Tensor, y_test: Tensor, seed: int = 0
) -> float:
    """Multinomial logistic regression on fixed features (standardised); test accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, random_state=seed))
    model.fit(np.asarray(f_train), np.asarray(y_train))
    return float(model.score(np.asarray(f_test), np.asarray(y_test)))
