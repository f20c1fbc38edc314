"""Deprecated location of the spike function and its surrogate gradients.

They live in :mod:`neuromorph.primitives.spike` (the bottom layer: the kernels and the engine
use them, and must not import ``learning_rules``). Nothing inside neuromorph's library imports
this module; it stays for user code and is removed once every experiment imports the new path.
"""

from neuromorph.primitives.spike import (
    SURROGATES,
    SpikeFunction,
    Surrogate,
    get_surrogate,
    resolve_scale,
    spike,
    surrogate_grad,
)

__all__ = [
    "SURROGATES",
    "SpikeFunction",
    "Surrogate",
    "get_surrogate",
    "resolve_scale",
    "spike",
    "surrogate_grad",
]
