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

    The first ``n_classes`` input columns are reserved (zero in the data); ``scale`` is fixed
    from the training data (its largest magnitude), so one sample's embedding does not depend
    on the rest of its batch.
    """

    def __init__(self, n_classes: int, scale: float) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"need at least 2 classes, got {n_classes}")
        self.n_classes = int(n_classes)
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x: Tensor, y: Tensor | int) -> Tensor:
        if x.shape[1] < self.n_classes:
            raise ValueError(f"input has {x.shape[1]} columns; need >= {self.n_classes} slots")
        out = x.clone()
        out[:, : self.n_classes] = 0
        labels = torch.full((x.shape[0],), y) if isinstance(y, int) else y
        out[torch.arange(x.shape[0]), labels.long()] = self.scale.to(x.dtype)
        return out


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
