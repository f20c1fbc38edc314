"""Specs of the sequence models of ``spiking-seq``: one spec kind per block family (RWKV, LMU),
spiking or as the non-spiking twin, carrying the constructor arguments of
``neuromorph.networks.sequence_models.SequenceModel``. The trained weights (and the LMU's fixed
Legendre matrices ``Abar``, ``Bbar``) are the state beside the spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neuromorph.primitives.spike import get_surrogate
from neuromorph.specs.base import Spec, register


@dataclass(frozen=True)
class _SequenceBlocks(Spec):
    """The constructor arguments of a ``networks.sequence_models.SequenceModel`` of one block
    family: ``task`` (``"classify"``: real input ``[T, B, n_in]``; ``"lm"``: tokens of a
    vocabulary of ``n_in``), ``n_out`` outputs, ``n_blocks`` blocks of width ``d`` and hidden
    width ``d_ffn``, ``spiking`` (LIF activations along the sequence, ``tau_steps`` steps,
    surrogate ``surrogate`` of width ``scale``) or the non-spiking twin (ReLU), ``analog_input``
    (no activation after the input layer) and the ``seed`` of the initial weights. Sequence
    steps are the unit of time (``dt = 1`` step); the weights are the state beside the spec."""

    task: str = "classify"
    n_in: int = 1
    n_out: int = 1
    d: int = 64
    d_ffn: int = 128
    n_blocks: int = 1
    spiking: bool = True
    tau_steps: float = 2.0
    surrogate: str = "fast_sigmoid"
    scale: float | None = None
    analog_input: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in ("classify", "lm"):
            raise ValueError(f"{self.kind}.task must be 'classify' or 'lm', got {self.task!r}")
        for name in ("n_in", "n_out", "d", "d_ffn", "n_blocks"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{self.kind}.{name} must be an integer >= 1, got {value}")
            self._set(name, int(value))
        if not self.tau_steps >= 1.0:
            raise ValueError(f"{self.kind}.tau_steps must be >= 1 step, got {self.tau_steps}")
        if self.scale is not None and not self.scale > 0:
            raise ValueError(f"{self.kind}.scale must be > 0 or None, got {self.scale}")
        get_surrogate(self.surrogate)  # one ValueError naming the known surrogates
        self._set("tau_steps", float(self.tau_steps))


@register
@dataclass(frozen=True)
class RWKVSequenceModel(_SequenceBlocks):
    """A sequence model of RWKV blocks (SpikeGPT-style: token shift, WKV linear attention,
    sigmoid gates; ``networks.spiking_rwkv.RWKVBlock``), spiking or its twin."""

    kind = "RWKVSequenceModel"
    no_nir_node = ('RWKV blocks: token shift, WKV linear attention (exponentials and a '
                   'division per step) and sigmoid gates')


@register
@dataclass(frozen=True)
class LMUSequenceModel(_SequenceBlocks):
    """A sequence model of LMU blocks (LMUFormer-style; ``networks.spiking_lmu.LMUBlock``):
    ``d_u`` memory channels of ``order`` Legendre states over a window of ``theta_steps``
    steps, memory gain initialised at ``memory_gain``; spiking or its twin."""

    kind = "LMUSequenceModel"
    no_nir_node = ('LMU blocks: a Legendre state-space memory with trained per-state '
                   'gains read as ON/OFF pairs')
    d_u: int = 8
    order: int = 8
    theta_steps: float = 40.0
    memory_gain: float = 4.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("d_u", "order"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{self.kind}.{name} must be an integer >= 1, got {value}")
            self._set(name, int(value))
        if not (self.theta_steps > 0 and math.isfinite(self.theta_steps)):
            raise ValueError(f"{self.kind}.theta_steps must be > 0 steps, got {self.theta_steps}")
        self._set("theta_steps", float(self.theta_steps))
        self._set("memory_gain", float(self.memory_gain))


__all__ = ["LMUSequenceModel", "RWKVSequenceModel"]
