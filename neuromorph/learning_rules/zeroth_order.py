"""Zeroth-order rules: SPSA and the forward gradient, from measurements of ``net(x)`` only.

Both estimate the gradient of the minibatch cross-entropy ``L(theta)`` of a
:class:`~neuromorph.networks.stack.StackNet` (``theta``: every trainable map, in the weights'
own units) and write it into ``.grad``; the outside optimiser applies it.

**SPSA** (Spall 1992), ``P`` simultaneous perturbations per step, two-sided::

    g = (1 / P) sum_d [L(theta + c D_d) - L(theta - c D_d)] / (2 c) D_d,   D_d in {-1, +1}^n

``E[D D^T] = I`` so ``E[g] = grad L + O(c^2)`` (exact on a quadratic). Directions are re-drawn
from the step seed when the update is formed (MeZO, Malladi et al. NeurIPS 2023): the rule holds
no perturbation, only one parameter-sized draw at a time. Cost per step: ``2 P`` forward passes
of the batch, stacked into one substrate call per stage.

**Forward gradient** (Baydin et al. 2022), ``P`` Gaussian directions ``v_d ~ N(0, I)``::

    g = (1 / P) sum_d (grad L . v_d) v_d,          E[v v^T] = I  =>  E[g] = grad L

The directional derivative ``grad L . v`` is computed by

* ``mode="jvp"`` — forward-mode AD, stage by stage (``torch.func.jvp`` through each map; an
  elementwise transform's Jacobian is its :meth:`~neuromorph.networks.stack.Transform.derivative`,
  which is the surrogate slope on spikes, whose autograd function has no forward-mode rule).
  Needs ``DIFFERENTIABLE`` access of every transform; exact, no substrate query beyond ``F(z)``.
* ``mode="fd"`` — the black-box central difference ``[L(theta + e v) - L(theta - e v)] / (2 e)``
  (exact on a quadratic; ``2 P`` stacked forward passes). Forward-only access.
* ``mode="auto"`` (default) — ``"jvp"`` when ``net.access`` is ``DIFFERENTIABLE``, else ``"fd"``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.perturbation import (
    DISTRIBUTIONS,
    DenseNoise,
    MemberLoss,
    PopulationRule,
    call_linear,
    member_losses,
    write_grads,
)
from neuromorph.networks.stack import StackNet

FGRAD_MODES = ("auto", "jvp", "fd")


def _positive(name: str, value: float) -> float:
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


class SPSA(PopulationRule):
    """Two-sided SPSA with ``perturbations`` directions per step (see the module docstring).

    ``c`` is the perturbation size in weight units; ``distribution`` ``"rademacher"`` (Spall's)
    or ``"gaussian"``.
    """

    def __init__(self, net: StackNet, perturbations: int = 16, c: float = 1e-2,
                 distribution: str = "rademacher", seed: int = 0,
                 loss: MemberLoss = member_losses) -> None:
        super().__init__(net, seed, loss)
        if perturbations < 1:
            raise ValueError(f"perturbations must be >= 1, got {perturbations}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {distribution!r}; choose one of "
                             f"{DISTRIBUTIONS}")
        self.perturbations, self.c = int(perturbations), _positive("c", c)
        self.distribution = distribution

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        noise = DenseNoise(self.params, self.perturbations, self.next_seed(), self.distribution)
        losses = self.antithetic(noise, self.c, x, y)
        coeffs = (losses[0::2] - losses[1::2]) / (2 * self.c * self.perturbations)
        write_grads(self.params, noise.combine(coeffs))
        return float(losses.mean())


class ForwardGradient(PopulationRule):
    """``g = mean_d (grad L . v_d) v_d`` by jvp or by finite differences (module docstring)."""

    def __init__(self, net: StackNet, directions: int = 8, epsilon: float = 1e-2,
                 mode: str = "auto", seed: int = 0, loss: MemberLoss = member_losses) -> None:
        super().__init__(net, seed, loss)
        if mode not in FGRAD_MODES:
            raise ValueError(f"unknown forward-gradient mode {mode!r}; choose one of "
                             f"{FGRAD_MODES}")
        if directions < 1:
            raise ValueError(f"directions must be >= 1, got {directions}")
        differentiable = net.access >= Access.DIFFERENTIABLE
        if mode == "jvp" and not differentiable:
            raise AccessError(
                f"{self.name} mode='jvp' needs differentiable access of every transform, but "
                f"the network offers only {net.access.label()} access. Use mode='fd' (a "
                "finite difference of measured losses) or mode='auto'.")
        self.mode = ("jvp" if differentiable else "fd") if mode == "auto" else mode
        self.directions, self.epsilon = int(directions), _positive("epsilon", epsilon)

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        noise = DenseNoise(self.params, self.directions, self.next_seed(), "gaussian")
        if self.mode == "fd":
            losses = self.antithetic(noise, self.epsilon, x, y)
            slopes = (losses[0::2] - losses[1::2]) / (2 * self.epsilon)
            loss = float(losses.mean())
        else:
            slopes, loss = self._jvp_slopes(noise, x, y)
        write_grads(self.params, noise.combine(slopes / self.directions))
        return loss

    def _jvp_slopes(self, noise: DenseNoise, x: Tensor, y: Tensor) -> tuple[Tensor, float]:
        """``grad L . v_d`` for every direction by forward-mode AD through the stages."""
        h, tangents = x.detach(), None  # tangents [P, B, width] of the current activations
        with torch.no_grad():
            for k, stage in enumerate(self.net.layers):
                f = stage.transform(h)
                t_f = None if tangents is None else self._transform_tangent(
                    stage.transform, h, tangents)
                h, tangents = self._linear_tangents(stage.linear, self.index[k], noise, f, t_f)
        self.activation_bytes = tangents.numel() * tangents.element_size()
        self.account(noise)

        def objective(logits: Tensor) -> Tensor:
            return self.loss(logits.unsqueeze(0), y)[0]

        def slope(t: Tensor) -> Tensor:
            return torch.func.jvp(objective, (h,), (t,))[1]

        return torch.func.vmap(slope)(tangents), float(objective(h))

    @staticmethod
    def _linear_tangents(lin: nn.Module, index: tuple[int, int | None], noise: DenseNoise,
                         f: Tensor, t_f: Tensor | None) -> tuple[Tensor, Tensor]:
        """``(out, [d out along direction d])``: exact for ``nn.Linear``, else ``jvp``."""
        wj, bj = index
        w, b = lin.weight.detach(), None if bj is None else lin.bias.detach()
        outs = []
        for d in range(noise.count):
            dw = noise.direction(d, wj)
            db = None if bj is None else noise.direction(d, bj)
            df = torch.zeros_like(f) if t_f is None else t_f[d]
            if type(lin) is nn.Linear:
                t = f @ dw.T + df @ w.T
                outs.append(t if db is None else t + db)
                continue
            with torch.enable_grad():
                if b is None:
                    _, t = torch.func.jvp(lambda w_, f_: call_linear(lin, w_, None, f_),
                                          (w, f), (dw, df))
                else:
                    _, t = torch.func.jvp(lambda w_, b_, f_: call_linear(lin, w_, b_, f_),
                                          (w, b, f), (dw, db, df))
            outs.append(t.detach())
        return call_linear(lin, w, b, f).detach(), torch.stack(outs)

    @staticmethod
    def _transform_tangent(transform, z: Tensor, tangents: Tensor) -> Tensor:
        if transform.elementwise:
            return transform.derivative(z.detach()).unsqueeze(0) * tangents
        return torch.stack([torch.func.jvp(transform, (z.detach(),), (t,))[1]
                            for t in tangents])
