"""cuba: Brian2's CUBA benchmark (Brette et al. 2007, benchmark 2) on the event engine.

4000 current-based LIF neurons (80 % excitatory), random connectivity with p = 0.02, exponential
synaptic currents, exact subthreshold integration on the dt grid::

    dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
    dge/dt = -ge / taue;  dgi/dt = -gi / taui
    threshold v > Vt, reset v = Vr, refractory 5 ms; on_pre ge += we (E) / gi += wi (I)

with taum 20 ms, taue 5 ms, taui 10 ms, Vt -50 mV, Vr -60 mV, El -49 mV, we = 60*0.27/10 mV,
wi = -20*4.5/10 mV and v(0) = Vr + rand() (Vt - Vr), as in Brian2's ``examples/CUBA.py``.
Writes a raster, the population rate, rate and ISI-CV histograms, metrics (mean rate, mean ISI
CV, wall time) and the final network state. When Brian2 is installed (``brian2_reference``,
default on), its twin of the same network (:func:`neuromorph.sim.brian2_bridge.to_brian2`: same
synapses, same v(0)) runs too, and its rate and ISI CV are drawn beside ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from neuromorph import plot  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.models import save_engine_network  # noqa: E402
from neuromorph.sim import (  # noqa: E402
    LIFGroup,
    Network,
    SpikeMonitor,
    StateMonitor,
    fixed_probability,
)
from neuromorph.sim.checkpoint import network_state  # noqa: E402

SUMMARY = "Brian2's CUBA benchmark: 4000 LIF neurons, E/I random network, raster, rates, ISI CV"

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Config(ExperimentConfig):
    n_neurons: int = 4000
    exc_fraction: float = 0.8
    p_connect: float = 0.02
    duration: float = 1.0  # s
    dt: float = 1e-4  # s
    tau_m: float = 20e-3
    tau_e: float = 5e-3
    tau_i: float = 10e-3
    v_threshold: float = -50e-3
    v_reset: float = -60e-3
    v_rest: float = -49e-3
    refractory: float = 5e-3
    w_exc: float = 60 * 0.27 / 10 * 1e-3  # V
    w_inh: float = -20 * 4.5 / 10 * 1e-3  # V
    dtype: Literal["float32", "float64"] = "float32"
    device: str = "cpu"
    backend: Literal["auto", "numpy", "torch"] = "auto"
    brian2_reference: bool = True  # when Brian2 is installed, run its twin and plot it beside

    def __post_init__(self) -> None:
        self.check(self.n_neurons >= 2, f"n_neurons must be >= 2, got {self.n_neurons}")
        self.check(0 < self.exc_fraction < 1, "exc_fraction must be in (0, 1)")
        self.check(0 < self.p_connect <= 1, "p_connect must be in (0, 1]")
        self.check(self.duration > 0 and self.dt > 0, "duration and dt must be > 0 seconds")
        self.check(self.duration >= self.dt, "duration must be at least one step (dt)")
        self.check(min(self.tau_m, self.tau_e, self.tau_i) > 0, "time constants must be > 0")
        self.check(self.v_reset < self.v_threshold, "v_reset must be below v_threshold")
        self.check(self.refractory >= 0, "refractory must be >= 0")


def build(cfg: Config) -> tuple[Network, LIFGroup, SpikeMonitor, StateMonitor]:
    """The CUBA network of ``cfg`` (connectivity and v(0) from the net's seeded streams)."""
    net = Network(dt=cfg.dt, device=cfg.device, dtype=DTYPES[cfg.dtype], seed=cfg.seed,
                  backend=cfg.backend)
    n, ne = cfg.n_neurons, int(round(cfg.n_neurons * cfg.exc_fraction))
    P = net.add(LIFGroup(n, tau_m=cfg.tau_m, v_rest=cfg.v_rest, v_threshold=cfg.v_threshold,
                         v_reset=cfg.v_reset, refractory=cfg.refractory,
                         channels={"ge": cfg.tau_e, "gi": cfg.tau_i}, name="P"))
    u = torch.rand(n, generator=net.generator("init"), dtype=torch.float64)
    P.set("v", cfg.v_reset + u * (cfg.v_threshold - cfg.v_reset))
    net.connect(P[:ne], P, "ge", fixed_probability(cfg.p_connect), weight=cfg.w_exc, name="Ce")
    net.connect(P[ne:], P, "gi", fixed_probability(cfg.p_connect), weight=cfg.w_inh, name="Ci")
    spikes = net.add(SpikeMonitor(P, name="spikes"))
    trace = net.add(StateMonitor(P, "v", record=list(range(min(3, n))), name="v_trace"))
    return net, P, spikes, trace


def isi_cv(i: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    """Coefficient of variation of the inter-spike intervals of each neuron with >= 3 spikes."""
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    isi, owner = isi[same], i[1:][same]
    count = np.bincount(owner, minlength=n)
    ok = count >= 2
    s1 = np.bincount(owner, isi, minlength=n)
    s2 = np.bincount(owner, isi * isi, minlength=n)
    mean = s1[ok] / count[ok]
    var = np.maximum(s2[ok] / count[ok] - mean**2, 0.0) * count[ok] / (count[ok] - 1)
    return np.sqrt(var) / mean


@dataclass
class Spikes:
    """One simulator's spikes: neuron indices and times (s)."""

    i: np.ndarray
    t: np.ndarray


def _population_rate(spikes: Spikes, cfg: Config, bin_s: float = 1e-3) -> tuple:
    bins = np.arange(0.0, cfg.duration + bin_s / 2, bin_s)
    counts, _ = np.histogram(spikes.t, bins)
    return counts / (cfg.n_neurons * bin_s), bins


def raster_figure(cfg: Config, ours: Spikes, trace_t: np.ndarray, trace_v: np.ndarray,
                  reference: Spikes | None = None) -> Figure:
    """Raster (excitatory / inhibitory coloured), the population rate in 1 ms bins (Brian2's
    beside ours when given) and the membrane potential of the recorded neurons."""
    fig, ax = plt.subplots(3, 1, figsize=(8, 8.5), sharex=True,
                           gridspec_kw={"height_ratios": [3, 1, 1]})
    ne = int(round(cfg.n_neurons * cfg.exc_fraction))
    plot.raster(ours.t, ours.i, groups={"excitatory": (0, ne), "inhibitory": (ne, cfg.n_neurons)},
                time_unit="ms", ax=ax[0],
                title=f"CUBA: {cfg.n_neurons} LIF neurons, p = {cfg.p_connect} (neuromorph)")
    ax[0].set_xlabel("")
    runs = {"neuromorph": ours} | ({"Brian2": reference} if reference is not None else {})
    for k, (name, spikes) in enumerate(runs.items()):
        rate, bins = _population_rate(spikes, cfg)
        ax[1].stairs(rate, bins * 1e3, color=("k", "C3")[k], ls=("-", "--")[k],
                     lw=0.9 - 0.3 * k, label=name)
    ax[1].set_ylabel("population\nrate (Hz)")
    ax[1].legend(fontsize=7, loc="upper right")
    for k in range(trace_v.shape[1]):
        ax[2].plot(trace_t * 1e3, trace_v[:, k] * 1e3, lw=0.7, label=f"neuron {k}")
    ax[2].axhline(cfg.v_threshold * 1e3, color="0.5", ls=":", lw=0.8, label="threshold")
    ax[2].set_ylabel("v (mV)")
    ax[2].set_xlabel("time (ms)")
    ax[2].legend(fontsize=7, loc="upper right", ncol=4)
    fig.tight_layout()
    return fig


def rates_figure(cfg: Config, ours: Spikes, reference: Spikes | None = None) -> Figure:
    """Firing-rate and ISI-CV histograms per neuron, Brian2's beside ours on shared bins."""
    runs = {"neuromorph": ours} | ({"Brian2": reference} if reference is not None else {})
    n = cfg.n_neurons
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    plot.histograms({k: np.bincount(s.i, minlength=n) / cfg.duration for k, s in runs.items()},
                    xlabel="firing rate (Hz)", ax=ax[0], title="rate per neuron")
    plot.histograms({k: isi_cv(s.i, s.t, n) for k, s in runs.items()},
                    xlabel="ISI CV (std / mean of the intervals)", ax=ax[1],
                    title="ISI CV per neuron (>= 3 spikes)")
    ax[0].set_ylabel("neurons")
    ax[1].set_ylabel("neurons")
    fig.tight_layout()
    return fig


def _brian2_twin(net: Network, cfg: Config) -> object | None:
    """Brian2's twin of the built network (same synapses, same v(0)), or None when the
    reference is off or Brian2 is not installed."""
    if not cfg.brian2_reference:
        return None
    try:
        from neuromorph.sim.brian2_bridge import to_brian2

        return to_brian2(net)
    except ImportError as err:
        print(f"cuba: no Brian2 reference ({err})")
        return None


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "cuba", cfg)
    t0 = time.perf_counter()
    net, P, spikes, trace = build(cfg)
    net.build()
    twin = _brian2_twin(net, cfg)
    t1 = time.perf_counter()
    net.run(cfg.duration, progress=progress, desc="cuba")
    t2 = time.perf_counter()
    i, t = spikes.i, spikes.t
    reference = None
    if twin is not None:
        twin_wall = twin.run(cfg.duration)
        theirs = twin.monitors["spikes"]
        reference = Spikes(theirs.i, theirs.t)
    n, ne = cfg.n_neurons, int(round(cfg.n_neurons * cfg.exc_fraction))
    rates = np.bincount(i, minlength=n) / cfg.duration
    cvs = isi_cv(i, t, n)
    projections = (net["Ce"], net["Ci"])
    syn = sum(p.nnz for p in projections)
    count = np.bincount(i, minlength=n)
    metrics = {
        "mean_rate_hz": float(rates.mean()),
        "rate_exc_hz": float(rates[:ne].mean()),
        "rate_inh_hz": float(rates[ne:].mean()),
        "isi_cv_mean": float(cvs.mean()) if cvs.size else float("nan"),
        "neurons_with_cv": float(cvs.size),
        "n_spikes": float(i.size),
        "n_synapses": float(syn),
        "synaptic_events": float(sum(count[p.pre.numpy() + p.s0].sum() for p in projections)),
        "build_time_s": t1 - t0,
        "wall_time_s": t2 - t1,
        "wall_time_per_bio_second_s": (t2 - t1) / cfg.duration,
    }
    text = (f"cuba: {n} neurons, {syn} synapses, {cfg.duration} s at dt = {cfg.dt * 1e3} ms\n"
            f"mean rate {metrics['mean_rate_hz']:.2f} Hz (E {metrics['rate_exc_hz']:.2f}, "
            f"I {metrics['rate_inh_hz']:.2f}), mean ISI CV {metrics['isi_cv_mean']:.3f}\n"
            f"simulated in {metrics['wall_time_s']:.2f} s wall ({net.ops.name} backend, "
            f"{cfg.device}, {cfg.dtype}); build {metrics['build_time_s']:.2f} s")
    if reference is not None:
        ref_cvs = isi_cv(reference.i, reference.t, n)
        metrics |= {"brian2_mean_rate_hz": float(reference.i.size / n / cfg.duration),
                    "brian2_isi_cv_mean": float(ref_cvs.mean()) if ref_cvs.size else np.nan,
                    "brian2_wall_time_s": twin_wall}
        text += (f"\nBrian2 twin (same synapses and v(0), {twin.target}): mean rate "
                 f"{metrics['brian2_mean_rate_hz']:.2f} Hz, mean ISI CV "
                 f"{metrics['brian2_isi_cv_mean']:.3f}, {twin_wall:.2f} s wall")
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    run.save_figure(raster_figure(cfg, Spikes(i, t), trace.t, trace.v, reference), "raster")
    run.save_figure(rates_figure(cfg, Spikes(i, t), reference), "rates_isi_cv")
    np.savez_compressed(run.path / "spikes.npz", i=i.astype(np.int32), t=t)
    run.save_model(network_state(net), "final_state")
    save_engine_network(run.path, net, info={"experiment": "cuba"})  # model.json + model.pt
    return run.path
