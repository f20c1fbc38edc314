"""Chip limits as data: :class:`ChipSpec` (validated, every figure with its published source).

A field set to ``None`` means "not published / not a fixed limit" (e.g. SpiNNaker2's neuron
count per core is whatever the software fits in 128 KB). ``sources`` maps each field name that
has a value to the document it comes from; ``__post_init__`` refuses a figure without a source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

#: neuron kinds a chip may support natively (neuromorph neuron names, see ``NEURONS``)
NEURON_KINDS = ("lif", "cuba_lif", "if", "li", "alif")
RESET_KINDS = ("zero", "subtract")
#: fields that are metadata, not figures needing a source
_META = ("name", "full_name", "sources", "notes", "neuron_types", "reset_types", "recurrent",
         "conv", "dense", "decay", "energy_model", "refractory")


@dataclass(frozen=True)
class ChipSpec:
    """One neuromorphic chip's constraints and costs (SI units: J, s, W, Hz).

    ``decay`` names how leaks are represented: ``"mult12"`` (12-bit multiplicative, Loihi),
    ``"bitshift"`` (``v -= v >> dash``, Xylo), ``"none"`` (IF only), ``"software"``.
    ``energy_model`` is ``"per_op"`` (energy from counted synaptic ops and neuron updates) or
    ``"power"`` (a real-time chip: measured power x inference duration).
    ``synaptic_currents``: how many exponential synaptic currents (time constants) one neuron
    holds; ``refractory``: whether a neuron can hold still for a refractory period.
    """

    name: str
    full_name: str
    neuron_types: tuple[str, ...]
    reset_types: tuple[str, ...]
    recurrent: bool
    conv: bool
    dense: bool
    decay: str
    energy_model: str
    cores: int | None = None
    neurons_per_core: int | None = None
    synapses_per_core: int | None = None
    max_neurons: int | None = None
    max_synapses: int | None = None
    max_fan_in: int | None = None
    max_fan_out: int | None = None
    max_inputs: int | None = None
    max_outputs: int | None = None
    max_input_events: int | None = None  # events per input channel per time step
    max_spikes_per_step: int | None = None  # spikes one neuron may emit per step
    weight_bits: int | None = None
    state_bits: int | None = None
    threshold_bits: int | None = None
    max_delay_steps: int | None = None
    max_kernel: int | None = None
    max_channels: int | None = None
    synaptic_currents: int | None = None  # exponential synaptic currents per neuron
    energy_per_synop: float | None = None  # J per synaptic operation
    energy_per_neuron_update: float | None = None  # J per neuron update
    time_per_synop: float | None = None  # s
    time_per_neuron_update: float | None = None  # s
    static_power: float | None = None  # W
    dynamic_power: float | None = None  # W (application-specific where published so)
    sources: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    refractory: bool = False  # a refractory period is available (in whole steps)

    def __post_init__(self) -> None:
        bad_n = [n for n in self.neuron_types if n not in NEURON_KINDS]
        bad_r = [r for r in self.reset_types if r not in RESET_KINDS]
        if bad_n or bad_r:
            raise ValueError(f"{self.name}: unknown neuron types {bad_n} / resets {bad_r}; "
                             f"use {NEURON_KINDS} / {RESET_KINDS}")
        if self.energy_model not in ("per_op", "power"):
            raise ValueError(f"{self.name}: energy_model must be 'per_op' or 'power'")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _META or value is None:
                continue
            if not value > 0:
                raise ValueError(f"{self.name}.{f.name} must be positive, got {value}")
            if f.name not in self.sources:
                raise ValueError(f"{self.name}.{f.name} = {value} has no published source; add "
                                 f"sources[{f.name!r}]")
        unknown = set(self.sources) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"{self.name}: sources for unknown fields {sorted(unknown)}")

    def figures(self) -> dict[str, tuple[object, str]]:
        """Every field that has a value, with its source: ``name -> (value, source)``."""
        return {f.name: (getattr(self, f.name), self.sources.get(f.name, ""))
                for f in dataclasses.fields(self)
                if f.name not in _META and getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Violation:
    """One way a network does not fit a chip, with the change that would fix it."""

    rule: str
    layer: str
    message: str
    fix: str
    severity: str = "error"  # "error": will not map as is; "warning": maps, but differs

    def __str__(self) -> str:
        return f"[{self.severity}] {self.layer}: {self.message} -> fix: {self.fix}"


__all__ = ["NEURON_KINDS", "RESET_KINDS", "ChipSpec", "Violation"]
