"""stdp-song2000: STDP drives the input weights of one neuron to a bimodal distribution.

Brian2's ``examples/synapses/STDP.py`` (after Song, Miller & Abbott 2000): 1000 Poisson inputs
at 15 Hz onto one LIF neuron whose excitatory input is conductance-like, with the synaptic
driving force linearised at the reset potential (the example's equation)::

    dv/dt = (ge * (Ee - vr) + El - v) / taum        dge/dt = -ge / taue
    threshold v > vt, reset v = vr
    on_pre:  ge += w; Apre += dApre; w = clip(w + Apost, 0, gmax)
    on_post: Apost += dApost; w = clip(w + Apre, 0, gmax)

taum 10 ms, Ee 0 mV, vt -54 mV, vr -60 mV, El -74 mV, taue 5 ms, taupre = taupost = 20 ms,
gmax 0.01, dApre = 0.01 gmax, dApost = -dApre taupre/taupost 1.05, w(0) ~ U[0, gmax], v(0) = 0
(Brian2's default). ``linearized=false`` uses the true conductance term ``ge (Ee - v)``
(COBALIFGroup, exponential Euler). After 100 s most weights sit near 0 or near gmax.
``brian2_reference=true`` also runs Brian2's twin of the network (:func:`neuromorph.sim.
brian2_bridge.to_brian2`, same w(0), replaying our input spikes) and draws its weights and rate
beside ours in ``weights.png``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

from neuromorph import plot  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.models import save_engine_network  # noqa: E402
from neuromorph.sim import (  # noqa: E402
    STDP,
    Channel,
    COBALIFGroup,
    LIFGroup,
    Network,
    PoissonGroup,
    PopulationRateMonitor,
    Projection,
    SpikeMonitor,
    StateMonitor,
    all_to_all,
)
from neuromorph.sim.checkpoint import network_state  # noqa: E402
from neuromorph.units import ImplausibleUnitWarning  # noqa: E402

SUMMARY = "Song et al. (2000) STDP: 1000 Poisson inputs onto one neuron -> bimodal weights"

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Config(ExperimentConfig):
    n_inputs: int = 1000
    input_rate: float = 15.0  # Hz
    duration: float = 100.0  # s
    dt: float = 1e-4  # s
    tau_m: float = 10e-3
    e_exc: float = 0.0
    v_threshold: float = -54e-3
    v_reset: float = -60e-3
    v_rest: float = -74e-3
    tau_e: float = 5e-3
    tau_pre: float = 20e-3
    tau_post: float = 20e-3
    g_max: float = 0.01
    d_a_pre: float = 0.01  # in units of g_max
    ltd_ratio: float = 1.05  # dApost = -dApre * taupre / taupost * ltd_ratio
    pairing: Literal["all_to_all", "nearest"] = "all_to_all"
    bounds: Literal["additive", "multiplicative"] = "additive"
    linearized: bool = True
    v_init: float = 0.0
    record_every: float = 0.1  # s, weight samples
    dtype: Literal["float32", "float64"] = "float64"
    device: str = "cpu"
    backend: Literal["auto", "numpy", "torch"] = "auto"
    brian2_reference: bool = False  # also run Brian2's twin on our input spikes (~2.4 s per s)

    def __post_init__(self) -> None:
        self.check(self.n_inputs >= 1, f"n_inputs must be >= 1, got {self.n_inputs}")
        self.check(self.input_rate >= 0, "input_rate must be >= 0 Hz")
        self.check(self.duration > 0 and self.dt > 0, "duration and dt must be > 0 seconds")
        self.check(self.duration >= self.dt, "duration must be at least one step (dt)")
        self.check(min(self.tau_m, self.tau_e, self.tau_pre, self.tau_post) > 0,
                   "time constants must be > 0")
        self.check(self.g_max > 0 and self.d_a_pre > 0, "g_max and d_a_pre must be > 0")
        self.check(self.record_every >= self.dt, "record_every must be >= dt")


def build(cfg: Config) -> tuple[Network, Projection, SpikeMonitor]:
    net = Network(dt=cfg.dt, device=cfg.device, dtype=DTYPES[cfg.dtype], seed=cfg.seed,
                  backend=cfg.backend)
    inp = net.add(PoissonGroup(cfg.n_inputs, cfg.input_rate, name="input"))
    kw = dict(tau_m=cfg.tau_m, v_rest=cfg.v_rest, v_threshold=cfg.v_threshold,
              v_reset=cfg.v_reset, name="neuron")
    if cfg.linearized:
        post = LIFGroup(1, channels={"ge": Channel(cfg.tau_e, scale=cfg.e_exc - cfg.v_reset)}, **kw)
    else:
        post = COBALIFGroup(1, channels={"ge": Channel(cfg.tau_e, e_rev=cfg.e_exc)}, **kw)
    net.add(post)
    post.set("v", cfg.v_init)
    a_pre = cfg.d_a_pre * cfg.g_max
    a_post = -a_pre * cfg.tau_pre / cfg.tau_post * cfg.ltd_ratio
    rule = STDP(tau_pre=cfg.tau_pre, tau_post=cfg.tau_post, a_pre=a_pre, a_post=a_post,
                w_max=cfg.g_max, pairing=cfg.pairing, bounds=cfg.bounds)
    g_max = cfg.g_max
    proj = net.connect(inp, post, "ge", all_to_all(), plasticity=rule, name="S",
                       weight=lambda k, g: torch.rand(k, generator=g, dtype=torch.float64) * g_max)
    return net, proj, net.add(SpikeMonitor(post, name="post_spikes"))


def bimodality(w: np.ndarray, g_max: float) -> dict[str, float]:
    """Fractions of weights within 10 % of 0 and of g_max, and Sarle's bimodality coefficient
    ``(skew^2 + 1) / (excess kurtosis + 3 (n-1)^2 / ((n-2)(n-3)))`` (> 5/9: bimodal; the
    uniform initial distribution has 5/9)."""
    x = w / g_max
    low, high = float(np.mean(x <= 0.1)), float(np.mean(x >= 0.9))
    n = x.size
    bc = float("nan")
    if n > 3 and x.std() > 0:
        g = float(stats.skew(x, bias=False))
        k = float(stats.kurtosis(x, bias=False))
        bc = (g * g + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    return {"frac_near_zero": low, "frac_near_gmax": high, "frac_bimodal": low + high,
            "frac_middle": float(np.mean((x > 0.4) & (x < 0.6))), "bimodality_coefficient": bc}


@dataclass
class Trajectory:
    """What the figure shows of one simulator's run: final weights (S) and post spike times (s)."""

    w: np.ndarray
    post_spike_times: np.ndarray


