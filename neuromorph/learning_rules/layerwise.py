"""Layer-local contrastive training: the loop shared by PhyLL and forward-forward.

Each layer ``k`` owns an optimiser and a goodness ``G_k``. For a batch, positive data carries
the true label and negative data a random wrong label (both embedded in the input). Layer by
layer, with ``inner_steps`` optimiser steps on that layer's parameters only::

    f_pos, f_neg = features_k(h_pos), features_k(h_neg)        # measured once per batch
    loss_k = L(G_k(out_k(f_pos)), G_k(out_k(f_neg)))            # minimised by layer k alone
    h_pos, h_neg = out_k(f_pos).detach(), out_k(f_neg).detach() # handed to layer k + 1

Nothing crosses a layer boundary backwards, so ``features_k`` may be a black-box measurement.
Inference embeds every candidate label and picks ``argmax_c sum_k G_k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from neuromorph.learning_rules.base import LearningRule, make_optimizer


class LayerwiseContrastive(LearningRule):
    """Base class; subclasses define ``features``, ``output``, ``goodness`` and ``loss``."""

    def __init__(
        self,
        layers: Sequence[nn.Module],
        embed: nn.Module,
        n_classes: int,
        lr: float = 5e-4,
        inner_steps: int = 10,
        optimizer: str = "adam",
        seed: int = 0,
    ) -> None:
        if inner_steps < 1:
            raise ValueError(f"inner_steps must be >= 1, got {inner_steps}")
        self.check_layers(layers)
        self.layers = list(layers)
        self.embed = embed
        self.n_classes = int(n_classes)
        self.inner_steps = int(inner_steps)
        self.optimizers = [
            make_optimizer(optimizer, self.trainable(layer), lr) for layer in self.layers
        ]
        self.generator = torch.Generator().manual_seed(seed)

    # -- what subclasses define -------------------------------------------------------------
    def trainable(self, layer: nn.Module) -> list[nn.Parameter]:
        return list(layer.parameters())

    def features(self, k: int, h: Tensor) -> Tensor:
        raise NotImplementedError

    def output(self, k: int, f: Tensor) -> Tensor:
        raise NotImplementedError

    def goodness(self, k: int, out: Tensor) -> Tensor:
        raise NotImplementedError

    def loss(self, g_pos: Tensor, g_neg: Tensor) -> Tensor:
        raise NotImplementedError

    # -- the shared loop ------------------------------------------------------------------
    def wrong_labels(self, y: Tensor) -> Tensor:
        """A uniformly random label different from ``y`` for every sample."""
        shift = torch.randint(1, self.n_classes, y.shape, generator=self.generator)
        return (y + shift) % self.n_classes

    def train_batch(self, x: Tensor, y: Tensor) -> list[float]:
        """One batch through all layers; returns each layer's mean loss over its inner steps."""
        h_pos, h_neg = self.embed(x, y), self.embed(x, self.wrong_labels(y))
        losses: list[float] = []
        for k, opt in enumerate(self.optimizers):
            with torch.no_grad():
                f_pos, f_neg = self.features(k, h_pos), self.features(k, h_neg)
            total = 0.0
            for _ in range(self.inner_steps):
                g_pos = self.goodness(k, self.output(k, f_pos))
                g_neg = self.goodness(k, self.output(k, f_neg))
                loss = self.loss(g_pos, g_neg)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            losses.append(total / self.inner_steps)
            with torch.no_grad():
                h_pos, h_neg = self.output(k, f_pos), self.output(k, f_neg)
        return losses

    @torch.no_grad()
    def goodness_per_label(self, x: Tensor) -> Tensor:
        """``[B, C]``: summed goodness over layers with label ``c`` embedded."""
        scores = []
        for c in range(self.n_classes):
            h = self.embed(x, c)
            total = torch.zeros(x.shape[0])
            for k in range(len(self.layers)):
                h = self.output(k, self.features(k, h))
                total = total + self.goodness(k, h)
            scores.append(total)
        return torch.stack(scores, dim=1)

    def predict(self, x: Tensor) -> Tensor:
        return self.goodness_per_label(x).argmax(dim=1)

    def accuracy(self, x: Tensor, y: Tensor) -> float:
        return float((self.predict(x) == y).float().mean())
