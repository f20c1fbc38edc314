"""Collaborative forward-forward: every layer's loss sees the whole network's goodness.

Lorberbom, Gat, Adi, Schwing & Hazan, *Layer collaboration in the forward-forward algorithm*,
AAAI 2024 (arXiv:2305.12393). Forward-forward (:mod:`~neuromorph.learning_rules.forward_forward`)
trains each layer on its own goodness, so early layers never learn what later ones need. CFF
keeps every gradient layer-local but lets layer ``k``'s loss see the others' goodness as a
constant (``sg`` = stop-gradient)::

    Ĝ_k = G_k + gamma * sum_{j != k} sg(G_j),
    loss_k = softplus(theta - Ĝ_k,pos) + softplus(Ĝ_k,neg - theta)

With one layer (or ``gamma = 0``) this is forward-forward exactly. Forward access only, one
forward pass and one optimiser step per batch, the same cost as FF.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from neuromorph.learning_rules.forward_forward import ForwardForward


class CollaborativeFF(ForwardForward):
    """Forward-forward whose layer losses use the summed goodness (others detached)."""

    def __init__(self, network: nn.Module, threshold: float = 2.0, gamma: float = 1.0,
                 seed: int = 0, batch_calls: bool = True) -> None:
        if not (gamma >= 0 and math.isfinite(gamma)):
            raise ValueError(f"gamma (the weight of the other layers' goodness) must be finite "
                             f"and >= 0, got {gamma}")
        super().__init__(network, threshold, seed, batch_calls)
        self.gamma = float(gamma)

    def layer_goodness(self, g_pos: list[Tensor], g_neg: list[Tensor]) -> tuple[list, list]:
        """``Ĝ_k = G_k + gamma * (sum_j sg(G_j) - sg(G_k))`` for every layer ``k``."""
        return _collaborate(g_pos, self.gamma), _collaborate(g_neg, self.gamma)


def _collaborate(g: list[Tensor], gamma: float) -> list[Tensor]:
    total = torch.stack([v.detach() for v in g]).sum(dim=0)
    return [v + gamma * (total - v.detach()) for v in g]
