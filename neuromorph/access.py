"""The black-box contract: what a learning rule may know about a layer.

=================  ==========================================================
``FORWARD_ONLY``   only measured outputs ``y = system(x)`` (noisy, drifting,
                   maybe non-differentiable): PhyLL, forward-forward, SPSA.
``LOCAL``          pre/post activity, traces, a modulator: Hebb, Oja, STDP.
``DIFFERENTIABLE`` autograd through the layer or a digital twin of it:
                   surrogate-gradient BPTT, PAT, backprop.
=================  ==========================================================

The levels are ordered: a layer that offers ``DIFFERENTIABLE`` also offers ``LOCAL`` and
``FORWARD_ONLY``. A rule that needs more than a layer offers is an :class:`AccessError`,
never a silent fallback.
"""

from __future__ import annotations

from enum import IntEnum


class AccessError(RuntimeError):
    """A learning rule asked a layer for more access than the layer offers."""


class Access(IntEnum):
    FORWARD_ONLY = 0
    LOCAL = 1
    DIFFERENTIABLE = 2

    def label(self) -> str:
        return self.name.lower().replace("_", "-")


def require_access(rule: str, needed: Access, layer: str, offered: Access) -> None:
    """Raise :class:`AccessError` unless ``offered`` covers ``needed``."""
    if offered >= needed:
        return
    hint = (
        "Give the layer a digital twin (e.g. ``system.twin()``) and use physics-aware "
        "training, or choose a rule that needs only forward access (PhyLL, forward-forward)."
        if needed == Access.DIFFERENTIABLE
        else "Choose a rule whose access need the layer meets."
    )
    raise AccessError(
        f"{rule} needs {needed.label()} access, but {layer} offers only "
        f"{offered.label()} access. {hint}"
    )