def weights_figure(cfg: Config, w0: np.ndarray, ours: Trajectory, trace_t: np.ndarray,
                   trace_w: np.ndarray, reference: Trajectory | None = None) -> Figure:
    """Final weights by synapse, initial/final (and Brian2's final) weight histograms as
    outlined steps on shared bins, two weight traces, and the post rate in 1 s bins."""
    fig, ax = plt.subplots(4, 1, figsize=(7, 10.5))
    ax[0].plot(ours.w / cfg.g_max, "o", color="C1", ms=3, mfc="none", mew=0.6,
               label="neuromorph")
    if reference is not None:  # a cross inside each ring where both simulators agree
        ax[0].plot(reference.w / cfg.g_max, "+", color="C2", ms=2.5, mew=0.6, label="Brian2")
        ax[0].legend(fontsize=8, markerscale=2)
    ax[0].set(xlabel="synapse index", ylabel="final w / g_max")
    hists = {"initial": w0 / cfg.g_max, f"final, neuromorph ({cfg.duration:g} s)":
             ours.w / cfg.g_max}
    if reference is not None:
        hists[f"final, Brian2 ({cfg.duration:g} s)"] = reference.w / cfg.g_max
    plot.weight_histogram(hists, bins=20, value_range=(0.0, 1.0), unit="g_max", ax=ax[1])
    for k in range(trace_w.shape[1]):
        ax[2].plot(trace_t, trace_w[:, k] / cfg.g_max, lw=0.8, label=f"synapse {k}")
    ax[2].set(xlabel="time (s)", ylabel="w / g_max")
    ax[2].legend(fontsize=8)
    bins = np.arange(0.0, cfg.duration + 1.0, 1.0)
    runs = {"neuromorph": ours} | ({"Brian2": reference} if reference is not None else {})
    for k, (name, run) in enumerate(runs.items()):
        counts, _ = np.histogram(run.post_spike_times, bins)
        ax[3].stairs(counts / np.diff(bins), bins, color=f"C{k + 1}", ls=("-", "--")[k],
                     lw=1.2 - 0.4 * k, label=name)
    ax[3].set(xlabel="time (s)", ylabel="post rate (Hz, 1 s bins)")
    ax[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _brian2_twin(net: Network, cfg: Config) -> tuple[object | None, SpikeMonitor | None]:
    """Brian2's twin of the network (same w(0), fed our input spikes afterwards), or
    ``(None, None)`` when the reference is off or Brian2 is not installed."""
    if not cfg.brian2_reference:
        return None, None
    try:
        from neuromorph.sim.brian2_bridge import to_brian2

        twin = to_brian2(net)
    except ImportError as err:
        print(f"stdp-song2000: no Brian2 reference ({err})")
        return None, None
    return twin, net.add(SpikeMonitor(net["input"], name="input_spikes"))


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "stdp-song2000", cfg)
    net, proj, post_spikes = build(cfg)
    every = max(1, int(round(cfg.record_every / cfg.dt)))
    wmon = net.add(StateMonitor(proj, "w", record=[0, 1], every=every, name="w_trace"))
    net.add(PopulationRateMonitor(net["input"], name="input_rate"))
    w0 = proj.weights.double().numpy().copy()
    twin, input_spikes = _brian2_twin(net, cfg)
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # the config is in seconds: 100 s of biology is intended
        warnings.simplefilter("ignore", ImplausibleUnitWarning)
        net.run(cfg.duration, progress=progress, desc="stdp-song2000")
    wall = time.perf_counter() - t0
    reference = None
    if twin is not None:
        twin.set_input_spikes("input", input_spikes)
        twin.run(cfg.duration)
        reference = Trajectory(twin.weights("S"), twin.monitors["post_spikes"].t)
    w = proj.weights.double().cpu().numpy()
    t_post = post_spikes.t
    last = min(10.0, cfg.duration)
    metrics = {
        **bimodality(w, cfg.g_max),
        "post_rate_hz": float(t_post.size / cfg.duration),
        "post_rate_last_10s_hz": float(np.sum(t_post >= cfg.duration - last) / last),
        "input_rate_hz": float(net["input_rate"].rate.mean()),
        "mean_weight_over_gmax": float(w.mean() / cfg.g_max),
        "initial_frac_bimodal": bimodality(w0, cfg.g_max)["frac_bimodal"],
        "initial_bimodality_coefficient": bimodality(w0, cfg.g_max)["bimodality_coefficient"],
        "wall_time_s": wall,
        "wall_time_per_bio_second_s": wall / cfg.duration,
    }
    text = (f"stdp-song2000: {cfg.n_inputs} Poisson inputs at {cfg.input_rate} Hz, "
            f"{cfg.duration} s ({cfg.pairing}, {cfg.bounds})\n"
            f"weights within 10% of 0: {metrics['frac_near_zero']:.2f}, of gmax: "
            f"{metrics['frac_near_gmax']:.2f} (initially {metrics['initial_frac_bimodal']:.2f} "
            f"together); bimodality coefficient {metrics['bimodality_coefficient']:.3f} "
            f"(uniform: 0.556)\npost rate {metrics['post_rate_hz']:.1f} Hz overall, "
            f"{metrics['post_rate_last_10s_hz']:.1f} Hz over the last {last:g} s; "
            f"wall time {wall:.1f} s ({net.ops.name} backend, {cfg.device})")
    if reference is not None:
        ref = bimodality(reference.w, cfg.g_max)
        metrics |= {"brian2_frac_near_zero": ref["frac_near_zero"],
                    "brian2_frac_near_gmax": ref["frac_near_gmax"],
                    "brian2_post_rate_hz": float(reference.post_spike_times.size / cfg.duration),
                    "ks_vs_brian2": float(stats.ks_2samp(w, reference.w, method="asymp").statistic)}
        text += (f"\nBrian2 twin (same input spikes): within 10% of 0: "
                 f"{ref['frac_near_zero']:.2f}, of gmax: {ref['frac_near_gmax']:.2f}; post rate "
                 f"{metrics['brian2_post_rate_hz']:.1f} Hz; KS distance of the final weights "
                 f"{metrics['ks_vs_brian2']:.3f}")
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    fig = weights_figure(cfg, w0, Trajectory(w, t_post), wmon.t, wmon.w, reference)
    run.save_figure(fig, "weights")
    np.savez_compressed(run.path / "weights.npz", w0=w0, w=w, post_spike_times=t_post)
    run.save_model(network_state(net), "final_state")
    if cfg.linearized:  # the trained network, its plastic projection frozen at the final weights
        save_engine_network(run.path, net, static=True, info={"experiment": "stdp-song2000"})
    else:
        print("stdp-song2000: no model.json (a conductance synapse has no spec-graph form; "
              "final_state.pt holds the run)")
    return run.path
