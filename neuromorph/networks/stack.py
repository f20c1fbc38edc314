"""Stacked networks with a fixed transform between trainable maps: the substrate contract.

A :class:`StackNet` is a chain of :class:`Stage`\\ s; stage ``k`` is a fixed transform ``F_k``
(the *substrate*: a ReLU, a physical system, a spiking population, an integer chip) followed
by a trainable digital map ``W_k``::

    out_k = W_k F_k(out_{k-1}),     out_0 = x,     logits = out_L

A one-hidden-layer network is two stages: ``F_1`` the identity (the input), ``F_2`` the
substrate. Every trainable map therefore sees *measured* features ``F_k(out_{k-1})`` as its
input: a layer-local loss on ``out_k`` needs no gradient through any ``F``. What a rule may
know about ``F`` is its :class:`Transform`'s ``access``:

=================  =========================================================================
``FORWARD_ONLY``   only ``F(z)`` (a measurement; noisy, maybe not differentiable)
``LOCAL``          also the elementwise derivative ``F'(z)`` (:meth:`Transform.derivative`):
                   ``F`` acts neuron by neuron and each neuron knows its own slope
``DIFFERENTIABLE`` autograd through ``F`` (a digital layer, a surrogate-gradient neuron)
=================  =========================================================================

A transform may also offer a differentiable stand-in, :meth:`Transform.twin`, which is what
physics-aware training (PAT) uses; it says nothing about the transform's own access.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from neuromorph.access import Access, AccessError

Physics = Callable[[Tensor], Tensor]


class Transform(nn.Module):
    """A fixed map ``F: [B, n_in] -> [B, n_out]`` between two trainable maps (see module doc)."""

    access: Access = Access.FORWARD_ONLY
    elementwise: bool = False
    counted: bool = True  # does a call count as a substrate query (False for the input stage)

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ValueError(f"transform widths must be >= 1, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.queries = 0

    def measure(self, z: Tensor) -> Tensor:
        """The transform itself (subclasses); counted by :meth:`forward`."""
        raise NotImplementedError

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.n_in:
            raise ValueError(f"{type(self).__name__} expects [B, {self.n_in}], got "
                             f"{tuple(z.shape)}; make the previous map's width {self.n_in}")
        if self.counted:
            self.queries += z.shape[0]
        return self.measure(z)

    def derivative(self, z: Tensor) -> Tensor:
        """Elementwise ``F'(z)`` ``[B, n_in]``; only for ``LOCAL`` (or better) transforms."""
        raise AccessError(
            f"{type(self).__name__} offers {self.access.label()} access: its elementwise "
            "derivative is unknown. Choose a rule that needs only forward access, or give "
            "the substrate a local derivative."
        )

    def twin(self) -> Physics:
        """A differentiable stand-in of ``F`` (what PAT differentiates); AccessError if none."""
        if self.access >= Access.DIFFERENTIABLE:
            return self
        raise AccessError(
            f"{type(self).__name__} has no differentiable twin. Give the substrate a model "
            "(a simulated system's twin, or fit_system() on measured pairs), or choose a rule "
            "that needs only forward access."
        )

    def perturb(self, strength: float, generator: torch.Generator) -> None:
        """Drift the hardware's constants by ``strength`` (relative); default: nothing drifts."""

    def reset_counters(self) -> None:
        self.queries = 0


class Identity(Transform):
    """``F(z) = z``: the input stage."""

    access = Access.DIFFERENTIABLE
    elementwise = True
    counted = False

    def __init__(self, n: int) -> None:
        super().__init__(n, n)

    def measure(self, z: Tensor) -> Tensor:
        return z

    def derivative(self, z: Tensor) -> Tensor:
        return torch.ones_like(z)


class ReLU(Transform):
    """``F(z) = max(z, 0)``: the digital reference substrate."""

    access = Access.DIFFERENTIABLE
    elementwise = True

    def __init__(self, n: int) -> None:
        super().__init__(n, n)

    def measure(self, z: Tensor) -> Tensor:
        return torch.relu(z)

    def derivative(self, z: Tensor) -> Tensor:
        return (z > 0).to(z.dtype)


class Stage(nn.Module):
    """``out = linear(F(h))``: a fixed transform then a trainable digital map."""

    def __init__(self, transform: Transform, n_out: int, bias: bool = True) -> None:
        super().__init__()
        self.transform = transform
        self.linear = nn.Linear(transform.n_out, int(n_out), bias=bias)
        self.n_in, self.n_out = transform.n_in, int(n_out)

    @property
    def access(self) -> Access:
        return self.transform.access

    def features(self, h: Tensor, physics: Physics | None = None) -> Tensor:
        return (physics or self.transform)(h)

    def forward(self, h: Tensor, physics: Physics | None = None) -> Tensor:
        return self.linear(self.features(h, physics))

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.linear.parameters())


class StackNet(nn.Module):
    """A chain of :class:`Stage` s; ``embedding`` (optional) writes labels into the input."""

    def __init__(self, stages: Sequence[Stage], embedding: nn.Module | None = None) -> None:
        super().__init__()
        if len(stages) < 1:
            raise ValueError("a StackNet needs at least one stage")
        for a, b in zip(stages[:-1], stages[1:], strict=False):
            if a.n_out != b.n_in:
                raise ValueError(f"stage widths do not chain: a stage outputs {a.n_out} but "
                                 f"the next transform takes {b.n_in}")
        self.layers = nn.ModuleList(stages)
        self.embedding = embedding

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_classes(self) -> int:
        return self.layers[-1].n_out

    @property
    def access(self) -> Access:
        """The least access any transform offers (what a whole-network rule may assume)."""
        return min(stage.access for stage in self.layers)

    def forward(self, x: Tensor, physics: Sequence[Physics | None] | None = None) -> Tensor:
        h = x
        for k, stage in enumerate(self.layers):
            h = stage(h, physics[k] if physics is not None else None)
        return h

    def record(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Detached ``(features, outputs)`` of every stage: ``features[k] = F_k(out_{k-1})``."""
        feats, outs = [], []
        h = x
        with torch.no_grad():
            for stage in self.layers:
                f = stage.features(h)
                h = stage.linear(f)
                feats.append(f)
                outs.append(h)
        return feats, outs

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for stage in self.layers for p in stage.trainable_parameters()]

    def physical_queries(self) -> int:
        """Samples measured so far by the network's transforms."""
        return sum(stage.transform.queries for stage in self.layers)

    def reset_counters(self) -> None:
        for stage in self.layers:
            stage.transform.reset_counters()
