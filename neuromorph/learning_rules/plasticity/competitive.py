"""Competitive Hebbian rules: SoftHebb and Krotov & Hopfield's competing hidden units.

``SoftHebb`` (Moraitis, Toichkin, Journé, Chua & Guo, *SoftHebb: Bayesian inference in
unsupervised Hebbian soft winner-take-all networks*, Neuromorph. Comput. Eng. 2, 2022)::

    u = W x,   y = softmax(u / tau),   dW_ki = eta <y_k (x_i - u_k W_ki)>

A soft winner-take-all: every neuron moves toward the input in proportion to its posterior
``y_k``; the ``- y_k u_k W_ki`` term drives each weight vector to unit norm (an Oja-like
normaliser), so the neurons become normalised prototypes of input clusters.

``KrotovHopfield`` (Krotov & Hopfield, *Unsupervised learning by competing hidden units*,
PNAS 116, 2019)::

    I_mu = sum_i sign(W_mu i) |W_mu i|^(p-1) x_i          (input current, Lebesgue-p inner product)
    g_mu = 1 for the strongest unit, -Delta for the k-th strongest, 0 otherwise
    dW_mu i = eta sum_b g_mu (x_i - I_mu W_mu i)            (R = 1)

and, as in the authors' reference code, ``dW`` is divided by its largest magnitude
(``normalize=True``) so ``eta`` is the largest per-update change. Weights converge to
``||W_mu||_p = 1`` for units that win.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.learning_rules.plasticity.interface import PlasticityRule, State


class SoftHebb(PlasticityRule):
    """SoftHebb: ``y = softmax(W x / tau)``, ``dW = eta <y (x - u W)>`` (rows of ``W``)."""

    def __init__(self, lr: float = 1e-2, temperature: float = 1.0) -> None:
        super().__init__(lr)
        if temperature <= 0:
            raise ValueError(f"SoftHebb: temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def response(self, pre: Tensor, weight: Tensor) -> Tensor:
        """The soft winner-take-all posterior ``softmax(W x / tau)`` ``[B, n_post]``."""
        return torch.softmax(pre @ weight.T / self.temperature, dim=-1)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        u = pre @ weight.T
        b = pre.shape[0]
        dw = (post.T @ pre - (post * u).sum(0)[:, None] * weight) / b
        return self.lr * dw, state


class KrotovHopfield(PlasticityRule):
    """Competing hidden units (Krotov & Hopfield 2019); ``post`` are the currents ``I``."""

    def __init__(self, lr: float = 2e-2, p: float = 3.0, k: int = 2, delta: float = 0.4,
                 normalize: bool = True, precision: float = 1e-30) -> None:
        super().__init__(lr)
        if p < 2:
            raise ValueError(f"KrotovHopfield: p must be >= 2, got {p}")
        if k < 2:
            raise ValueError(f"KrotovHopfield: k (the rank pushed away) must be >= 2, got {k}")
        if delta < 0:
            raise ValueError(f"KrotovHopfield: delta must be >= 0, got {delta}")
        self.p, self.k, self.delta = float(p), int(k), float(delta)
        self.normalize, self.precision = bool(normalize), float(precision)

    def response(self, pre: Tensor, weight: Tensor) -> Tensor:
        """Input currents ``I = x . sign(W)|W|^(p-1)`` ``[B, n_post]``."""
        return pre @ (weight.sign() * weight.abs() ** (self.p - 1)).T

    def activation(self, currents: Tensor) -> Tensor:
        """``g``: ``1`` for the top unit, ``-delta`` for the k-th ranked unit, else ``0``."""
        if currents.shape[1] < self.k:
            raise ValueError(f"KrotovHopfield needs at least k={self.k} hidden units, "
                             f"got {currents.shape[1]}")
        order = torch.argsort(currents, dim=1, descending=True)
        g = torch.zeros_like(currents)
        rows = torch.arange(currents.shape[0], device=currents.device)
        g[rows, order[:, 0]] = 1.0
        g[rows, order[:, self.k - 1]] = -self.delta
        return g

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        g = self.activation(post)
        dw = g.T @ pre - (g * post).sum(0)[:, None] * weight
        scale = dw.abs().max().clamp_min(self.precision) if self.normalize else pre.shape[0]
        dw = dw / scale
        return self.lr * dw, state


__all__ = ["KrotovHopfield", "SoftHebb"]
