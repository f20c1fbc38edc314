"""Build the equivalent Brian2 network of a neuromorph event-driven network, run it, read it back.

``to_brian2(net)`` writes, for every object of a :class:`neuromorph.sim.Network`, the Brian2
object with the same equations, parameters, state, connectivity (the CSR synapses, created with
``Synapses.connect(i=proj.pre, j=proj.post)`` so that synapse ``k`` is CSR entry ``k``), delays,
plasticity and monitors, and returns a :class:`Brian2Network` whose ``monitors`` read like ours.

Equations are written dimensionless with every constant in SI units (volts, seconds, amperes);
only time constants carry Brian2's ``second``. That is exactly the arithmetic Brian2 does
internally, without unit bookkeeping. Integration methods mirror the engine's: ``'exact'`` for
(CuBa-)LIF, ``'exponential_euler'`` for conductance-based LIF, ``'euler'`` for Izhikevich.

Inputs: a :class:`SpikeGeneratorGroup` is copied spike for spike. A :class:`PoissonGroup` is
dispatched by ``poisson=`` (see :data:`POISSON_MODES`): ``"replay"`` (default) turns it into a
Brian2 ``SpikeGeneratorGroup`` fed with the spikes our run drew (``input_spikes={group: monitor}``
or ``{group: (indices, times)}``), so both simulators see identical input; ``"brian2"`` uses
Brian2's own ``PoissonGroup`` (same statistics, different draws; for benchmarks).

Brian2 is optional: ``pip install 'neuromorph[brian2]'`` (or ``pip install brian2``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from neuromorph.sim.groups import resolve

INSTALL_HINT = ("the Brian2 bridge needs Brian2: install it with "
                "`pip install 'neuromorph[brian2]'` (or `pip install brian2`)")
TARGETS = ("numpy", "cython")


def require_brian2() -> ModuleType:
    """Import Brian2 or raise an ImportError that says how to install it."""
    try:
        import brian2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc
    return brian2


def set_target(target: str, cache_dir: str | None = None) -> None:
    """Select Brian2's runtime code generation target (``"numpy"`` or ``"cython"``).

    Cython compiles into ``cache_dir`` when given; otherwise a directory chosen earlier is kept,
    and the first choice is ``$BRIAN2_CACHE_DIR`` or ``/tmp/neuromorph_brian2_cache``, so that
    repeated runs reuse the compiled code.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown Brian2 target {target!r}; choose one of {TARGETS}")
    b2 = require_brian2()
    b2.prefs.codegen.target = target
    prefs = b2.prefs.codegen.runtime.cython
    if cache_dir is not None or prefs.cache_dir is None:
        prefs.cache_dir = cache_dir or os.environ.get("BRIAN2_CACHE_DIR",
                                                      "/tmp/neuromorph_brian2_cache")


