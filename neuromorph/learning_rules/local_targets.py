"""Layer-local targets on a StackNet: Mono-Forward and the cascaded forward algorithm (CaFo).

Both train every trainable map ``W_k`` of ``out_k = W_k F_k(out_{k-1})`` from a loss that
lives at that layer, computed from *measured* features (:meth:`StackNet.record`): no gradient
ever crosses a transform ``F``. Write ``a_k`` for what follows ``W_k`` (``k < L``):

``derivative="local"``  ``a_k = F_{k+1}(out_k)`` measured; its gradient reaches ``out_k`` as
                        ``dL/da_k * F'_{k+1}(out_k)`` (the transform's elementwise
                        derivative: ``LOCAL`` access).
``derivative="none"``   ``a_k = out_k`` (``F`` treated as the identity in the local loss):
                        ``FORWARD_ONLY`` access, any transform, elementwise or not.
``derivative="auto"``   ``"local"`` where offered, else ``"none"`` (see
                        :func:`~neuromorph.learning_rules.feedback.resolve_derivative`).

**Mono-Forward** (Gong, Li & Abdulla, arXiv:2501.09238, 2025): each hidden layer has a
trainable projection ``M_k`` ``[C, width(a_k)]`` to class goodness ``G_k = a_k M_k^T`` and
minimises its own ``CE(G_k, y)`` (``W_k`` and ``M_k`` together); the output map ``W_L``
minimises ``CE(out_L, y)``. Prediction: the last layer's goodness, ``argmax out_L``.

**CaFo** (Zhao et al., arXiv:2303.09728, 2023): block ``k`` is ``(W_k, F_{k+1})`` with
measured output ``A_k = F_{k+1}(out_k)`` and a predictor ``P_k`` trained by its own
``CE(P_k A_k, y)``; the last block's predictor is the network's readout ``W_L``, earlier
blocks get their own. Prediction: ``argmax sum_k softmax(P_k A_k)``. Blocks are
``blocks="random"`` (fixed, as in the authors' code: only predictors learn, forward-only
access) or ``blocks="dfa"`` (after the paper's DFA-trained blocks; here ``W_k`` learns, jointly
with the predictors, from its *own* predictor's error ``e_k`` through a fixed random ``B_k``,
``delta_k = (e_k B_k) * D_{k+1}(out_k)``).
On a one-hidden-layer net CaFo-Rand is a trained readout of fixed random features and
CaFo-DFA coincides with DFA; block-local errors and summed predictors differ from two blocks
on.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.learning_rules.feedback import output_error, resolve_derivative, write_linear_grad
from neuromorph.networks.stack import StackNet

BLOCKS = ("dfa", "random")


def _seeded_linear(n_in: int, n_out: int, gen: torch.Generator, bias: bool = True) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` from ``gen``."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
    return layer


def _check_net(rule: str, net: StackNet) -> None:
    if not isinstance(net, StackNet):
        raise TypeError(f"{rule} trains a StackNet, got {type(net).__name__}")


class MonoForward(LearningRule):
    """Mono-Forward: per-layer projections to class goodness, local cross-entropy (module doc)."""

    requires = Access.LOCAL

    def __init__(self, net: StackNet, seed: int = 0, derivative: str = "local") -> None:
        _check_net(self.name, net)
        self.net = net
        stages = list(net.layers)
        self.uses_derivative = [
            resolve_derivative(self.name, derivative, stages[k + 1].transform, f"stage {k + 1}")
            for k in range(len(stages) - 1)
        ]
        self.requires = Access.LOCAL if any(self.uses_derivative) else Access.FORWARD_ONLY
        gen = torch.Generator().manual_seed(int(seed))
        self.projections = [
            _seeded_linear(stages[k].n_out, net.n_classes, gen, bias=False)
            for k in range(len(stages) - 1)
        ]

    def parameters(self) -> list[nn.Parameter]:
        own = [p for m in self.projections for p in m.parameters()]
        return self.net.trainable_parameters() + own

    def local_input(self, k: int, out_k: Tensor, measured: Tensor) -> Tensor:
        """``a_k``: measured ``F_{k+1}(out_k)`` with ``F'`` as its gradient, or ``out_k``."""
        if not self.uses_derivative[k]:
            return out_k
        slope = self.net.layers[k + 1].transform.derivative(out_k.detach())
        return measured + (out_k - out_k.detach()) * slope

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        feats, _ = self.net.record(x)
        stages = list(self.net.layers)
        loss = torch.zeros(())
        for k, stage in enumerate(stages):
            out_k = stage.linear(feats[k])  # feats[k] is measured and detached
            if k == len(stages) - 1:
                goodness = out_k
            else:
                goodness = self.projections[k](self.local_input(k, out_k, feats[k + 1]))
            loss = F.cross_entropy(goodness, y)
            loss.backward()  # graphs are disjoint: each loss reaches only W_k (and M_k)
        return float(loss.detach())

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.net(x).argmax(dim=1)

    def state_tensors(self) -> list[Tensor]:
        return [p for m in self.projections for p in m.parameters()]


