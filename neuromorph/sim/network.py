"""The network: collects groups, inputs, projections and monitors, and runs Brian2's schedule.

One step ``n`` (``t = n dt``) runs the slots of Brian2's default schedule in order::

    start      StateMonitors record (values at t, before the update); CurrentInputs set I
    groups     state update of every neuron group over [t, t + dt], then white noise
    thresholds spikes of neuron groups (v > threshold, not refractory), Poisson and
               spike-generator groups; SpikeMonitors record
    synapses   every projection's pre pathway (propagation, STDP pre update), PoissonInputs,
               ring-buffer delivery into the groups, then every plastic projection's post pathway
    resets     reset of the neurons that spiked
    end        PopulationRateMonitors record

RNG streams (:meth:`Network.generator`) are seeded from ``(seed, stream name)``; ``"poisson"``
lives on the network device, the others on the CPU.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import torch
from tqdm import tqdm

from neuromorph.sim.backend import make_ops
from neuromorph.sim.connectivity import Connector
from neuromorph.sim.fused import FusedPropagation, fuse_static
from neuromorph.sim.groups import MAX_STEPS, NeuronGroup, SpikeSource, Subgroup, resolve
from neuromorph.sim.inputs import CurrentInput
from neuromorph.sim.loop_native import native_loop
from neuromorph.sim.monitors import PopulationRateMonitor, SpikeMonitor, StateMonitor
from neuromorph.sim.noise import WhiteNoise
from neuromorph.sim.plasticity import STDP
from neuromorph.sim.plasticity_events import RewardSTDPRule, TripletSTDPRule
from neuromorph.sim.poisson_input import PoissonInput
from neuromorph.sim.projections import Projection, WeightSpec
from neuromorph.sim.short_term import TsodyksMarkram
from neuromorph.units import as_seconds

DEVICE_STREAMS = ("poisson",)


class Network:
    """A simulation with an explicit ``dt`` (seconds); see the module docstring.

    ``dt`` (and :meth:`run`'s ``duration``) take seconds or a Brian2 ``Quantity`` (``0.1*ms``);
    a bare ``dt >= 0.01`` warns (:class:`~neuromorph.units.ImplausibleUnitWarning`), as it is
    most likely a Brian2 value in ms.
    """

    def __init__(self, dt: Any = 1e-4, *, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, seed: int = 0, backend: str = "auto",
                 kernels: str = "auto", fuse: bool = True) -> None:
        dt = as_seconds(dt, "dt", kind="step")
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt must be a finite time step > 0 seconds, got {dt}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.dt, self.device, self.dtype = float(dt), torch.device(device), dtype
        self.seed, self.backend, self.kernels, self.fuse = int(seed), backend, kernels, fuse
        self.ops = make_ops(backend, self.device)
        self.objects: list[Any] = []
        self.step = 0
        self.built = False
        self._generators: dict[str, torch.Generator] = {}

    @property
    def t(self) -> float:
        """Biological time reached, in seconds."""
        return self.step * self.dt

    # ------------------------------------------------------------------ building
    def generator(self, stream: str, device: str | torch.device | None = None) -> torch.Generator:
        """The generator of RNG stream ``stream`` (made on first use, seeded from the net seed;
        on ``device``, default: the net device for ``"poisson"``, the CPU otherwise)."""
        if stream not in self._generators:
            dev = torch.device(device) if device is not None else \
                self.device if stream in DEVICE_STREAMS else torch.device("cpu")
            g = torch.Generator(device=dev)
            g.manual_seed((self.seed * 1_000_003 + zlib.crc32(stream.encode())) % (2**63))
            self._generators[stream] = g
        return self._generators[stream]

    def add(self, *objects: Any) -> Any:
        """Add groups, inputs, projections, monitors; returns the first object added."""
        if self.built:
            raise RuntimeError("objects must be added before the first run() / checkpoint")
        names = {o.name for o in self.objects}
        for obj in objects:
            if any(obj is o for o in self.objects):
                continue
            if getattr(obj, "name", None) is None:
                obj.name = f"{type(obj).__name__.lower()}_{len(self.objects)}"
            if obj.name in names:
                raise ValueError(f"two objects are named {obj.name!r}; names must be unique")
            names.add(obj.name)
            self.objects.append(obj)
        return objects[0] if objects else None

    def connect(self, source: SpikeSource | Subgroup, target: NeuronGroup | Subgroup,
                target_var: str, connectivity: Connector, *, weight: WeightSpec,
                delay: float | torch.Tensor = 0.0,
                plasticity: STDP | TripletSTDPRule | RewardSTDPRule | TsodyksMarkram | None = None,
                name: str | None = None) -> Projection:
        """Build a :class:`Projection` with ``generator("connect")`` and add it."""
        proj = Projection(source, target, target_var, connectivity, weight=weight, delay=delay,
                          plasticity=plasticity, generator=self.generator("connect"), name=name)
        return self.add(proj)

    def _of(self, kind: type | tuple[type, ...]) -> list[Any]:
        return [o for o in self.objects if isinstance(o, kind)]

    def _check_members(self) -> None:
        for obj in self.objects:
            refs = []
            if isinstance(obj, Projection):
                refs = [obj.source_group, obj.target_group]
            elif isinstance(obj, SpikeMonitor | PopulationRateMonitor):
                refs = [obj.group]
            elif isinstance(obj, StateMonitor):
                src = obj.source
                refs = [src] if isinstance(src, Projection) else [resolve(src)[0]]
            elif isinstance(obj, CurrentInput | WhiteNoise | PoissonInput):
                refs = [obj.group]
            for r in refs:
                if not any(r is o for o in self.objects):
                    raise ValueError(f"{obj.name!r} uses {r.name or r!r}, which is not in the "
                                     "network; add it with net.add(...)")

    def build(self) -> None:
        """Allocate every object's state on the device (done by the first run)."""
        if self.built:
            return
        self._check_members()
        groups = self._of(NeuronGroup)
        sources = [o for o in self._of(SpikeSource) if not isinstance(o, NeuronGroup)]
        projections = self._of(Projection)
        for obj in groups + sources:
            obj._build(self)
        for p in projections:
            p._build(self)
        for g in groups:
            depth = max([p.ring_depth for p in projections if p.target_group is g], default=1)
            g.ring = torch.zeros(depth, g.n_targets * g.n, dtype=self.dtype, device=self.device) \
                if depth > 1 else None
            if g.ring is not None:
                g._ring = self.ops.view(g.ring)
                g._top_flat = g._top.reshape(-1)
        for p in projections:
            p._bind(self)
        for obj in self._of((CurrentInput, WhiteNoise, PoissonInput, StateMonitor, SpikeMonitor,
                             PopulationRateMonitor)):
            obj._build(self)
        self._compile(groups, sources, projections)
        self.built = True

    def _compile(self, groups: list[NeuronGroup], sources: list[SpikeSource],
                 projections: list[Projection]) -> None:
        self._native = native_loop(self)  # the compiled loop when it applies (loop_native.py)
        if self._native is not None:
            self._fused, self._fns = [], []
            return
        fns: list[Callable[[int], None]] = []
        fns += [m.record for m in self._of(StateMonitor)]
        fns += [c.apply for c in self._of(CurrentInput)]
        fns += [g.update for g in groups]
        fns += [w.apply for w in self._of(WhiteNoise)]
        fns += [g.threshold for g in groups] + [s.threshold for s in sources]
        fns += [m.record for m in self._of(SpikeMonitor)]
        clamped = [g for g in groups if g.R > 0 and g.clamp_v and any(
            p.target_group is g and p.row == 0 for p in projections)]
        fns += [g.hold_v for g in clamped]
        self._fused: list[FusedPropagation] = []
        if self.fuse:
            self._fused, projections = fuse_static(projections)
        fns += self._fused
        fns += [p.pre_pathway for p in projections]
        fns += [pi.apply for pi in self._of(PoissonInput)]
        fns += [self._deliver(g) for g in groups if g.ring is not None]
        fns += [g.restore_v for g in clamped]
        fns += [p.post_pathway for p in self._of(Projection) if p.plasticity is not None]
        fns += [g.reset for g in groups]
        fns += [m.record for m in self._of(PopulationRateMonitor)]
        self._fns = fns

    def _deliver(self, g: NeuronGroup) -> Callable[[int], None]:
        D, xp = g.ring.shape[0], self.ops.xp
        top, ring = g._top_flat, g._ring

        def deliver(step: int) -> None:
            row = ring[step % D]
            xp.add(top, row, out=top)
            row[...] = 0

        return deliver

    # ------------------------------------------------------------------ running
    def run(self, duration: Any, *, progress: bool = False, desc: str = "simulating") -> None:
        """Advance by ``duration`` seconds (``round(duration / dt)`` steps).

        ``duration``: seconds or a Brian2 ``Quantity``; a bare ``duration >= 100`` warns
        (:class:`~neuromorph.units.ImplausibleUnitWarning`; pass ``100*second`` or filter the
        warning when 100 s of biological time is meant)."""
        duration = as_seconds(duration, "duration", kind="duration")
        if not (duration >= 0 and math.isfinite(duration)):
            raise ValueError(f"duration must be a finite time >= 0 seconds, got {duration}")
        self.build()
        n_steps = int(round(duration / self.dt))
        if self.step + n_steps > MAX_STEPS:
            raise ValueError(f"a network runs at most {MAX_STEPS} steps (int32 spike steps); "
                             "use a larger dt or split the simulation")
        for p in self._of(Projection):
            p.prepare_run()
        for f in self._fused:
            f.prepare_run()
        fns = self._fns
        # segments only feed the progress bar: each costs the compiled loop a call (~40 us with
        # its setup, ~2 us per step at 100-step segments), so without a bar the run is one
        seg = max(1, min(n_steps, max(100, n_steps // 200))) if progress else max(1, n_steps)
        end = self.step + n_steps
        # integer steps shown as seconds (unit_scale): "0.2/0.5 s(bio)", never 0.20000000000000004
        bar = tqdm(total=n_steps, unit_scale=self.dt, desc=desc, unit="s(bio)",
                   bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} {unit} [{elapsed}<{remaining}]",
                   disable=not progress)
        try:
            while self.step < end:
                stop = min(end, self.step + seg)
                if self._native is not None:
                    self._native.run(self.step, stop)
                for step in range(self.step, stop) if self._native is None else ():
                    for f in fns:
                        f(step)
                bar.update(stop - self.step)
                self.step = stop
        finally:
            bar.close()
            self.flush()

    def flush(self) -> None:
        """Move every monitor's pending records to the host."""
        for m in self._of((StateMonitor, SpikeMonitor, PopulationRateMonitor)):
            m.flush()

    def __getitem__(self, name: str) -> Any:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object named {name!r}; names: {[o.name for o in self.objects]}")


__all__ = ["Network"]
