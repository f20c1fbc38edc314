"""Hinton's forward-forward algorithm (2022) on a stack of layers.

Layer ``k`` reads the *measured* features of its stage, ``f_k = features_k(h_{k-1})`` (the
input, a substrate's output), normalises their length so a layer cannot pass its goodness on,
and computes ``out_k = relu(W_k f_k / rms(f_k))`` (``rms(f) = ||f|| / sqrt(n)``: length
``sqrt(n)``, so a default-initialised ``W`` starts with O(1) activity). Goodness is the mean
squared activity; every layer pushes positive goodness above a threshold ``theta`` and
negative goodness below it::

    G_k = mean_j out_kj^2,     loss_k = softplus(theta - G_k,pos) + softplus(G_k,neg - theta)

All layers learn at once from one forward pass (each input detached): one step of the outside
optimiser per batch (Hinton, *The forward-forward algorithm: some preliminary
investigations*, arXiv:2212.13345). Nothing is differentiated through a substrate, so FF
needs only forward access. Inference: ``argmax_c sum_k G_k`` with label ``c`` embedded.
Positive and negative data (and all labels at inference) are measured in one call per layer
(``batch_calls=True``).

``network`` is any stack with ``.layers`` (each with ``features(h)``, ``linear`` and
``trainable_parameters()``), ``.embedding`` and ``.n_classes``: a
:class:`~neuromorph.networks.stack.StackNet` or a
:class:`~neuromorph.networks.physical.PhysicalNetwork`.
"""

from __future__ import annotations

import math
from numbers import Real

import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.learning_rules.layerwise import LayerwiseContrastive, embedding_of


class ForwardForward(LayerwiseContrastive):
    """Forward-forward over a stack (needs forward-only access: layer-local)."""

    requires = Access.FORWARD_ONLY

    def __init__(self, network: nn.Module, threshold: float = 2.0, seed: int = 0,
                 batch_calls: bool = True) -> None:
        if not (isinstance(threshold, Real) and math.isfinite(threshold) and threshold > 0):
            raise ValueError(f"threshold must be a finite number > 0 (a mean squared activity, "
                             f"e.g. 2.0), got {threshold}")
        super().__init__(network.layers, *embedding_of(network), None, seed, batch_calls)
        self.network = network
        self.threshold = float(threshold)

    def trainable(self, layer: nn.Module) -> list[nn.Parameter]:
        return layer.trainable_parameters()

    def features(self, k: int, h: Tensor) -> Tensor:
        """``f / rms(f)`` of the stage's measured features (length ``sqrt(n)``, entries O(1))."""
        f = self.layers[k].features(h)
        return f / (f.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-8)

    def output(self, k: int, f: Tensor) -> Tensor:
        return F.relu(self.layers[k].linear(f))

    def goodness(self, k: int, out: Tensor) -> Tensor:
        return out.pow(2).mean(dim=1)

    def loss(self, g_pos: Tensor, g_neg: Tensor) -> Tensor:
        return (F.softplus(self.threshold - g_pos) + F.softplus(g_neg - self.threshold)).mean()