class CaFo(LearningRule):
    """Cascaded forward: blocks with local predictors, summed predictions (module doc)."""

    requires = Access.FORWARD_ONLY

    def __init__(self, net: StackNet, seed: int = 0, blocks: str = "dfa",
                 derivative: str = "local") -> None:
        _check_net(self.name, net)
        if blocks not in BLOCKS:
            raise ValueError(f"blocks must be one of {BLOCKS}, got {blocks!r}")
        self.net, self.blocks = net, blocks
        self.train_blocks = blocks == "dfa"  # the one dispatch of ``blocks``
        stages = list(net.layers)
        self.uses_derivative = [
            self.train_blocks and resolve_derivative(
                self.name, derivative, stages[k + 1].transform, f"stage {k + 1}")
            for k in range(len(stages) - 1)
        ]
        self.requires = Access.LOCAL if any(self.uses_derivative) else Access.FORWARD_ONLY
        gen = torch.Generator().manual_seed(int(seed))
        c = net.n_classes
        self.predictors: list[nn.Linear] = [
            _seeded_linear(stages[k + 1].transform.n_out, c, gen) for k in range(len(stages) - 2)
        ] + [stages[-1].linear]
        self.feedback = [] if not self.train_blocks else [
            torch.randn(c, s.n_out, generator=gen) / math.sqrt(c) for s in stages[:-1]]

    def parameters(self) -> list[nn.Parameter]:
        own = [p for m in self.predictors[:-1] for p in m.parameters()]
        params = own + list(self.net.layers[-1].linear.parameters())
        if self.train_blocks:
            params = [p for s in list(self.net.layers)[:-1] for p in s.linear.parameters()] + params
        return params

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        feats, outs = self.net.record(x)
        stages = list(self.net.layers)
        loss = 0.0
        for k in range(len(stages) - 1):
            block_out = feats[k + 1]  # A_k = F_{k+1}(out_k), measured
            logits = self.predictors[k](block_out)
            error = output_error(logits.detach(), y)
            write_linear_grad(self.predictors[k], error, block_out)
            loss = float(F.cross_entropy(logits.detach(), y))
            if self.train_blocks:
                delta = error @ self.feedback[k]
                if self.uses_derivative[k]:
                    delta = delta * stages[k + 1].transform.derivative(outs[k])
                write_linear_grad(stages[k].linear, delta, feats[k])
        return loss

    @torch.no_grad()
    def block_predictions(self, x: Tensor) -> Tensor:
        """``sum_k softmax(P_k A_k)`` ``[B, C]`` over the blocks."""
        feats, _ = self.net.record(x)
        return sum(torch.softmax(p(feats[k + 1]), dim=1) for k, p in enumerate(self.predictors))

    def predict(self, x: Tensor) -> Tensor:
        return self.block_predictions(x).argmax(dim=1)

    def state_tensors(self) -> list[Tensor]:
        return [p for m in self.predictors[:-1] for p in m.parameters()] + list(self.feedback)


__all__ = ["BLOCKS", "CaFo", "MonoForward"]
