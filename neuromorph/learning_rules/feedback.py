"""Direct feedback alignment (DFA) and direct random target projection (DRTP) on a StackNet.

On ``out_k = W_k F_k(out_{k-1})`` (``k = 1..L``, ``logits = out_L``) with the cross-entropy
error at the output ``e = softmax(out_L) - onehot(y)`` (per sample, averaged over the batch)::

    dW_L = e^T F_L(out_{L-1})                                   (the local output gradient)
    dW_k = delta_k^T F_k(out_{k-1}),   delta_k = (s B_k) * D_{k+1}(out_k),    k < L
    DFA  (Nokland, NeurIPS 2016):                  s = e
    DRTP (Frenkel, Lefebvre & Bol, Front. Neurosci. 2021):  s = -onehot(y)

``B_k`` ``[C, width(out_k)]`` is a fixed random feedback matrix (``N(0, 1/C)``), never
learned. ``D_{k+1}`` is the factor of the transform that follows ``W_k``:

``derivative="local"``  ``D = F'_{k+1}(out_k)``, the transform's own elementwise derivative
                        (:meth:`~neuromorph.networks.stack.Transform.derivative`): needs
                        ``LOCAL`` access and an elementwise transform (digital ReLU, the
                        spiking population's surrogate slope).
``derivative="none"``   ``D = 1``: the projection drives ``out_k`` directly, as Nakajima et
                        al. (Nat. Commun. 13, 7847, 2022) trained physical hardware whose
                        Jacobian is unknown. Needs only ``FORWARD_ONLY`` access.
``derivative="auto"``   ``"local"`` where the transform offers it, else ``"none"``; the
                        resolved choice is :attr:`DirectFeedback.uses_derivative`.

Every quantity comes from one measurement of the network (:meth:`StackNet.record`): the rules
never differentiate through any ``F`` (no autograd graph is built at all).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.stack import StackNet, Transform

DERIVATIVES = ("local", "none", "auto")


def offers_derivative(transform: Transform) -> bool:
    """True when ``transform`` offers an elementwise derivative ``F'(z)`` (LOCAL or better)."""
    return bool(transform.elementwise) and transform.access >= Access.LOCAL


def resolve_derivative(rule: str, mode: str, transform: Transform, where: str) -> bool:
    """Whether ``rule`` multiplies by ``F'(z)`` of ``transform`` (the one dispatch of ``mode``).

    Raises :class:`AccessError` naming the fix when ``mode="local"`` and the transform offers
    no elementwise derivative; ``ValueError`` for an unknown mode.
    """
    if mode not in DERIVATIVES:
        raise ValueError(f"derivative must be one of {DERIVATIVES}, got {mode!r}")
    offered = offers_derivative(transform)
    if mode == "local" and not offered:
        shape = "" if transform.elementwise else ", and it is not elementwise"
        raise AccessError(
            f"{rule} with derivative='local' needs the elementwise derivative F'(z) of {where} "
            f"({type(transform).__name__}), which offers only {transform.access.label()} "
            f"access{shape}. Pass derivative='none' (the factor replaced by 1, as Nakajima "
            "et al. 2022 trained physical hardware) or derivative='auto', or use a substrate "
            "with a local derivative."
        )
    return mode == "local" or (mode == "auto" and offered)


def write_linear_grad(linear: nn.Linear, delta: Tensor, inputs: Tensor) -> None:
    """``.grad`` of ``y = W u + b`` for the output signal ``delta`` ``[B, out]``: ``delta^T u``."""
    grads = [(linear.weight, delta.t() @ inputs)]
    if linear.bias is not None:
        grads.append((linear.bias, delta.sum(dim=0)))
    for param, g in grads:
        param.grad = g.to(param.dtype) if param.grad is None else param.grad + g


def output_error(logits: Tensor, y: Tensor) -> Tensor:
    """``(softmax(logits) - onehot(y)) / B``: the gradient of the mean cross-entropy."""
    target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return (torch.softmax(logits, dim=1) - target) / logits.shape[0]


class DirectFeedback(LearningRule):
    """Shared machinery of DFA and DRTP (see the module docstring); subclasses choose ``s``.

    ``requires`` is ``LOCAL`` for the faithful rule; an instance whose ``derivative`` resolves
    to ``"none"`` everywhere needs only ``FORWARD_ONLY`` access (its ``requires``).
    ``feedback`` replaces the random ``B_k`` (e.g. ``B = W_{k+1}`` for the BP equivalence).
    """

    requires = Access.LOCAL

    def __init__(self, net: StackNet, seed: int = 0, derivative: str = "local",
                 feedback: list[Tensor] | None = None) -> None:
        if not isinstance(net, StackNet):
            raise TypeError(f"{self.name} trains a StackNet, got {type(net).__name__}")
        self.net = net
        stages = list(net.layers)
        self.uses_derivative = [
            resolve_derivative(self.name, derivative, stages[k + 1].transform, f"stage {k + 1}")
            for k in range(len(stages) - 1)
        ]
        self.requires = Access.LOCAL if any(self.uses_derivative) else Access.FORWARD_ONLY
        c = net.n_classes
        if feedback is None:
            gen = torch.Generator().manual_seed(int(seed))
            feedback = [torch.randn(c, s.n_out, generator=gen) / math.sqrt(c)
                        for s in stages[:-1]]
        for k, (b, s) in enumerate(zip(feedback, stages[:-1], strict=True)):
            if tuple(b.shape) != (c, s.n_out):
                raise ValueError(f"feedback matrix {k} must be [{c}, {s.n_out}] (classes x "
                                 f"width of stage {k}'s output), got {tuple(b.shape)}")
        self.feedback = [b.detach().clone() for b in feedback]

    def projected(self, error: Tensor, y: Tensor) -> Tensor:
        """The class-space signal ``s`` ``[B, C]`` that ``B_k`` projects (subclasses)."""
        raise NotImplementedError

    def parameters(self) -> list[nn.Parameter]:
        return self.net.trainable_parameters()

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        feats, outs = self.net.record(x)
        logits = outs[-1]
        error = output_error(logits, y)
        signal = self.projected(error, y)
        stages = list(self.net.layers)
        biggest = 0
        for k, stage in enumerate(stages):
            if k == len(stages) - 1:
                delta = error
            else:
                delta = signal @ self.feedback[k]
                if self.uses_derivative[k]:
                    delta = delta * stages[k + 1].transform.derivative(outs[k])
            biggest = max(biggest, delta.numel() * delta.element_size())
            write_linear_grad(stage.linear, delta, feats[k])
        self.transient_bytes = biggest
        return float(F.cross_entropy(logits, y))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.net(x).argmax(dim=1)

    def state_tensors(self) -> list[Tensor]:
        return list(self.feedback)


class DFA(DirectFeedback):
    """Direct feedback alignment: the output error ``e`` reaches every layer through ``B_k``."""

    def projected(self, error: Tensor, y: Tensor) -> Tensor:
        return error


class DRTP(DirectFeedback):
    """Direct random target projection: the (sign of the) target, ``-onehot(y)``, through
    ``B_k`` — hidden layers need no output error, so they can update before the output
    exists (Frenkel et al. 2021). The ``1/B`` batch mean matches :func:`output_error`."""

    def projected(self, error: Tensor, y: Tensor) -> Tensor:
        return -F.one_hot(y, error.shape[1]).to(error.dtype) / error.shape[0]


__all__ = ["DERIVATIVES", "DFA", "DRTP", "DirectFeedback", "offers_derivative",
           "output_error", "resolve_derivative", "write_linear_grad"]