def poisson_spike_times(
    n: int, rates: float | np.ndarray, duration: float, dt: float, seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pre-drawn Poisson spikes ``(indices, times)`` for a SpikeGeneratorGroup in both simulators.

    Neuron ``i`` spikes at step ``k`` (time ``k dt``) iff ``U < rates[i] dt`` (Brian2's
    ``PoissonGroup`` rule), ``U`` uniform from ``numpy.random.default_rng(seed)``; sorted by time.
    """
    steps = int(round(duration / dt))
    p = np.broadcast_to(np.asarray(rates, dtype=np.float64) * dt, (n,))
    rng = np.random.default_rng(seed)
    k, i = np.nonzero(rng.random((steps, n)) < p)
    return i.astype(np.int64), k * dt


# --------------------------------------------------------------------------- neuron groups
@dataclass
class GroupModel:
    """A Brian2 ``NeuronGroup`` description: equations, threshold, reset, method, namespace."""

    eqs: str
    threshold: str
    reset: str
    method: str
    namespace: dict[str, Any]
    variables: list[str]  # state rows copied from our group (v, channels, u, I)


def _v_flag(group: Any) -> str:
    return " (unless refractory)" if group.refractory > 0 and group.clamp_v else ""


def _channel_lines(group: Any, ns: dict[str, Any], b2: ModuleType) -> list[str]:
    lines = []
    for k, ch in group.channels.items():
        ns[f"tau_{k}"] = ch.tau * b2.second
        lines.append(f"d{k}/dt = -{k} / tau_{k} : 1")
    return lines


def _lif_model(group: Any, b2: ModuleType) -> GroupModel:
    ns: dict[str, Any] = {"tau_m": group.tau_m * b2.second, "v_rest": group.v_rest,
                          "r_m": group.r_m, "v_threshold": group.v_threshold,
                          "v_reset": group.v_reset}
    drive = "".join(f" + s_{k} * {k}" for k in group.channels)
    ns.update({f"s_{k}": ch.scale for k, ch in group.channels.items()})
    eqs = [f"dv/dt = (v_rest - v{drive} + r_m * I) / tau_m : 1{_v_flag(group)}",
           *_channel_lines(group, ns, b2), "I : 1"]
    return GroupModel("\n".join(eqs), "v > v_threshold", "v = v_reset", "exact", ns,
                      ["v", *group.channels, "I"])


def _coba_model(group: Any, b2: ModuleType) -> GroupModel:
    c = 1.0 / group.g_leak if group.g_leak is not None else 1.0
    ns: dict[str, Any] = {"tau_m": group.tau_m * b2.second, "v_rest": group.v_rest,
                          "r_m": group.r_m, "v_threshold": group.v_threshold,
                          "v_reset": group.v_reset, "g_scale": c}
    drive = "".join(f" + g_scale * {k} * (E_{k} - v)" for k in group.channels)
    ns.update({f"E_{k}": ch.e_rev for k, ch in group.channels.items()})
    eqs = [f"dv/dt = (v_rest - v{drive} + r_m * I) / tau_m : 1{_v_flag(group)}",
           *_channel_lines(group, ns, b2), "I : 1"]
    return GroupModel("\n".join(eqs), "v > v_threshold", "v = v_reset", "exponential_euler",
                      ns, ["v", *group.channels, "I"])


def _izhikevich_model(group: Any, b2: ModuleType) -> GroupModel:
    from neuromorph.sim.propagators import IZH_K0, IZH_K1, IZH_K2

    ns: dict[str, Any] = {"K2": IZH_K2, "K1": IZH_K1, "K0": IZH_K0, "a": group.a, "b": group.b,
                          "c": group.c, "d": group.d, "r_m": group.r_m,
                          "v_peak": group.v_threshold}
    drive = "".join(f" + {k}" for k in group.channels)
    eqs = [f"dv/dt = (K2 * v**2 + K1 * v + K0 - u{drive} + r_m * I) / second : 1"
           f"{_v_flag(group)}", "du/dt = a * (b * v - u) / second : 1",
           *_channel_lines(group, ns, b2), "I : 1"]
    return GroupModel("\n".join(eqs), "v > v_peak", "v = c\nu += d", "euler", ns,
                      ["v", *group.channels, "u", "I"])


#: neuromorph group class name -> Brian2 model writer (the one place group types are dispatched)
GROUP_MODELS: dict[str, Callable[[Any, ModuleType], GroupModel]] = {
    "LIFGroup": _lif_model, "COBALIFGroup": _coba_model, "IzhikevichGroup": _izhikevich_model,
}


def group_model(group: Any) -> GroupModel:
    """The Brian2 description of one of our neuron groups (raises for unknown types)."""
    kind = type(group).__name__
    if kind not in GROUP_MODELS:
        raise TypeError(f"no Brian2 equivalent for {kind}; supported groups: "
                        f"{sorted(GROUP_MODELS)}")
    return GROUP_MODELS[kind](group, require_brian2())


# --------------------------------------------------------------------------- synapses
def _clipped(delta: str, bounds: str) -> str:
    """Brian2 statement ``w = clip(w + delta)`` with the engine's additive or soft bounds."""
    if bounds == "additive":
        return f"w = clip(w + {delta}, w_min, w_max)"
    soft = (f"int({delta} > 0) * {delta} * (w_max - w) / (w_max - w_min)"
            f" + int({delta} <= 0) * {delta} * (w - w_min) / (w_max - w_min)")
    return f"w = clip(w + {soft}, w_min, w_max)"


def _pair_code(rule: Any, target_var: str, b2: Any) -> tuple[str, str, str, dict[str, Any]]:
    """Pair STDP (``neuromorph.sim.STDP``): Brian2's own STDP example."""
    ns = {"tau_pre": rule.tau_pre * b2.second, "tau_post": rule.tau_post * b2.second,
          "a_pre": rule.a_pre, "a_post": rule.a_post, "w_min": rule.w_min, "w_max": rule.w_max}
    model = ("w : 1\n"
             "dApre/dt = -Apre / tau_pre : 1 (event-driven)\n"
             "dApost/dt = -Apost / tau_post : 1 (event-driven)")
    op = "+=" if rule.pairing == "all_to_all" else "="
    on_pre = f"{target_var}_post += w\nApre {op} a_pre\n{_clipped('Apost', rule.bounds)}"
    on_post = f"Apost {op} a_post\n{_clipped('Apre', rule.bounds)}"
    return model, on_pre, on_post, ns


def _triplet_code(rule: Any, target_var: str, b2: Any) -> tuple[str, str, str, dict[str, Any]]:
    """Triplet STDP (``neuromorph.sim.TripletSTDPRule``, Pfister & Gerstner 2006): a pre spike
    reads ``r2`` before its own increment, a post spike ``o2`` before its own."""
    p = rule.params
    ns = {"tau_plus": p.tau_plus * b2.second, "tau_minus": p.tau_minus * b2.second,
          "tau_x": p.tau_x * b2.second, "tau_y": p.tau_y * b2.second,
          "A2p": p.a2_plus, "A3p": p.a3_plus, "A2m": p.a2_minus, "A3m": p.a3_minus,
          "w_min": rule.w_min, "w_max": rule.w_max}
    model = "w : 1\n" + "\n".join(
        f"d{v}/dt = -{v} / {tau} : 1 (event-driven)"
        for v, tau in (("r1", "tau_plus"), ("r2", "tau_x"), ("o1", "tau_minus"), ("o2", "tau_y")))
    op = "+=" if rule.interaction == "all_to_all" else "="
    on_pre = (f"{target_var}_post += w\n{_clipped('(-o1 * (A2m + A3m * r2))', rule.bounds)}\n"
              f"r1 {op} 1\nr2 {op} 1")
    on_post = f"{_clipped('(r1 * (A2p + A3p * o2))', rule.bounds)}\no1 {op} 1\no2 {op} 1"
    return model, on_pre, on_post, ns


def _stdp_code(rule: Any, target_var: str) -> tuple[str, str, str, dict[str, Any]]:
    """``(model, on_pre, on_post, namespace)`` of a Brian2 synapse equal to ``rule``."""
    from neuromorph.sim.plasticity import STDP
    from neuromorph.sim.plasticity_events import TripletSTDPRule

    codes = {STDP: _pair_code, TripletSTDPRule: _triplet_code}  # rule type -> translation
    if type(rule) not in codes:
        raise TypeError(f"the Brian2 bridge translates {sorted(c.__name__ for c in codes)}, got "
                        f"{type(rule).__name__}; make this projection static for the export")
    return codes[type(rule)](rule, target_var, require_brian2())


def _rule_of(proj: Any) -> Any:
    plast = getattr(proj, "plasticity", None)
    return getattr(plast, "rule", plast)


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


# --------------------------------------------------------------------------- monitors
class SpikeMonitorView:
    """Brian2 ``SpikeMonitor`` read like ours: ``.i`` (local to ``[start, stop)``), ``.t`` (s)."""

    def __init__(self, mon: Any, start: int, stop: int) -> None:
        self.b2mon, self.start, self.stop = mon, start, stop

    def _keep(self) -> np.ndarray:
        i = np.asarray(self.b2mon.i[:], dtype=np.int64)
        return (i >= self.start) & (i < self.stop)

    @property
    def i(self) -> np.ndarray:
        i = np.asarray(self.b2mon.i[:], dtype=np.int64)
        return i[self._keep()] - self.start

    @property
    def t(self) -> np.ndarray:
        return np.asarray(self.b2mon.t_[:], dtype=np.float64)[self._keep()]

    @property
    def count(self) -> np.ndarray:
        return np.bincount(self.i, minlength=self.stop - self.start)

    @property
    def num_spikes(self) -> int:
        return int(self.i.size)

    def spike_trains(self) -> dict[int, np.ndarray]:
        i, t = self.i, self.t
        return {k: t[i == k] for k in range(self.stop - self.start)}


class StateMonitorView:
    """Brian2 ``StateMonitor`` read like ours: ``.t`` (s) and ``mon["v"]`` ``[K, n_rec]``."""

    def __init__(self, mon: Any, variables: tuple[str, ...]) -> None:
        self.b2mon, self.variables = mon, variables

    @property
    def t(self) -> np.ndarray:
        return np.asarray(self.b2mon.t_[:], dtype=np.float64)

    def __getitem__(self, var: str) -> np.ndarray:
        if var not in self.variables:
            raise KeyError(f"variable {var!r} was not recorded; recorded: {self.variables}")
        return np.asarray(getattr(self.b2mon, var), dtype=np.float64).T

    def __getattr__(self, var: str) -> np.ndarray:
        if var in self.__dict__.get("variables", ()):
            return self[var]
        raise AttributeError(var)


class RateMonitorView:
    """Brian2 ``PopulationRateMonitor`` read like ours: ``.t`` (s), ``.rate`` (Hz)."""

    def __init__(self, mon: Any) -> None:
        self.b2mon = mon

    @property
    def t(self) -> np.ndarray:
        return np.asarray(self.b2mon.t_[:], dtype=np.float64)

    @property
    def rate(self) -> np.ndarray:
        return np.asarray(self.b2mon.rate_[:], dtype=np.float64)


# --------------------------------------------------------------------------- the network
InputSpikes = Any  # one of our SpikeMonitors, or a tuple (indices, times in seconds)
POISSON_MODES = ("replay", "brian2")


def _spike_arrays(spikes: InputSpikes) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(spikes, "i") and hasattr(spikes, "t"):
        return np.asarray(spikes.i, dtype=np.int64), np.asarray(spikes.t, dtype=np.float64)
    if isinstance(spikes, tuple) and len(spikes) == 2:
        return _np(spikes[0]).astype(np.int64), _np(spikes[1]).astype(np.float64)
    raise TypeError("input spikes must be a SpikeMonitor or a tuple (indices, times in seconds), "
                    f"got {type(spikes).__name__}")


@dataclass
class Brian2Network:
    """A Brian2 network built by :func:`to_brian2`, with our names for its parts.

    ``objects[name]`` is the Brian2 object of our object ``name`` (groups, inputs, projections:
    ``Synapses`` whose synapse ``k`` is our CSR entry ``k``); ``monitors[name]`` reads our
    monitor ``name``'s Brian2 twin with our layout (``mon["v"]`` is ``[K, n_rec]``).
    """

    network: Any
    dt: float
    objects: dict[str, Any]
    monitors: dict[str, Any]
    replay: dict[str, Any] = field(default_factory=dict)  # Poisson groups awaiting spikes
    target: str = "numpy"
    t: float = 0.0

    def set_input_spikes(self, name: str, spikes: InputSpikes) -> None:
        """Give the replayed Poisson group ``name`` the spikes our run drew (monitor or tuple)."""
        if name not in self.replay and name not in self.objects:
            raise KeyError(f"no input group named {name!r}; inputs: {sorted(self.replay)}")
        b2 = require_brian2()
        i, t = _spike_arrays(spikes)
        self.objects[name].set_spikes(i, t * b2.second)
        self.replay.pop(name, None)

    def run(self, duration: float, *, target: str | None = None, report: str | None = None,
            ) -> float:
        """Run ``duration`` seconds with runtime ``target``; returns the wall time in seconds."""
        if self.replay:
            raise RuntimeError(f"Poisson group(s) {sorted(self.replay)} are replayed but have no "
                               "spikes: record them in our run (SpikeMonitor) and call "
                               "set_input_spikes(name, monitor), or use poisson='brian2'")
        b2 = require_brian2()
        set_target(target or self.target)
        t0 = time.perf_counter()
        self.network.run(duration * b2.second, report=report)
        self.t += duration
        return time.perf_counter() - t0

    def get(self, name: str, var: str) -> np.ndarray:
        """Current values of ``var`` of our object ``name`` (a projection's ``w``: CSR order)."""
        return np.asarray(getattr(self.objects[name], var)[:], dtype=np.float64)

    def weights(self, name: str) -> np.ndarray:
        return self.get(name, "w")


class _Builder:
    """Walks our network's objects and creates their Brian2 twins (one method per kind)."""

    def __init__(self, net: Any, poisson: str, input_spikes: Mapping[Any, InputSpikes]) -> None:
        if poisson not in POISSON_MODES:
            raise ValueError(f"unknown poisson mode {poisson!r}; choose one of {POISSON_MODES}")
        self.b2, self.net, self.poisson = require_brian2(), net, poisson
        self.dtq = net.dt * self.b2.second
        self.spikes = {getattr(k, "name", k): v for k, v in input_spikes.items()}
        self.objects: dict[str, Any] = {}
        self.monitors: dict[str, Any] = {}
        self.replay: dict[str, Any] = {}
        self.extra: list[Any] = []

    def ref(self, obj: Any, start: int = 0, stop: int | None = None) -> Any:
        """The Brian2 object (or subgroup ``[start:stop]``) of our group ``obj``."""
        b2obj = self.objects[obj.name]
        stop = obj.n if stop is None else stop
        return b2obj if (start, stop) == (0, obj.n) else b2obj[start:stop]

    def group(self, g: Any) -> None:
        m = group_model(g)
        ref = g.refractory * self.b2.second if g.refractory > 0 else False
        G = self.b2.NeuronGroup(g.n, m.eqs, threshold=m.threshold, reset=m.reset,
                                refractory=ref, method=m.method, namespace=m.namespace,
                                dt=self.dtq)
        for var in m.variables:
            setattr(G, var, _np(g.get(var)).astype(np.float64))
        self.objects[g.name] = G

    def spike_generator(self, s: Any) -> None:
        times = _np(s.times).astype(np.float64) * self.b2.second
        self.objects[s.name] = self.b2.SpikeGeneratorGroup(s.n, _np(s.indices), times,
                                                           dt=self.dtq)

    def poisson_group(self, p: Any) -> None:
        if self.poisson == "brian2":
            rates = _np(p.rates).astype(np.float64) * self.b2.Hz
            self.objects[p.name] = self.b2.PoissonGroup(p.n, rates=rates, dt=self.dtq)
            return
        G = self.b2.SpikeGeneratorGroup(p.n, np.zeros(0, dtype=np.int64),
                                        np.zeros(0) * self.b2.second, dt=self.dtq)
        self.objects[p.name] = G
        if p.name in self.spikes:
            i, t = _spike_arrays(self.spikes[p.name])
            G.set_spikes(i, t * self.b2.second)
        else:
            self.replay[p.name] = G

    def projection(self, p: Any) -> None:
        b2 = self.b2
        src, tgt = self.objects[p.source_group.name], self.objects[p.target_group.name]
        rule = _rule_of(p)
        if rule is None:
            model, on_pre, on_post, ns = "w : 1", f"{p.target_var}_post += w", None, {}
        else:
            model, on_pre, on_post, ns = _stdp_code(rule, p.target_var)
        steps = np.floor(_np(p.delay) / self.net.dt + 0.5).astype(np.int64)
        same = steps.size == 0 or bool((steps == steps[0]).all())
        delay = (float(steps[0]) * self.net.dt * b2.second if steps.size else None) \
            if same else None
        S = b2.Synapses(src, tgt, model, on_pre=on_pre, on_post=on_post, namespace=ns,
                        delay=delay, dt=self.dtq)
        S.connect(i=_np(p.pre) + p.s0, j=_np(p.post) + p.t0)
        if p.nnz:
            S.w[:] = _np(p.weights).astype(np.float64)
            if not same:
                S.delay[:] = steps * self.net.dt * b2.second
        self.objects[p.name] = S

    def current_input(self, c: Any) -> None:
        G = self.objects[c.group.name]
        key = f"current_input_{len(self.extra)}"
        G.namespace[key] = self.b2.TimedArray(_np(c.values).astype(np.float64), dt=self.dtq)
        sub = G if (c.start, c.stop) == (0, c.group.n) else G[c.start:c.stop]
        op = sub.run_regularly(f"I = {key}(t, i)", when="start", order=1, dt=self.dtq)
        self.extra.append(op)

    def spike_monitor(self, m: Any) -> None:
        mon = self.b2.SpikeMonitor(self.objects[m.group.name])
        self.monitors[m.name] = SpikeMonitorView(mon, m.start, m.stop)
        self.extra.append(mon)

    def state_monitor(self, m: Any) -> None:
        src, offset = m.source, 0
        if hasattr(src, "nnz"):  # a projection: record synapses (CSR order)
            b2src = self.objects[src.name]
        else:
            g, offset, _ = resolve(src)
            b2src = self.objects[g.name]
        rec = np.asarray(m.record_idx) + offset
        mon = self.b2.StateMonitor(b2src, list(m.variables), record=rec,
                                   dt=m.every * self.dtq)
        self.monitors[m.name] = StateMonitorView(mon, tuple(m.variables))
        self.extra.append(mon)

    def rate_monitor(self, m: Any) -> None:
        mon = self.b2.PopulationRateMonitor(self.ref(m.group, m.start, m.stop))
        self.monitors[m.name] = RateMonitorView(mon)
        self.extra.append(mon)


#: our object class name -> builder method (the one place object kinds are dispatched)
BUILDERS: dict[str, Callable[[_Builder, Any], None]] = {
    "LIFGroup": _Builder.group, "COBALIFGroup": _Builder.group,
    "IzhikevichGroup": _Builder.group, "SpikeGeneratorGroup": _Builder.spike_generator,
    "PoissonGroup": _Builder.poisson_group, "Projection": _Builder.projection,
    "CurrentInput": _Builder.current_input, "SpikeMonitor": _Builder.spike_monitor,
    "StateMonitor": _Builder.state_monitor, "PopulationRateMonitor": _Builder.rate_monitor,
}
#: build order: groups and inputs first, then what refers to them
_ORDER = {"Projection": 1, "CurrentInput": 2, "SpikeMonitor": 3, "StateMonitor": 3,
          "PopulationRateMonitor": 3}


def to_brian2(
    net: Any, *, input_spikes: Mapping[Any, InputSpikes] | None = None,
    poisson: str = "replay", target: str = "numpy",
) -> Brian2Network:
    """Build the Brian2 twin of our network ``net`` (before its first run; see the module doc).

    ``input_spikes`` maps a Poisson group (or its name) to the spikes to replay (one of our
    SpikeMonitors or ``(indices, times)``); groups left out can be given them later with
    :meth:`Brian2Network.set_input_spikes`. ``target`` is Brian2's runtime (``"numpy"`` or
    ``"cython"``), used by :meth:`Brian2Network.run`.
    """
    if net.step != 0:
        raise ValueError(f"to_brian2 mirrors a network from its initial state, but this one has "
                         f"already run {net.step} steps; build the Brian2 twin before net.run()")
    set_target(target)  # construction-time code (connect) runs on the chosen target too
    builder = _Builder(net, poisson, input_spikes or {})
    for obj in sorted(net.objects, key=lambda o: _ORDER.get(type(o).__name__, 0)):
        kind = type(obj).__name__
        if kind not in BUILDERS:
            raise TypeError(f"no Brian2 equivalent for {kind} ({obj.name!r}); supported: "
                            f"{sorted(BUILDERS)}")
        BUILDERS[kind](builder, obj)
    b2net = builder.b2.Network(*builder.objects.values(), *builder.extra)
    return Brian2Network(b2net, net.dt, builder.objects, builder.monitors, builder.replay,
                         target)
