"""Hinton's forward-forward algorithm (2022) for digital layers.

Each layer is ``out = relu(W f + b)`` on the length-normalised input ``f = h / ||h||`` (so a
layer cannot pass on its own goodness). Goodness is the mean squared activity, and each layer
pushes positive goodness above a threshold ``theta`` and negative goodness below it::

    G(out) = mean_j out_j^2,    loss = softplus(theta - G_pos) + softplus(G_neg - theta)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.learning_rules.layerwise import LayerwiseContrastive


class ForwardForward(LayerwiseContrastive):
    """Forward-forward over ``nn.Linear`` layers (needs forward-only access: layer-local)."""

    requires = Access.FORWARD_ONLY

    def __init__(
        self,
        layers: list[nn.Linear],
        embed: nn.Module,
        n_classes: int,
        threshold: float = 2.0,
        lr: float = 1e-3,
        inner_steps: int = 1,
        optimizer: str = "adam",
        seed: int = 0,
    ) -> None:
        super().__init__(layers, embed, n_classes, lr, inner_steps, optimizer, seed)
        self.threshold = float(threshold)

    def features(self, k: int, h: Tensor) -> Tensor:
        return h / (h.norm(dim=1, keepdim=True) + 1e-8)

    def output(self, k: int, f: Tensor) -> Tensor:
        return F.relu(self.layers[k](f))

    def goodness(self, k: int, out: Tensor) -> Tensor:
        return out.pow(2).mean(dim=1)

    def loss(self, g_pos: Tensor, g_neg: Tensor) -> Tensor:
        return (F.softplus(self.threshold - g_pos) + F.softplus(g_neg - self.threshold)).mean()
