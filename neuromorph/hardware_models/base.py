"""The physical-system contract: a black box we can drive and measure, never differentiate.

A :class:`PhysicalSystem` maps a batch of drive signals ``x`` of shape ``[B, n_in]`` to
measurements ``y`` of shape ``[B, n_out]``. Calling it:

1. validates the input (2-D, ``n_in`` columns, finite values) with an error that says the fix;
2. applies input-side non-idealities (e.g. DAC quantisation) in order;
3. runs the ideal physics ``_physics(x)`` without gradients;
4. applies output-side non-idealities (noise, drift, perturbations, ADC) in order;
5. counts the physical queries (``queries`` = samples measured, ``calls`` = batches measured);
6. returns the measurement; if the drive carried gradients, backpropagating into the system
   raises :class:`~neuromorph.access.AccessError` (a black box has no gradient).

The access level is ``FORWARD_ONLY``. Gradients come only from an explicit digital twin,
:meth:`PhysicalSystem.twin`, which runs the same ideal physics differentiably (optionally with
deliberately mismatched parameters) and is what physics-aware training uses.

Randomness (noise, drift) flows from the system's own ``torch.Generator`` seeded at
construction: the same seed and the same sequence of calls give the same measurements.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from neuromorph.access import Access, AccessError

if TYPE_CHECKING:
    from neuromorph.hardware_models.nonidealities import NonIdeality


class _ForwardOnlyBoundary(torch.autograd.Function):
    """Identity in the forward pass; its backward refuses with a clear error."""

    @staticmethod
    def forward(ctx, drive: Tensor, y: Tensor, name: str) -> Tensor:  # type: ignore[override]
        ctx.name = name
        return y.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        raise AccessError(
            f"tried to backpropagate through {ctx.name}, a forward-only physical system. "
            "Use a forward-only rule (PhyLL, forward-forward), or physics-aware training "
            "with a digital twin: system.twin()."
        )


class PhysicalSystem(nn.Module):
    """Base class of every simulated or measured physical system (forward-only access).

    Subclasses implement :meth:`_physics` as pure torch code on ``[B, n_in]`` float tensors;
    the base class handles validation, non-idealities, query counting and the access contract.
    Fixed physical constants live in buffers (never parameters: nothing here is trainable).
    """

    access = Access.FORWARD_ONLY

    def __init__(
        self,
        n_in: int,
        n_out: int,
        nonidealities: Sequence[NonIdeality] = (),
        seed: int = 0,
    ) -> None:
        super().__init__()
        if n_in < 1 or n_out < 1:
            raise ValueError(f"n_in and n_out must be >= 1, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out, self.seed = int(n_in), int(n_out), int(seed)
        self.nonidealities: list[NonIdeality] = list(nonidealities)
        self.queries = 0
        self.calls = 0
        self.generator = torch.Generator().manual_seed(self.seed + 1_000_003)

    # -- the physics -------------------------------------------------------------------
    def _physics(self, x: Tensor) -> Tensor:
        """Ideal, noiseless physics ``[B, n_in] -> [B, n_out]`` in torch (differentiable)."""
        raise NotImplementedError

    # -- the black box -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return type(self).__name__

    def validate_input(self, x: Tensor) -> Tensor:
        """Check shape, dtype and finiteness; return a detached float tensor."""
        if not isinstance(x, Tensor):
            x = torch.as_tensor(x)
        if x.dim() == 1:
            raise ValueError(
                f"{self.name} expects a batch [B, {self.n_in}], got a vector of shape "
                f"{tuple(x.shape)}; use x.unsqueeze(0) for a single sample"
            )
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"{self.name} expects input of shape [B, {self.n_in}], got {tuple(x.shape)}"
            )
        if not torch.is_floating_point(x):
            x = x.float()
        if not torch.isfinite(x).all():
            raise ValueError(
                f"{self.name} got NaN or infinite inputs; check the data and the layer before it"
            )
        return x.detach()

    def forward(self, x: Tensor) -> Tensor:
        """Measure the system: ``y = ADC(noise(physics(DAC(x))))``, forward-only."""
        drive = x
        x = self.validate_input(x)
        with torch.no_grad():
            for effect in self.nonidealities:
                x = effect.on_input(x, self)
            y = self._physics(x)
            for effect in self.nonidealities:
                y = effect.on_output(y, self)
        self.queries += x.shape[0]
        self.calls += 1
        if isinstance(drive, Tensor) and drive.requires_grad:
            return _ForwardOnlyBoundary.apply(drive, y, self.name)
        return y

    def reset_counters(self) -> None:
        self.queries = 0
        self.calls = 0

    def reseed(self, seed: int) -> None:
        """Restart the noise stream (the physics constants are unchanged)."""
        self.generator.manual_seed(int(seed) + 1_000_003)

    def physical_constants(self) -> list[Tensor]:
        """Tensors that describe the hardware (what a perturbation or a wrong twin changes).

        Default: every floating or complex buffer and parameter. Override to exclude analysis
        helpers that are not physics (e.g. a DFT basis).
        """
        tensors = [b for _, b in self.named_buffers()] + list(self.parameters())
        return [t for t in tensors if torch.is_floating_point(t) or torch.is_complex(t)]

    # -- the digital twin ------------------------------------------------------------------
    def twin(self, mismatch: float = 0.0, seed: int = 0) -> DigitalTwin:
        """A differentiable model of this system's ideal physics.

        ``mismatch`` > 0 perturbs every physical constant ``c`` (each floating buffer) to
        ``c + mismatch * std(c) * N(0, 1)``, a deliberately wrong twin. The twin never sees
        the system's non-idealities or later perturbations: it is a model, not the hardware.
        """
        return DigitalTwin(self, mismatch, seed)


def perturb_constants(
    system: PhysicalSystem, strength: float, generator: torch.Generator
) -> None:
    """In place: ``c <- c + strength * std(c) * N(0, 1)`` for every physical constant ``c``.

    The constants are ``system.physical_constants()``. Complex constants get circular complex
    Gaussian noise of the same scale. Used for deliberately mismatched twins and for sudden
    hardware perturbations.
    """
    with torch.no_grad():
        for c in system.physical_constants():
            if not (torch.is_floating_point(c) or torch.is_complex(c)) or c.numel() == 0:
                continue
            scale = c.abs().std() if c.numel() > 1 else c.abs().mean()
            noise = torch.randn(c.shape, generator=generator, dtype=torch.float32)
            if torch.is_complex(c):
                imag = torch.randn(c.shape, generator=generator, dtype=torch.float32)
                noise = torch.complex(noise, imag) / 2**0.5
            c.add_(strength * scale * noise.to(device=c.device, dtype=c.dtype))


class DigitalTwin(nn.Module):
    """Differentiable copy of a system's ideal physics (``access = DIFFERENTIABLE``)."""

    access = Access.DIFFERENTIABLE

    def __init__(self, system: PhysicalSystem, mismatch: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        if mismatch < 0:
            raise ValueError(f"mismatch must be >= 0, got {mismatch}")
        model = copy.deepcopy(system)
        model.nonidealities = []
        if mismatch > 0:
            perturb_constants(model, mismatch, torch.Generator().manual_seed(int(seed) + 77))
        for param in model.parameters():
            param.requires_grad_(False)
        self.model = model
        self.n_in, self.n_out, self.mismatch = system.n_in, system.n_out, float(mismatch)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"twin of {self.model.name} expects [B, {self.n_in}], got {tuple(x.shape)}"
            )
        return self.model._physics(x)
