"""Energy-based rules on a :class:`~neuromorph.networks.stack.StackNet`: dual propagation, EqProp.

Both rules read the network as *layers of neurons*. Stage ``k >= 1`` of
``out_k = W_k F_k(out_{k-1})`` holds one layer of neurons with pre-activation
``p_k = out_{k-1}`` and state ``s_k = F_k(p_k)``; the input ``s_0 = F_0(x)`` is clamped and
the logits ``o = W_{L-1} s_{L-1} + b_{L-1}`` are linear output neurons. Both rules *nudge*
each hidden neuron's pre-activation by a top-down signal ``W_k^T e`` and measure its state
there, ``s_k = F_k(p_k + nudge)``, then update every weight by a
difference of two Hebbian products (one place for both: :func:`contrastive_grads`)::

    grad W_k = -(1 / (c B)) sum_batch (post^+ (pre^+)^T - post^- (pre^-)^T)

**Dual propagation** (Hoier, Staudt & Zach, ICML 2023): every neuron is a dyad of two states
``s^+, s^-``. One forward sweep gives ``p_k``; one backward sweep, with ``e_L = o^+ - o^- =
-beta grad_o l`` and ``d_k = W_k^T e_{k+1}``, sets (``alpha`` in [0, 1], 1/2 = symmetric)::

    s_k^+ = F_k(p_k + (1 - alpha) d_k),   s_k^- = F_k(p_k - alpha d_k),   e_k = s_k^+ - s_k^-
    s_bar_k = alpha s_k^+ + (1 - alpha) s_k^-,     grad W_k = -(1/beta) <e_{k+1} s_bar_k^T>

``e_k = F'(p_k) d_k + O(d^3)`` and ``s_bar_k = F(p_k) + O(d^2)``, so the update equals backprop's
to first order in ``beta`` -- from *evaluations* of ``F`` only (a central difference).

**Equilibrium propagation** (Scellier & Bengio, Front. Comput. Neurosci. 11:24, 2017) on the
layered energy, ``G_k' = F_k^{-1}`` (convex for a non-decreasing ``F_k``)::

    E(s) = sum_k sum_i G_k(s_k,i) + ||o||^2 / 2 - sum_k s_{k+1}^T (W_k s_k + b_k),   s_L = o

Its stationary points are ``s_k = F_k(W_{k-1} s_{k-1} + b_{k-1} + W_k^T s_{k+1})`` and
``o = W_{L-1} s_{L-1} + b_{L-1} - beta grad_o l(o)`` under the nudged energy ``E + beta l``.
Relaxation sweeps layer by layer (block coordinate descent on ``E``); the free phase
(``beta = 0``) gives the prediction, nudged phases at ``+-beta`` (symmetric, Laborieux et al.
2021) or ``+beta`` give ``grad theta = (dE/dtheta(s^beta) - dE/dtheta(s^-beta)) / (2 beta)``,
with ``dE/dW_k = -s_{k+1} s_k^T``. As ``beta -> 0`` it tends to the gradient of ``l(o*(theta))``
at the free equilibrium (recurrent backprop, Almeida-Pineda).

**Access.** Both rules need of each hidden substrate only forward evaluations ``F(z)`` at
pre-activations they choose: ``FORWARD_ONLY`` -- *but* ``F`` must be elementwise
(``Transform.elementwise``): a nudge ``W_k^T e`` lives in ``F``'s output space and enters a neuron
through its own pre-activation. ``spiking`` and ``loihi_int`` (one neuron per input current) and
``digital`` qualify; a physical system ``F(z) = [P(z); z]`` mixes all inputs into every output,
so the nudge has no pre-activation to enter and the rules refuse it (:class:`AccessError`).
The rules never differentiate through ``F``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from neuromorph.access import Access, AccessError, require_access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.stack import StackNet, Transform

_FIX = ("Train it with pat (the substrate's digital twin), a forward-only rule (spsa, es, "
        "phyll) or counter_current, which needs only measured features.")


def require_nudgeable(rule: str, net: StackNet) -> None:
    """AccessError unless every hidden substrate is elementwise (its neurons can be nudged)."""
    for k, stage in enumerate(net.layers[1:], start=1):
        t = stage.transform
        require_access(rule, Access.FORWARD_ONLY, f"stage {k} ({type(t).__name__})", t.access)
        if not t.elementwise or t.n_in != t.n_out:
            raise AccessError(
                f"{rule} nudges each hidden neuron's pre-activation, but stage {k} "
                f"({type(t).__name__}, {t.n_in} -> {t.n_out}) is not elementwise: a nudge in "
                f"its feature space has no pre-activation to enter. {_FIX}")


def effective_weight(linear: nn.Linear) -> Tensor:
    """The weight the forward pass uses (8-bit on ``loihi_int``), detached."""
    quantized = getattr(linear, "quantized_weight", None)
    return (quantized() if callable(quantized) else linear.weight).detach()


def measure_at(transform: Transform, pre: Tensor, nudges: Sequence[Tensor]) -> list[Tensor]:
    """``[F(pre + n) for n in nudges]`` measured in ONE batched call of the substrate."""
    out = transform(torch.cat([pre + n for n in nudges]))
    return list(out.split(pre.shape[0]))


def output_gradient(o: Tensor, y: Tensor) -> Tensor:
    """``d l / d o`` of the mean-free cross-entropy per sample: ``softmax(o) - onehot(y)``."""
    return torch.softmax(o, dim=1) - nnf.one_hot(y, o.shape[1]).to(o.dtype)


def contrastive_grads(net: StackNet, pre_plus: Sequence[Tensor], post_plus: Sequence[Tensor],
                      pre_minus: Sequence[Tensor], post_minus: Sequence[Tensor],
                      scale: float) -> None:
    """Write ``grad W_k = -scale <post+_k pre+_k^T - post-_k pre-_k^T>`` (and the biases).

    ``pre_*[k]`` is the state feeding ``W_k`` (``s_k``), ``post_*[k]`` the state it drives
    (``s_{k+1}``, the logits for the last stage); the mean is over the batch.
    """
    for k, stage in enumerate(net.layers):
        lin = stage.linear
        b = pre_plus[k].shape[0]
        gw = post_plus[k].T @ pre_plus[k] - post_minus[k].T @ pre_minus[k]
        lin.weight.grad = (-scale / b) * gw
        if lin.bias is not None:
            lin.bias.grad = (-scale / b) * (post_plus[k] - post_minus[k]).sum(0)


class _Layered(LearningRule):
    """Shared set-up: access check, parameters, the free feed-forward sweep."""

    def __init__(self, net: StackNet, beta: float) -> None:
        if not beta > 0 or beta == float("inf"):
            raise ValueError(f"{self.name}: the nudging strength beta must be a finite number "
                             f"> 0, got {beta}")
        require_nudgeable(self.name, net)
        self.net, self.beta = net, float(beta)

    def parameters(self) -> list[nn.Parameter]:
        return self.net.trainable_parameters()

    def weights(self) -> list[tuple[Tensor, Tensor | None]]:
        return [(effective_weight(s.linear),
                 None if s.linear.bias is None else s.linear.bias.detach())
                for s in self.net.layers]

    @staticmethod
    def drive(w: Tensor, b: Tensor | None, s: Tensor) -> Tensor:
        return s @ w.T if b is None else torch.addmm(b, s, w.T)


class DualPropagation(_Layered):
    """Dual propagation: dyadic neurons, one forward and one backward sweep (module doc).

    ``beta`` is the output nudging strength (the paper's hardware-friendly finite nudge; the
    update is backprop's to ``O(beta^2)`` for ``alpha = 1/2``), ``alpha`` the dyad's asymmetry.
    Cost per update: ``3 B`` substrate queries per hidden layer (``B`` forward, ``2 B`` for the
    dyad in one call), memory 3 states per neuron; no derivative of ``F`` is used.
    """

    requires = Access.FORWARD_ONLY

    def __init__(self, net: StackNet, beta: float = 1.0, alpha: float = 0.5) -> None:
        super().__init__(net, beta)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha (the dyad's nudging split) must lie in [0, 1], got {alpha}")
        self.alpha = float(alpha)

    @torch.no_grad()
    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        layers, wb = self.net.layers, self.weights()
        s = layers[0].transform(x)
        pres, states = [], [s]  # pres[k-1] = p_k, states[k] = s_k (free)
        for k in range(1, len(layers)):
            pres.append(self.drive(*wb[k - 1], s))
            s = layers[k].transform(pres[-1])
            states.append(s)
        o = self.drive(*wb[-1], s)
        g = output_gradient(o, y)
        a, beta = self.alpha, self.beta
        post_p, post_m = [o - (1 - a) * beta * g], [o + a * beta * g]
        bars = [None] * len(layers)
        bars[0] = states[0]
        for k in range(len(layers) - 1, 0, -1):
            d = (post_p[0] - post_m[0]) @ wb[k][0]  # W_k^T e_{k+1}
            sp, sm = measure_at(layers[k].transform, pres[k - 1], [(1 - a) * d, -a * d])
            bars[k] = a * sp + (1 - a) * sm
            post_p.insert(0, sp)
            post_m.insert(0, sm)
        self.transient_bytes = sum(3 * t.numel() * t.element_size() for t in states)
        contrastive_grads(self.net, bars, post_p, bars, post_m, 1.0 / beta)
        return float(nnf.cross_entropy(o, y))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.net(x).argmax(dim=1)


class EquilibriumPropagation(_Layered):
    """EqProp on the layered energy (module doc): free relaxation, nudged relaxations, contrast.

    ``free_steps``/``nudged_steps`` are relaxation sweeps (each one substrate query per sample
    and hidden layer); ``symmetric`` uses the two nudges ``+-beta`` (error ``O(beta^2)``) instead
    of ``+beta`` against the free phase (``O(beta)``). Prediction is the free equilibrium's
    ``argmax o``. Cost per update: ``B (free + (1 + symmetric) nudged)`` queries per hidden layer.
    """

    requires = Access.FORWARD_ONLY

    def __init__(self, net: StackNet, beta: float = 0.5, free_steps: int = 12,
                 nudged_steps: int = 6, symmetric: bool = True) -> None:
        super().__init__(net, beta)
        if free_steps < 1 or nudged_steps < 1:
            raise ValueError(f"relaxation needs >= 1 sweep per phase, got free_steps="
                             f"{free_steps}, nudged_steps={nudged_steps}")
        self.free_steps, self.nudged_steps = int(free_steps), int(nudged_steps)
        self.symmetric = bool(symmetric)

    @torch.no_grad()
    def relax(self, x: Tensor, states: list[Tensor] | None, steps: int, beta: float = 0.0,
              y: Tensor | None = None) -> list[Tensor]:
        """``steps`` sweeps of ``s_k <- F_k(W_{k-1} s_{k-1} + b + W_k^T s_{k+1})``, ``o`` last.

        ``states = [s_0, ..., s_{L-1}, o]``; ``None`` starts from the feed-forward pass.
        """
        layers, wb = self.net.layers, self.weights()
        if states is None:
            s = layers[0].transform(x)
            states = [s]
            for k in range(1, len(layers)):
                s = layers[k].transform(self.drive(*wb[k - 1], s))
                states.append(s)
            states.append(self.drive(*wb[-1], s))
            steps -= 1
        states = list(states)
        for _ in range(max(steps, 0)):
            for k in range(1, len(layers)):
                top_down = states[k + 1] @ wb[k][0]
                states[k] = layers[k].transform(self.drive(*wb[k - 1], states[k - 1]) + top_down)
            o = self.drive(*wb[-1], states[-2])
            if beta:
                o = o - beta * output_gradient(states[-1], y)
            states[-1] = o
        return states

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        free = self.relax(x, None, self.free_steps)
        plus = self.relax(x, free, self.nudged_steps, self.beta, y)
        if self.symmetric:
            minus, scale = self.relax(x, free, self.nudged_steps, -self.beta, y), 0.5 / self.beta
        else:
            minus, scale = free, 1.0 / self.beta
        self.transient_bytes = sum(3 * t.numel() * t.element_size() for t in free)
        contrastive_grads(self.net, plus[:-1], plus[1:], minus[:-1], minus[1:], scale)
        return float(nnf.cross_entropy(free[-1], y))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.relax(x, None, self.free_steps)[-1].argmax(dim=1)


__all__ = ["DualPropagation", "EquilibriumPropagation", "contrastive_grads", "measure_at",
           "require_nudgeable"]
