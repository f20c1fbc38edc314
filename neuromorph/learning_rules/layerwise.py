"""Layer-local contrastive training: the machinery shared by PhyLL and the forward-forward family.

Every layer ``k`` has a goodness ``G_k``. Positive data carries the true label and negative
data a random wrong label (both embedded in the input); layer ``k`` alone minimises
``loss_k = L(G_k(out_k(f_pos)), G_k(out_k(f_neg)))`` on features ``f = features_k(h)`` that
are *measured* (no gradient ever crosses a layer boundary, so ``features_k`` may be a black
box). Inference embeds every candidate label and picks ``argmax_c sum_k G_k``.

The optimiser lives outside the rule (:mod:`neuromorph.learning_rules.base`); one optimiser
steps :meth:`LayerwiseContrastive.parameters` (every layer). Two schedules per batch:

* ``inner_steps=None`` (forward-forward, Hinton 2022): one forward pass measures every layer's
  features, every layer's loss is summed (inputs detached) and the optimiser takes one step:
  the default ``zero_grad; compute_grads; step`` of :class:`LearningRule`.
* ``inner_steps=n`` (PhyLL, Momeni et al. 2023): layer by layer, ``n`` optimiser steps on that
  layer's loss, then the updated output is passed on and the next layer's features are
  measured. Each step is ``zero_grad(set_to_none=True); loss_k.backward(); step``: the other
  layers keep ``grad=None``, so the one optimiser leaves them (and their Adam moments and
  step counts) untouched, which is exactly one optimiser per layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from neuromorph.learning_rules.base import LearningRule


def embedding_of(network: nn.Module) -> tuple[nn.Module, int]:
    """``(embedding, number of labels it writes)`` of a network; a clear error if it has none."""
    embed = getattr(network, "embedding", None)
    if embed is None:
        raise ValueError(f"{type(network).__name__} has no label embedding, but layer-local "
                         "contrastive rules write labels into the input; build the network "
                         "with embedding=LabelEmbedding(n_classes, scale)")
    return embed, int(getattr(embed, "n_classes", None) or network.n_classes)


class LayerwiseContrastive(LearningRule):
    """Base class; subclasses define ``features``, ``output``, ``goodness`` and ``loss``.

    ``layers`` need ``trainable(layer)`` parameters (default: all of ``layer.parameters()``);
    ``embed(x, y)`` writes labels into the input; ``seed`` seeds the negative labels.
    ``batch_calls=True`` measures the positive and negative batch (and, at inference, all
    ``C`` labels) in ONE call per layer instead of one call each: the same features for a
    deterministic substrate, far fewer calls for a slow one (a noisy substrate draws its noise
    in a different order, so the numbers are not bit-identical to ``False``).
    """

    def __init__(
        self,
        layers: Sequence[nn.Module],
        embed: nn.Module,
        n_classes: int,
        inner_steps: int | None = None,
        seed: int = 0,
        batch_calls: bool = False,
    ) -> None:
        if inner_steps is not None and inner_steps < 1:
            raise ValueError(f"inner_steps must be >= 1 (or None for one step), got {inner_steps}")
        self.check_layers(layers)
        self.layers = list(layers)
        self.embed = embed
        self.n_classes = int(n_classes)
        self.inner_steps = None if inner_steps is None else int(inner_steps)
        self.generator = torch.Generator().manual_seed(seed)
        self.batch_calls = bool(batch_calls)
        self.layer_losses: list[float] = []

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

    @torch.no_grad()
    def measure(self, k: int, hs: Sequence[Tensor]) -> list[Tensor]:
        """``[features(k, h) for h in hs]``, in one call when ``batch_calls``."""
        if not self.batch_calls:
            return [self.features(k, h) for h in hs]
        return list(self.features(k, torch.cat(list(hs))).split([len(h) for h in hs]))

    def layer_goodness(self, g_pos: list[Tensor], g_neg: list[Tensor]) -> tuple[list, list]:
        """The goodness each layer's loss sees (one-step schedule); FF: its own."""
        return g_pos, g_neg

    # -- the optimiser contract ---------------------------------------------------------------
    def parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.layers for p in self.trainable(layer)]

    def wrong_labels(self, y: Tensor) -> Tensor:
        """A uniformly random label different from ``y`` for every sample."""
        shift = torch.randint(1, self.n_classes, y.shape, generator=self.generator)
        return (y + shift) % self.n_classes

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        """One forward pass; ``.grad`` of every layer from its own loss; returns ``sum_k loss_k``.

        Each layer's input is detached, so ``sum_k loss_k`` back-propagates into layer ``k``
        from ``loss_k`` alone (through :meth:`layer_goodness`).
        """
        h_pos, h_neg = self.embed(x, y), self.embed(x, self.wrong_labels(y))
        g_pos, g_neg = [], []
        for k in range(len(self.layers)):
            f_pos, f_neg = self.measure(k, (h_pos, h_neg))
            out_pos, out_neg = self.output(k, f_pos), self.output(k, f_neg)
            g_pos.append(self.goodness(k, out_pos))
            g_neg.append(self.goodness(k, out_neg))
            h_pos, h_neg = out_pos.detach(), out_neg.detach()
        seen_pos, seen_neg = self.layer_goodness(g_pos, g_neg)
        losses = [self.loss(p, n) for p, n in zip(seen_pos, seen_neg, strict=True)]
        total = torch.stack(losses).sum()
        total.backward()
        self.layer_losses = [float(v.detach()) for v in losses]
        return float(total.detach())

    def train_batch(
        self, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer
    ) -> float | list[float]:
        """One batch. ``inner_steps=None``: one step, returns the summed loss. Otherwise the
        layer-by-layer schedule (module docstring), returning each layer's mean loss."""
        if self.inner_steps is None:
            return super().train_batch(x, y, optimizer)
        if optimizer is None:
            raise ValueError(f"{self.name} writes .grad and needs an optimizer; build one with "
                             "make_optimizer('adam', rule.parameters(), lr)")
        h_pos, h_neg = self.embed(x, y), self.embed(x, self.wrong_labels(y))
        losses: list[float] = []
        for k in range(len(self.layers)):
            f_pos, f_neg = self.measure(k, (h_pos, h_neg))
            total = 0.0
            for _ in range(self.inner_steps):
                g_pos = self.goodness(k, self.output(k, f_pos))
                g_neg = self.goodness(k, self.output(k, f_neg))
                loss = self.loss(g_pos, g_neg)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
            losses.append(total / self.inner_steps)
            with torch.no_grad():
                h_pos, h_neg = self.output(k, f_pos), self.output(k, f_neg)
        self.layer_losses = losses
        return losses

    # -- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def goodness_per_label(self, x: Tensor) -> Tensor:
        """``[B, C]``: summed goodness over layers with label ``c`` embedded."""
        if self.batch_calls:  # all labels in one call per layer: rows [c * B + b]
            h = torch.cat([self.embed(x, c) for c in range(self.n_classes)])
            total = torch.zeros(h.shape[0])
            for k in range(len(self.layers)):
                h = self.output(k, self.features(k, h))
                total = total + self.goodness(k, h)
            return total.view(self.n_classes, x.shape[0]).T
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
