"""Physical layers: a fixed physical system ``P`` followed by a trainable digital map ``W``.

``PhysicalLayer``:  ``h_out = W f(h) + b`` with ``f(h) = [P(h); h]`` (``concat_input=True``,
as in the PhyLL authors' acoustic and microwave code) or ``f(h) = P(h)``. With
``physics=False`` the system is switched off, ``f(h) = h``: the honest "no physics" baseline.

``P`` is a black box (forward-only). A rule that needs gradients through ``P`` passes an
explicit differentiable stand-in per call (``physics=``): the digital twin for in-silico
backprop, or the PAT estimator (physical forward, twin backward).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from neuromorph.access import Access

if TYPE_CHECKING:  # the layer only drives a system; hardware_models sits above networks
    from neuromorph.hardware_models.base import PhysicalSystem

Physics = Callable[[Tensor], Tensor]


class PhysicalLayer(nn.Module):
    """``h_out = W [P(h); h] + b``; only ``W`` and ``b`` (``self.linear``) are trainable."""

    def __init__(
        self,
        system: PhysicalSystem,
        n_out: int,
        concat_input: bool = True,
        physics: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.system = system
        self.concat_input = bool(concat_input)
        self.physics_on = bool(physics)
        n_features = system.n_in
        if self.physics_on:
            n_features = system.n_out + (system.n_in if self.concat_input else 0)
        self.n_in, self.n_out, self.n_features = system.n_in, int(n_out), n_features
        self.linear = nn.Linear(n_features, self.n_out, bias=bias)

    @property
    def access(self) -> Access:
        """What a rule may use: the system's access, or full autograd when physics is off."""
        return self.system.access if self.physics_on else Access.DIFFERENTIABLE

    def features(self, h: Tensor, physics: Physics | None = None) -> Tensor:
        """``f(h)``: measure the system (or the given stand-in) and concatenate ``h``."""
        if h.dim() != 2 or h.shape[1] != self.n_in:
            raise ValueError(
                f"PhysicalLayer expects [B, {self.n_in}] (the system's drive width), got "
                f"{tuple(h.shape)}; make the previous layer's width equal {self.n_in}"
            )
        if not self.physics_on:
            return h
        p = (physics or self.system)(h)
        return torch.cat([p, h], dim=1) if self.concat_input else p

    def forward(self, h: Tensor, physics: Physics | None = None) -> Tensor:
        return self.linear(self.features(h, physics))

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.linear.parameters())


def pat_physics(system: PhysicalSystem, twin: nn.Module) -> Physics:
    """Physics-aware training estimator: value of ``P(h)``, gradient of ``twin(h)``.

    ``y = twin(h) + stopgrad(P(h) - twin(h))`` (Wright et al., Nature 2022).
    """

    def estimate(h: Tensor) -> Tensor:
        y_twin = twin(h)
        return y_twin + (system(h.detach()) - y_twin).detach()

    return estimate


class LabelEmbedding(nn.Module):
    """Writes the label into reserved input slots: ``x[:, :C] = scale * onehot(y)``.

    The first ``n_classes`` input columns are reserved: they must be zero in the data (build
    inputs with :func:`reserve_label_slots`), so real data is never erased and a NaN there
    never passes. Labels are integers in ``[0, n_classes)``: an ``int``, an integer tensor, or
    a float tensor of integer values (``[0., 2.]``, as numpy loaders give); a fractional or
    NaN label is refused, never truncated. ``scale`` is fixed from the training data (its
    largest magnitude), so one sample's embedding does not depend on the rest of its batch.
    """

    def __init__(self, n_classes: int, scale: float) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"need at least 2 classes, got {n_classes}")
        self.n_classes = int(n_classes)
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: Tensor, y: Tensor | int) -> Tensor:
        C = self.n_classes
        if x.dim() != 2 or x.shape[1] < C:
            raise ValueError(f"input has shape {list(x.shape)}; need [batch, >= {C}] with the "
                             f"first {C} columns reserved (reserve_label_slots)")
        self._check_reserved_columns_are_zero(x)
        labels = self._labels(y, x.shape[0])
        out = x.clone()
        out[torch.arange(x.shape[0], device=x.device), labels.to(x.device)] = \
            self.scale.to(x.dtype)
        return out

    def _check_reserved_columns_are_zero(self, x: Tensor) -> None:
        bad = (x[:, : self.n_classes] != 0).nonzero()  # NaN != 0 too
        if len(bad):
            row, col = (int(i) for i in bad[0])
            raise ValueError(
                f"LabelEmbedding writes labels into input columns 0..{self.n_classes - 1}, but "
                f"they hold data (x[{row}, {col}] = {float(x[row, col])}); put the features "
                f"after zero label slots with reserve_label_slots(x, n_classes={self.n_classes},"
                " width)")

    def _labels(self, y: Tensor | int, batch: int) -> Tensor:
        """``y`` as an int64 tensor ``[batch]`` of labels in ``[0, n_classes)``."""
        labels = torch.as_tensor(y)
        if labels.dim() == 0:
            labels = labels.expand(batch)
        if labels.shape != (batch,):
            raise ValueError(f"labels have shape {list(labels.shape)}; need one per sample, "
                             f"[{batch}]")
        if labels.is_floating_point():
            whole = torch.isfinite(labels) & (labels == labels.round())
            if not whole.all():
                value = labels[~whole][0].item()
                raise ValueError(f"label {value} is not a whole number; labels are class "
                                 f"indices 0..{self.n_classes - 1} (pass y.long())")
        elif labels.dtype == torch.bool:
            raise ValueError("labels are booleans; pass class indices (y.long())")
        labels = labels.long()
        outside = (labels < 0) | (labels >= self.n_classes)
        if outside.any():
            raise ValueError(
                f"label {int(labels[outside][0])} is outside 0..{self.n_classes - 1}; the "
                f"embedding reserves n_classes={self.n_classes} input columns "
                "(reserve_label_slots), so use LabelEmbedding(n_classes) with every class")
        return labels


def reserve_label_slots(x: Tensor, n_classes: int, width: int) -> Tensor:
    """``[zeros(C), x, zeros(pad)]`` padded to ``width`` columns (the first system's drive)."""
    need = n_classes + x.shape[1]
    if need > width:
        raise ValueError(
            f"{n_classes} label slots + {x.shape[1]} features = {need} > the system's "
            f"{width} input channels; use a system with n_in >= {need}"
        )
    out = torch.zeros(x.shape[0], width, dtype=x.dtype)
    out[:, n_classes:need] = x
    return out


class PhysicalNetwork(nn.Module):
    """A stack of physical layers with a label embedding (the PhyLL architecture)."""

    def __init__(self, layers: Sequence[PhysicalLayer], embedding: LabelEmbedding) -> None:
        super().__init__()
        for a, b in zip(layers[:-1], layers[1:], strict=False):
            if a.n_out != b.n_in:
                raise ValueError(
                    f"layer widths do not chain: a layer outputs {a.n_out} but the next "
                    f"system takes {b.n_in} drive channels"
                )
        self.layers = nn.ModuleList(layers)
        self.embedding = embedding

    @property
    def n_classes(self) -> int:
        return self.embedding.n_classes

    def physical_queries(self) -> int:
        """Samples measured so far by the distinct systems of this network."""
        systems = {id(layer.system): layer.system for layer in self.layers}
        return sum(system.queries for system in systems.values())
