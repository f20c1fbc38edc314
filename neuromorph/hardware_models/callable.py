"""Any Python callable ``[B, n_in] -> [B, n_out]`` as a physical system, unchanged.

A lab-instrument driver, a numpy function or a remote service plugs in as it is: it receives a
``numpy.ndarray`` of shape ``[B, n_in]`` (float32) and returns an array-like ``[B, n_out]``. It
is never differentiated, and it has no digital twin unless one is fitted from its measurements
(:func:`neuromorph.hardware_models.fitted.fit_system`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuromorph.access import AccessError
from neuromorph.hardware_models.base import DigitalTwin, PhysicalSystem
from neuromorph.hardware_models.nonidealities import NonIdeality


class CallableSystem(PhysicalSystem):
    """Wrap ``fn(x: np.ndarray[B, n_in]) -> array-like[B, n_out]`` as a forward-only system."""

    def __init__(
        self,
        fn: Callable[[np.ndarray], Any],
        n_in: int,
        n_out: int,
        nonidealities: Sequence[NonIdeality] = (),
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"CallableSystem needs a callable, got {type(fn).__name__}")
        super().__init__(n_in, n_out, nonidealities, seed)
        self.fn = fn
        self._name = name or getattr(fn, "__name__", type(fn).__name__)

    @property
    def name(self) -> str:
        return f"CallableSystem({self._name})"

    def _physics(self, x: Tensor) -> Tensor:
        out = self.fn(x.detach().cpu().numpy().astype(np.float32))
        y = torch.as_tensor(np.asarray(out, dtype=np.float32), device=x.device)
        if y.shape != (x.shape[0], self.n_out):
            raise ValueError(
                f"{self.name} returned shape {tuple(y.shape)}; expected [{x.shape[0]}, "
                f"{self.n_out}] (one row of n_out measurements per input row)"
            )
        if not torch.isfinite(y).all():
            raise ValueError(f"{self.name} returned NaN or infinite measurements")
        return y

    def twin(self, mismatch: float = 0.0, seed: int = 0) -> DigitalTwin:
        raise AccessError(
            f"{self.name} is a black box with no digital twin. Fit one from its measurements "
            "with neuromorph.hardware_models.fitted.fit_system(inputs, outputs)."
        )


def as_system(obj: Any, n_in: int | None = None, n_out: int | None = None) -> PhysicalSystem:
    """Return ``obj`` if it is a :class:`PhysicalSystem`, else wrap a callable.

    For a callable, ``n_in`` is required; ``n_out`` is probed with one all-zero drive if
    omitted (counted as a physical query).
    """
    if isinstance(obj, PhysicalSystem):
        return obj
    if not callable(obj):
        raise TypeError(
            f"expected a PhysicalSystem or a callable [B, n_in] -> [B, n_out], "
            f"got {type(obj).__name__}"
        )
    if n_in is None:
        raise ValueError("wrapping a callable needs n_in (the number of drive channels)")
    if n_out is None:
        probe = np.asarray(obj(np.zeros((1, n_in), dtype=np.float32)))
        if probe.ndim != 2 or probe.shape[0] != 1:
            raise ValueError(f"callable returned shape {probe.shape} for a [1, {n_in}] probe")
        n_out = int(probe.shape[1])
    return CallableSystem(obj, n_in, n_out)
