"""Energy and latency per inference from counted synaptic operations and neuron updates.

Counting (:class:`OpCounts`, per inference = per sample, averaged over the batch):

- a **synaptic operation** is one input event times one non-zero weight it reaches:
  ``synops = sum_t sum_j events_j[t] * nnz(W[:, j])`` (a multi-spike event counts its spikes);
- a **neuron update** is one neuron advanced by one step: ``T * N`` per layer (the chips in the
  catalog update every neuron every step);
- ``spikes`` are the events the layers emit.

Estimates (:func:`estimate`), by the chip's ``energy_model``:

- ``"per_op"`` (Loihi 2): ``E = synops * E_synop + updates * E_update``; latency assumes each
  layer on its own cores, cores working in parallel, a step lasting as long as its busiest core
  (``synops * t_synop + neurons * t_update``). Loihi 2's figures are Loihi 1's (upper bound).
- ``"power"`` (Xylo, Speck): a real-time chip runs ``T`` steps of ``dt``: ``E = P * T dt`` with
  the published power (Xylo: idle + dynamic on an audio task; Speck: resting power only, a lower
  bound); latency ``T dt``.
- no published figure: ``energy = None`` and the counts stand alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from neuromorph.hardware_models.chips.catalog import get_chip
from neuromorph.hardware_models.chips.integer import IntegerRun
from neuromorph.hardware_models.chips.spec import ChipSpec
from neuromorph.hardware_models.chips.view import layer_views


@dataclass
class OpCounts:
    """Per-inference activity of a network: one entry per layer."""

    synops: list[float]
    updates: list[float]
    spikes: list[float]
    neurons: list[int]
    steps: int

    @property
    def total_synops(self) -> float:
        return float(sum(self.synops))

    @property
    def total_updates(self) -> float:
        return float(sum(self.updates))


def _synops(events: Tensor, weight: Tensor) -> float:
    """``sum_t sum_j events_j[t] nnz(W[:, j])`` averaged over the batch (``events [T, B, M]``)."""
    fan_out = (weight != 0).sum(0).to(torch.float64)
    return float((events.to(torch.float64).sum((0, 1)) * fan_out).sum()) / events.shape[1]


def count_ops(network: nn.Module, x: Tensor) -> OpCounts:
    """Run the float ``network`` (a dense spiking ``SpikingSequential``) on ``x [T, B, N_in]``
    and count its operations."""
    views = layer_views(network)
    seq = list(network.layers) if hasattr(network, "layers") else [network]
    T, B = x.shape[:2]
    synops, updates, spikes, neurons = [], [], [], []
    h = x
    with torch.no_grad():
        for view, layer in zip(views, seq, strict=True):
            w = view.weight if view.rec_weight is None else torch.cat([view.weight,
                                                                       view.rec_weight], 1)
            out = layer(h)
            ev = h if view.rec_weight is None else torch.cat([h, out], 2)
            synops.append(_synops(ev, w))
            updates.append(float(T * view.n_out))
            neurons.append(view.n_out)
            spiking = view.neuron_kind != "li"
            spikes.append(float(out.sum()) / B if spiking else 0.0)
            h = out
    return OpCounts(synops, updates, spikes, neurons, T)


def count_integer_ops(run: IntegerRun, layers: list) -> OpCounts:
    """Count the operations of an integer chip model's run (``IntegerNetwork.run`` output)."""
    synops, updates, spikes, neurons = [], [], [], []
    for ev, out, layer in zip(run.events, run.outputs, layers, strict=True):
        T, B = ev.shape[:2]
        w = layer.weight if layer.rec_weight is None else torch.cat([layer.weight,
                                                                     layer.rec_weight], 1)
        full = ev if layer.rec_weight is None else torch.cat([ev, out], 2)
        synops.append(_synops(full, w))
        n = layer.weight.shape[0]
        updates.append(float(T * n))
        neurons.append(n)
        spikes.append(float(out.sum()) / B if layer.spiking else 0.0)
    return OpCounts(synops, updates, spikes, neurons, run.events[0].shape[0])


@dataclass
class EnergyReport:
    """Energy (J) and latency (s) of one inference on a chip, with the assumptions used."""

    chip: str
    synops: float
    neuron_updates: float
    spikes: float
    energy: float | None
    latency: float | None
    breakdown: dict[str, float] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        e = "n/a (no published figure)" if self.energy is None else f"{self.energy * 1e9:.3g} nJ"
        lat = "n/a" if self.latency is None else f"{self.latency * 1e6:.3g} us"
        return (f"{self.chip}: {self.synops:.4g} synaptic ops, {self.neuron_updates:.4g} neuron "
                f"updates, {self.spikes:.4g} spikes per inference; energy {e}, latency {lat}")


def _per_op(c: OpCounts, chip: ChipSpec, report: EnergyReport) -> None:
    if chip.energy_per_synop is None or chip.energy_per_neuron_update is None:
        report.assumptions.append(f"{chip.full_name}: no published per-operation energy")
        return
    e_syn = c.total_synops * chip.energy_per_synop
    e_upd = c.total_updates * chip.energy_per_neuron_update
    report.energy = e_syn + e_upd
    report.breakdown = {"synaptic_ops": e_syn, "neuron_updates": e_upd}
    report.assumptions.append(f"energy: {chip.energy_per_synop:g} J/synop "
                              f"({chip.sources['energy_per_synop']}), "
                              f"{chip.energy_per_neuron_update:g} J/update")
    if chip.time_per_synop and chip.time_per_neuron_update and chip.neurons_per_core:
        step = 0.0
        for syn, n in zip(c.synops, c.neurons, strict=True):
            cores = max(1, math.ceil(n / chip.neurons_per_core))
            busy = (syn / c.steps / cores) * chip.time_per_synop \
                + (n / cores) * chip.time_per_neuron_update
            step = max(step, busy)
        report.latency = step * c.steps
        report.assumptions.append("latency: one layer per core group, cores in parallel, no "
                                  "barrier or I/O overhead")


def _power(c: OpCounts, chip: ChipSpec, dt: float, report: EnergyReport) -> None:
    duration = c.steps * dt
    report.latency = duration
    power = (chip.static_power or 0.0) + (chip.dynamic_power or 0.0)
    if power == 0.0:
        report.assumptions.append(f"{chip.full_name}: no published power")
        return
    report.energy = power * duration
    report.breakdown = {"static": (chip.static_power or 0.0) * duration,
                        "dynamic": (chip.dynamic_power or 0.0) * duration}
    report.assumptions.append(f"real time: {c.steps} steps x {dt:g} s at {power * 1e6:.4g} uW "
                              f"({chip.sources.get('static_power', '')})")
    if chip.dynamic_power is None:
        report.assumptions.append("dynamic power not published: the energy is a lower bound")
    else:
        report.assumptions.append("the published dynamic power is for one application; real "
                                  "dynamic power scales with activity")


def estimate(counts: OpCounts, chip: str | ChipSpec, dt: float) -> EnergyReport:
    """Energy and latency per inference of ``counts`` on ``chip`` (step ``dt`` seconds)."""
    spec = get_chip(chip)
    report = EnergyReport(spec.name, counts.total_synops, counts.total_updates,
                          float(sum(counts.spikes)), None, None)
    if spec.energy_model == "per_op":
        _per_op(counts, spec, report)
    else:
        _power(counts, spec, dt, report)
    return report


__all__ = ["EnergyReport", "OpCounts", "count_integer_ops", "count_ops", "estimate"]
