"""Integer-in-the-loop fine-tuning: SPSA on a chip's bit-accurate integer model, forward only.

The loss is measured by **running** the integer network (:meth:`ChipQAT.to_integer`, then
:meth:`IntegerNetwork.run` with the pipeline flushed) and is never differentiated: the integer
model is a black box that returns a readout. The shadow parameters ``theta`` of a
:class:`~neuromorph.hardware_models.chips.qat.ChipQAT` are perturbed in units of one integer
step (``lsb``, so a perturbation of ``c`` moves each integer value by about ``c``) and the
gradient is estimated by two-sided SPSA (Spall 1992), ``P`` Rademacher directions per step::

    z = theta / lsb,   g_z = (1 / P) sum_d [L(z + c D_d) - L(z - c D_d)] / (2 c) D_d

``E[g_z] = grad_z L + O(c^2)`` for a smooth ``L``; on the integer model ``L`` is piecewise
constant, and ``c >= 1`` integer step makes the difference see the rounding cells. The update
is Adam on ``theta`` with ``grad_theta = g_z / lsb`` and a step of ``lr`` integer units.
Directions come from :func:`~neuromorph.learning_rules.perturbation.draw` seeded by
:func:`~neuromorph.learning_rules.perturbation.mix_seed` (same seed, same run).

This is the SPSA estimator of :class:`~neuromorph.learning_rules.zeroth_order.SPSA` applied to
a time-stepped integer network instead of a ``StackNet`` (whose stages it cannot express).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from neuromorph.hardware_models.chips.integer import IntegerNetwork
from neuromorph.hardware_models.chips.qat import ChipQAT
from neuromorph.learning_rules.perturbation import draw, mix_seed
from neuromorph.learning_rules.spike_losses import get_loss


def integer_loss(net: IntegerNetwork, x: Tensor, y: Tensor, readout: str) -> float:
    """The readout loss of an integer chip model (flushed run), computed without autograd."""
    with torch.no_grad():
        run = net.run(x, flush=True)
        return float(get_loss(readout)(run.readout.float(), y))


def spsa_fine_tune(qat: ChipQAT, batches: Callable[[int], Iterator[tuple[Tensor, Tensor]]],
                   epochs: int, readout: str, perturbations: int = 8, c: float = 1.0,
                   lr: float = 0.5, seed: int = 0) -> list[float]:
    """Fine-tune ``qat``'s integer values in place by SPSA on the integer model; returns the
    mean measured loss ``(L+ + L-) / 2`` per step. ``batches(epoch)`` yields ``(x, y)``."""
    if perturbations < 1 or c <= 0 or lr <= 0 or epochs < 0:
        raise ValueError("spsa_fine_tune needs perturbations >= 1, c > 0, lr > 0, epochs >= 0")
    params = [p for p in qat.parameters() if p.requires_grad]
    lsbs = qat.lsb()
    opt = torch.optim.Adam([{"params": [p], "lr": lr * float(s.mean())}
                            for p, s in zip(params, lsbs, strict=True)])
    history, step = [], 0
    for epoch in range(epochs):
        for x, y in batches(epoch):
            grads = [torch.zeros_like(p) for p in params]
            total = 0.0
            for d in range(perturbations):
                dirs = [draw(p.shape, mix_seed(seed, step, d, j), "rademacher").to(p.dtype)
                        for j, p in enumerate(params)]
                with torch.no_grad():
                    for p, s, u in zip(params, lsbs, dirs, strict=True):
                        p.add_(c * s * u)
                    plus = integer_loss(qat.to_integer(), x, y, readout)
                    for p, s, u in zip(params, lsbs, dirs, strict=True):
                        p.sub_(2 * c * s * u)
                    minus = integer_loss(qat.to_integer(), x, y, readout)
                    for p, s, u in zip(params, lsbs, dirs, strict=True):
                        p.add_(c * s * u)
                coeff = (plus - minus) / (2 * c * perturbations)
                for g, s, u in zip(grads, lsbs, dirs, strict=True):
                    g.add_(coeff * u / s)
                total += (plus + minus) / (2 * perturbations)
            for p, g in zip(params, grads, strict=True):
                p.grad = g
            opt.step()
            opt.zero_grad(set_to_none=True)
            history.append(total)
            step += 1
    return history


__all__ = ["integer_loss", "spsa_fine_tune"]
