"""Rate-based Hebbian rules: plain Hebb, Oja, Sanger's GHA, BCM with a sliding threshold.

Notation: pre-synaptic rates ``x [B, n_pre]``, post-synaptic rates ``y [B, n_post]``, weight
``W [n_post, n_pre]``, learning rate ``eta``; ``<.>`` is the mean over the batch. Every rule
returns ``dW`` (to be added); ``post=None`` uses the linear response ``y = W x``.

=========  ==================================================================================
``Hebb``   ``dW = eta (<y x^T> - decay W)``
``Oja``    ``dW = eta (<y x^T> - <y y^T> W)``; one output: ``dw = eta <y (x - y w)>``, which
           converges to the first principal component (unit norm) of zero-mean ``x``; several
           outputs: Oja's subspace rule (an orthonormal basis of the top-k subspace)
``Sanger`` ``dW = eta (<y x^T> - LT(<y y^T>) W)``, ``LT`` = lower triangle incl. diagonal
           (generalised Hebbian algorithm, Sanger 1989): row ``k`` converges to the k-th
           principal component itself
``BCM``    ``dW = eta (<y (y - theta) x^T> - decay W)``,  ``theta <- theta + (<y^2>/y0 - theta)
           / tau_theta`` (Bienenstock, Cooper & Munro 1982; sliding threshold of Intrator &
           Cooper 1992, ``tau_theta`` in updates): neurons become selective to one input pattern
=========  ==================================================================================
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuromorph.learning_rules.plasticity.interface import PlasticityRule, State


def batch_outer(post: Tensor, pre: Tensor) -> Tensor:
    """``<y x^T>``: the batch-mean outer product ``[n_post, n_pre]``."""
    return post.T @ pre / pre.shape[0]


class Hebb(PlasticityRule):
    """Plain Hebb, ``dW = eta (<y x^T> - decay W)`` (unstable without decay or normalisation)."""

    def __init__(self, lr: float = 1e-2, decay: float = 0.0) -> None:
        super().__init__(lr)
        if decay < 0:
            raise ValueError(f"Hebb: decay must be >= 0, got {decay}")
        self.decay = float(decay)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        return self.lr * (batch_outer(post, pre) - self.decay * weight), state


class Oja(PlasticityRule):
    """Oja's rule (one output) / Oja's subspace rule (several): ``eta (<y x^T> - <y y^T> W)``."""

    def __init__(self, lr: float = 1e-2) -> None:
        super().__init__(lr)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        return self.lr * (batch_outer(post, pre) - batch_outer(post, post) @ weight), state


class Sanger(PlasticityRule):
    """Sanger's generalised Hebbian algorithm: ``eta (<y x^T> - LT(<y y^T>) W)``."""

    def __init__(self, lr: float = 1e-2) -> None:
        super().__init__(lr)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        n = post.shape[1]
        idx = torch.arange(n, device=post.device)
        lower = (idx[:, None] >= idx[None, :]).to(post.dtype)  # (torch.tril is slow on CPU here)
        yy = batch_outer(post, post) * lower
        return self.lr * (batch_outer(post, pre) - yy @ weight), state


class BCM(PlasticityRule):
    """BCM with the sliding threshold ``theta`` (the rule's state, ``[n_post]``).

    ``dW = eta (<y (y - theta) x^T> - decay W)`` uses the threshold *before* this batch; then
    ``theta <- theta + (<y^2>/y0 - theta) / tau_theta``. ``tau_theta`` (in updates) must be
    short against the weight time scale (``theta`` tracks ``E[y^2]``) for stability.
    """

    def __init__(self, lr: float = 1e-3, tau_theta: float = 10.0, y0: float = 1.0,
                 theta0: float = 0.0, decay: float = 0.0) -> None:
        super().__init__(lr)
        if tau_theta < 1:
            raise ValueError(f"BCM: tau_theta must be >= 1 update, got {tau_theta}")
        if y0 <= 0 or decay < 0:
            raise ValueError(f"BCM: need y0 > 0 and decay >= 0, got y0={y0}, decay={decay}")
        self.tau_theta, self.y0 = float(tau_theta), float(y0)
        self.theta0, self.decay = float(theta0), float(decay)

    def initial_state(self, weight: Tensor) -> Tensor:
        return torch.full((weight.shape[0],), self.theta0, dtype=weight.dtype,
                          device=weight.device)

    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        theta = self.initial_state(weight) if state is None else state
        phi = post * (post - theta)
        dw = self.lr * (batch_outer(phi, pre) - self.decay * weight)
        theta = theta + ((post**2).mean(0) / self.y0 - theta) / self.tau_theta
        return dw, theta


__all__ = ["BCM", "Hebb", "Oja", "Sanger", "batch_outer"]
