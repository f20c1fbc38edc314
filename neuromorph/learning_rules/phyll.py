"""Physical local learning (PhyLL): model-free forward-forward for physical networks.

Momeni, Rahmani, Mallejac, del Hougne & Fleury, *Backpropagation-free training of deep
physical neural networks*, Science 382 (2023). Per layer ``k``: a fixed physical system ``P``
then a trainable digital map ``W`` (on ``[P(h); h]``); goodness is the cosine similarity between
the magnitude of the layer output and a fixed random unit vector ``p_k``::

    G_k(h) = cos(|W f(h)|, p_k),      loss_k = softplus(-alpha * (G_pos - G_neg))

``P`` is only ever *measured* (forward-only access): no gradient, model or twin is needed.
Layer by layer, ``inner_steps`` steps of the one outside optimiser per batch
(:class:`~neuromorph.learning_rules.layerwise.LayerwiseContrastive`)::

    rule = PhyLL(net, alpha=4.0, inner_steps=10, seed=0)
    opt = make_optimizer("adam", rule.parameters(), lr=5e-4)
    layer_losses = rule.train_batch(x, y, opt)

``batch_calls=True`` measures positive and negative data (and all labels at inference) in one
call per layer (see :class:`~neuromorph.learning_rules.layerwise.LayerwiseContrastive`).
``net`` is a :class:`~neuromorph.networks.physical.PhysicalNetwork` or any network with the
same duck type (``.layers`` with ``features``/``linear``/``trainable_parameters``/``n_out``,
``.embedding``, ``.n_classes``), e.g. a :class:`~neuromorph.networks.stack.StackNet`.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.learning_rules.layerwise import LayerwiseContrastive, embedding_of


class PhyLL(LayerwiseContrastive):
    """Train a physical network with PhyLL (needs forward-only access)."""

    requires = Access.FORWARD_ONLY

    def __init__(
        self,
        network: nn.Module,
        alpha: float = 4.0,
        inner_steps: int = 10,
        seed: int = 0,
        batch_calls: bool = False,
    ) -> None:
        if not (isinstance(alpha, Real) and math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a finite number > 0 (the goodness gap's scale, "
                             f"e.g. 4.0), got {alpha}")
        if isinstance(inner_steps, bool) or not isinstance(inner_steps, Integral) or \
                inner_steps < 1:
            raise ValueError(f"inner_steps must be an integer >= 1 (optimiser steps per layer "
                             f"and batch, e.g. 10), got {inner_steps!r}")
        super().__init__(network.layers, *embedding_of(network), inner_steps, seed, batch_calls)
        self.network = network
        self.alpha = float(alpha)
        gen = torch.Generator().manual_seed(seed + 4242)
        probes = [torch.randn(layer.n_out, generator=gen) for layer in network.layers]
        self.probes = [p / p.norm() for p in probes]

    def trainable(self, layer: nn.Module) -> list[nn.Parameter]:
        return layer.trainable_parameters()

    def features(self, k: int, h: Tensor) -> Tensor:
        return self.layers[k].features(h)

    def output(self, k: int, f: Tensor) -> Tensor:
        return self.layers[k].linear(f)

    def goodness(self, k: int, out: Tensor) -> Tensor:
        return F.cosine_similarity(out.abs(), self.probes[k].expand_as(out), dim=1, eps=1e-6)

    def loss(self, g_pos: Tensor, g_neg: Tensor) -> Tensor:
        return F.softplus(-self.alpha * (g_pos - g_neg)).mean()

    def state_tensors(self) -> list[Tensor]:
        return list(self.probes)
