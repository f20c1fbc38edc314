"""microcircuit: the Potjans & Diesmann (2014) cortical microcircuit on the event engine.

77 169 ``iaf_psc_exp`` LIF neurons in 8 populations (L2/3, L4, L5, L6 x E/I) at full scale,
~0.3 billion synapses drawn with NEST's ``fixed_total_number`` rule (multapses and autapses
allowed) from the published connection probabilities, normal weights (PSP 0.15 mV, s.d. 10 %,
g = -4, L4E -> L2/3E doubled) and normal delays (1.5 ms E, 0.75 ms I, s.d. 50 %, redrawn
below ``dt``) on one projection with per-synapse delays; background: 8 Hz Poisson inputs per
external synapse (Brian2's ``PoissonInput``: ``k ~ Binomial(K_ext, 8 Hz dt)`` per step) or the
equivalent DC current. Parameters and the scaling recipe: :mod:`.microcircuit_params`.

``--set scale=0.1`` simulates 10 % of the neurons with 10 % of the in-degrees (``k_scale``
defaults to ``scale``), weights times ``1/sqrt(k_scale)`` and the missing mean input as DC
(NEST's reduced-scale recipe). Rates and ISI CVs are measured after a ``transient``; the
reference rates are the full-scale means of NEST's example (``full_mean_rates``).
Writes a raster (E/I legend), rates beside the reference with its acceptance band and ISI CVs
beside a Poisson process's (``rates.png``), spikes and metrics.json.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from neuromorph import plot  # noqa: E402
from neuromorph.errors import NeuromorphError  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.cuba import isi_cv  # noqa: E402
from neuromorph.experiments.microcircuit_params import (  # noqa: E402
    BG_RATE,
    C_M,
    DELAY_REL_SD,
    E_L,
    FULL_MEAN_RATES,
    POPULATIONS,
    PSP_REL_SD,
    T_REF,
    TAU_M,
    TAU_SYN,
    V0_MEAN,
    V0_SD,
    V_RESET,
    V_TH,
    Scaled,
    scaled,
)
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.sim import Channel, LIFGroup, Network, Projection, SpikeMonitor  # noqa: E402
from neuromorph.sim.connectivity import from_indices  # noqa: E402
from neuromorph.sim.loop_native import release_freed_memory  # noqa: E402
from neuromorph.sim.poisson_input import PoissonInput  # noqa: E402

SUMMARY = "Potjans & Diesmann (2014) cortical microcircuit: 8 populations, rates and CV vs NEST"
DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: acceptance band around the reference rate: |rate - ref| <= max(REL_TOL * ref, ABS_TOL)
REL_TOL, ABS_TOL = 0.5, 0.5
POP_COLORS = ("#595289", "#af143c")  # excitatory, inhibitory
#: peak memory per recurrent synapse, bytes (the build's; measured 36.4 at full scale and 38.4
#: at scale 0.1 k_scale 1.0 over the imports, docs/benchmarks.md), rounded up
PEAK_BYTES_PER_SYNAPSE = 40


@dataclass
class Config(ExperimentConfig):
    scale: float = 1.0  # fraction of the neurons (0.1 for laptops / CI)
    k_scale: float = -1.0  # fraction of the in-degrees; < 0: same as scale
    background: Literal["poisson", "dc"] = "poisson"
    duration: float = 1.0  # s, measured after the transient
    transient: float = 0.2  # s, simulated and discarded
    dt: float = 1e-4  # s
    dtype: Literal["float32", "float64"] = "float64"

    def __post_init__(self) -> None:
        self.check(0 < self.scale <= 1, f"scale must be in (0, 1], got {self.scale}")
        self.check(self.k_scale < 0 or 0 < self.k_scale <= 1,
                   f"k_scale must be in (0, 1] (or < 0: same as scale), got {self.k_scale}")
        self.check(self.duration > 0 and self.transient >= 0 and self.dt > 0,
                   "duration and dt must be > 0 and transient >= 0 seconds")
        self.check(self.dt <= 0.5e-3, f"dt must be <= 0.5 ms (delays of 0.75 ms), got {self.dt}")

    @property
    def k(self) -> float:
        return self.scale if self.k_scale < 0 else self.k_scale


def _redraw(rng: np.random.Generator, mean: float, sd: float, size: int,
            ok: callable) -> np.ndarray:  # type: ignore[valid-type]
    """Normal samples, redrawn until ``ok(x)`` holds for all (NEST's ``redraw``)."""
    x = rng.normal(mean, sd, size)
    bad = ~ok(x)
    while bad.any():
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = ~ok(x)
    return x


def synapses(sc: Scaled, dt: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Global ``(pre, post, weight A, delay s)`` of all recurrent synapses, in the CSR order.

    Drawn block by block (target population outer, source inner: the random stream of NEST's
    ``fixed_total_number`` recipe) and returned sorted by ``(pre, post)``, stably, so multapses
    keep their drawing order: the order :class:`~neuromorph.sim.Projection` puts them in, which
    then needs no sort. Indices are int32, and a block keeps its local indices as uint16 (while
    they fit) until it is placed, and is gathered into the result one field at a time (freed as
    it goes).
    """
    off = np.concatenate([[0], np.cumsum(sc.n)])
    local = np.uint16 if max(sc.n) <= 2**16 else np.int32  # scale <= 1: always uint16
    blocks: dict[tuple[int, int], list[np.ndarray | None]] = {}
    for i in range(8):
        for j in range(8):
            k = int(sc.n_syn[i, j])
            if k <= 0:
                continue
            pre = rng.integers(0, sc.n[j], k).astype(local)
            post = rng.integers(0, sc.n[i], k).astype(local)
            mean = sc.psc[i, j]
            w = _redraw(rng, mean, abs(mean) * PSP_REL_SD, k,
                        (lambda x: x >= 0) if mean > 0 else (lambda x: x <= 0))
            d_mean = sc.delay_mean[j]
            d = _redraw(rng, d_mean, d_mean * DELAY_REL_SD, k, lambda x: x >= dt)
            blocks[i, j] = [pre, post, w, d]
    total = int(sum(b[0].size for b in blocks.values()))
    out = (np.empty(total, np.int32), np.empty(total, np.int32), np.empty(total),
           np.empty(total))
    at = 0
    for j in range(8):  # sources of population j: one contiguous run of the CSR order
        mine = [(i, blocks.pop((i, j))) for i in range(8) if (i, j) in blocks]
        if not mine:
            continue
        order = _source_order(np.concatenate([b[0] for _, b in mine]),
                              [b[1] for _, b in mine])
        stop = at + order.size
        for f in range(4):  # one field at a time; the blocks' copies are freed once gathered
            whole = np.concatenate([b[f] if f > 1 else  # local -> global int32 indices
                                    b[f].astype(np.int32) + np.int32(off[i if f else j])
                                    for i, b in mine])
            for _, b in mine:
                b[f] = None
            np.take(whole, order, out=out[f][at:stop])
            del whole
        at = stop
        del mine, order
        release_freed_memory()  # blocks below malloc's mmap threshold stay mapped otherwise
    return out


def _source_order(pre: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """The stable ``(pre, post)`` order of one source population's synapses: ``parts`` are
    the blocks' local targets, in target-population order (disjoint, ascending global ranges),
    ``pre`` their concatenated local sources. LSD radix: each block by target (so the whole by
    global target), then the whole by source; both passes are stable 16-bit radix sorts."""
    by_post, start = [], 0
    for post in parts:
        by_post.append(np.argsort(post, kind="stable") + start)
        start += post.size
    by_target = np.concatenate(by_post)
    return by_target[np.argsort(pre[by_target], kind="stable")]


class HandOver:
    """A per-synapse array given to a :class:`~neuromorph.sim.Projection` as its ``weight`` or
    ``delay`` callable: the one call returns it and drops this reference, so the array is freed
    as soon as the projection has copied it (the weights' copy and the delays' copy never
    coexist with both originals). The array must be in the CSR order, as a callable's is."""

    def __init__(self, values: torch.Tensor) -> None:
        self.values: torch.Tensor | None = values

    def __call__(self, nnz: int, generator: torch.Generator | None) -> torch.Tensor:
        if self.values is None:
            raise RuntimeError("a HandOver array is given once; make a new one per projection")
        values, self.values = self.values, None
        return values


def build(cfg: Config) -> tuple[Network, LIFGroup, SpikeMonitor, Scaled]:
    """The microcircuit of ``cfg`` (one group; populations are contiguous slices)."""
    sc = scaled(cfg.scale, cfg.k, cfg.background == "poisson")
    net = Network(dt=cfg.dt, dtype=DTYPES[cfg.dtype], seed=cfg.seed)
    n = int(sc.n.sum())
    r_m = TAU_M / C_M
    P = net.add(LIFGroup(n, tau_m=TAU_M, v_rest=E_L, v_threshold=V_TH, v_reset=V_RESET,
                         refractory=T_REF, r_m=r_m,
                         channels={"i_syn": Channel(TAU_SYN, scale=r_m)}, name="P"))
    rng = np.random.default_rng(cfg.seed)
    pop = np.repeat(np.arange(8), sc.n)
    P.set("v", torch.from_numpy(rng.normal(V0_MEAN[pop], V0_SD[pop])))
    P.set("I", torch.from_numpy(sc.dc[pop]))
    pre, post, w, d = synapses(sc, cfg.dt, rng)  # in the CSR order: taken as they come
    pairs = from_indices(torch.from_numpy(pre), torch.from_numpy(post))
    weight, delay = HandOver(torch.from_numpy(w)), HandOver(torch.from_numpy(d))
    del pre, post, w, d
    net.add(Projection(P, P, "i_syn", pairs, weight=weight, delay=delay, name="recurrent"))
    if cfg.background == "poisson":
        net.add(PoissonInput(P, "i_syn", torch.from_numpy(sc.k_ext[pop].astype(np.float64)),
                             BG_RATE, sc.psc_ext, name="background"))
    spikes = net.add(SpikeMonitor(P, name="spikes"))
    return net, P, spikes, sc


def population_stats(i: np.ndarray, t: np.ndarray, sc: Scaled, t0: float,
                     duration: float) -> dict[str, dict[str, float]]:
    """Per population: mean rate (Hz, silent neurons included) and mean ISI CV."""
    keep = t >= t0
    i, t = i[keep], t[keep]
    off = np.concatenate([[0], np.cumsum(sc.n)])
    out = {}
    for k, name in enumerate(POPULATIONS):
        sel = (i >= off[k]) & (i < off[k + 1])
        cvs = isi_cv(i[sel] - off[k], t[sel], int(sc.n[k]))
        out[name] = {"rate_hz": float(sel.sum() / (sc.n[k] * duration)),
                     "cv": float(cvs.mean()) if cvs.size else float("nan")}
    return out


def _in_band(rate: float, ref: float) -> bool:
    """The acceptance band around a reference rate: ``|rate - ref| <= max(REL_TOL ref,
    ABS_TOL)``."""
    return abs(rate - ref) <= max(REL_TOL * ref, ABS_TOL)


def figures(cfg: Config, i: np.ndarray, t: np.ndarray, sc: Scaled,
            stats: dict[str, dict[str, float]]) -> dict[str, plt.Figure]:
    """``raster``: 200 ms of spikes, excitatory and inhibitory populations in two colours with
    a legend, layers on the y axis; ``rates``: each population's rate beside the reference
    rate (NEST's full-scale microcircuit) with its acceptance band, and the ISI CV beside a
    Poisson process's (CV = 1)."""
    off = np.concatenate([[0], np.cumsum(sc.n)])
    window = (t >= cfg.transient) & (t < cfg.transient + min(0.2, cfg.duration))
    step = max(1, int(off[-1] // 4000))  # at most ~4000 neurons drawn
    fig, ax = plt.subplots(figsize=(8, 6))
    for k in range(8):
        sel = window & (i >= off[k]) & (i < off[k + 1]) & (i % step == 0)
        ax.plot(t[sel] * 1e3, off[-1] - i[sel], ".", ms=3.0 if off[-1] < 2000 * step else 1.5,
                mew=0, color=POP_COLORS[k % 2])
    for edge in off[2:-1:2]:  # layer boundaries
        ax.axhline(off[-1] - edge, color="0.8", lw=0.8, zorder=0)
    ax.set_yticks([off[-1] - (off[k] + off[k + 2]) / 2 for k in range(0, 8, 2)],
                  ["L2/3", "L4", "L5", "L6"])
    ax.set_ylim(0, off[-1])
    ax.set(xlabel="time (ms)", ylabel="layer (every neuron)" if step == 1 else
           f"layer (every {step}th neuron)",
           title=f"microcircuit, scale {cfg.scale}, k_scale {cfg.k}, {cfg.background}")
    ax.legend(handles=[Line2D([], [], ls="", marker="s", color=c, label=name) for c, name in
                       zip(POP_COLORS, ("excitatory", "inhibitory"), strict=True)],
              loc="upper right", fontsize=8)
    out = {"raster": fig}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    x = np.arange(8)
    rates = np.array([stats[p]["rate_hz"] for p in POPULATIONS])
    band = np.maximum(REL_TOL * FULL_MEAN_RATES, ABS_TOL)
    ok = [_in_band(r, ref) for r, ref in zip(rates, FULL_MEAN_RATES, strict=True)]
    ax.bar(x - 0.2, rates, 0.4, color=[POP_COLORS[k % 2] for k in x], alpha=0.85,
           hatch=[None if good else "//" for good in ok], label="neuromorph")
    ax.bar(x + 0.2, FULL_MEAN_RATES, 0.4, yerr=band, capsize=3, color="0.7",
           label="reference: NEST, full scale (bar: acceptance band)")
    ax.set_xticks(x, POPULATIONS)
    ax.set(xlabel="population", ylabel="firing rate (Hz)",
           title=f"rates, {int(sum(ok))}/8 within the band (hatched: outside)")
    ax.legend(fontsize=8)
    cvs = np.array([stats[p]["cv"] for p in POPULATIONS])
    bx.bar(x, np.nan_to_num(cvs), 0.6, color=[POP_COLORS[k % 2] for k in x], alpha=0.85,
           label="neuromorph")
    for k in np.flatnonzero(np.isnan(cvs)):
        bx.text(k, 0.02, "no ISIs", rotation=90, ha="center", va="bottom", fontsize=7)
    plot.reference_line(bx, 1.0, "Poisson process (CV = 1)", style=":")
    bx.set_xticks(x, POPULATIONS)
    bx.set(xlabel="population", ylabel="ISI coefficient of variation", title="irregularity")
    bx.legend(fontsize=8)
    out["rates"] = fig
    return out


def available_memory() -> int | None:
    """Bytes this machine can still give a process (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(cfg: Config, available: int | None) -> None:
    """Refuse, in one line, a microcircuit whose build would not fit in ``available`` bytes
    (``PEAK_BYTES_PER_SYNAPSE`` per synapse), before anything is drawn or written."""
    n_syn = int(scaled(cfg.scale, cfg.k, cfg.background == "poisson").n_syn.sum())
    need = PEAK_BYTES_PER_SYNAPSE * n_syn
    if available is not None and need > available:
        raise NeuromorphError(
            f"microcircuit at scale {cfg.scale:g}, k_scale {cfg.k:g} ({n_syn / 1e6:.1f} M "
            f"synapses) needs about {need / 2**30:.1f} GiB, and this machine has "
            f"{available / 2**30:.1f} GiB available: pass --set scale=0.1 (0.1 GiB of synapses) "
            "or a smaller k_scale, or run it on a larger machine")


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    check_memory(cfg, available_memory())
    run = RunDir(out_dir, "microcircuit", cfg)
    t0 = time.perf_counter()
    net, P, spikes, sc = build(cfg)
    net.build()
    t1 = time.perf_counter()
    net.run(cfg.transient + cfg.duration, progress=progress, desc="microcircuit")
    t2 = time.perf_counter()
    i, t = spikes.i, spikes.t
    stats = population_stats(i, t, sc, cfg.transient, cfg.duration)
    metrics: dict[str, float] = {
        "n_neurons": float(P.n), "n_synapses": float(net["recurrent"].nnz),
        "build_time_s": t1 - t0, "wall_time_s": t2 - t1,
        "real_time_factor": (t2 - t1) / (cfg.transient + cfg.duration),
    }
    lines = []
    n_ok = 0
    for k, name in enumerate(POPULATIONS):
        r, cv, ref = stats[name]["rate_hz"], stats[name]["cv"], FULL_MEAN_RATES[k]
        ok = _in_band(r, ref)
        n_ok += ok
        metrics.update({f"rate_{name}_hz": r, f"cv_{name}": cv, f"ref_rate_{name}_hz": ref,
                        f"rate_{name}_within_band": float(ok)})
        lines.append(f"{name:5s} rate {r:6.3f} Hz (ref {ref:5.3f}) CV {cv:5.3f} "
                     f"{'ok' if ok else 'OUT OF BAND'}")
    metrics["populations_within_band"] = float(n_ok)
    text = (f"microcircuit: {P.n} neurons, {net['recurrent'].nnz} synapses, scale {cfg.scale}, "
            f"k_scale {cfg.k}, {cfg.background} background\n" + "\n".join(lines) +
            f"\nbuild {metrics['build_time_s']:.1f} s, simulation {metrics['wall_time_s']:.1f} s "
            f"(real-time factor {metrics['real_time_factor']:.2f}, {net.ops.name} backend)")
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    for name, fig in figures(cfg, i, t, sc, stats).items():
        run.save_figure(fig, name)
    np.savez_compressed(run.path / "spikes.npz", i=i.astype(np.int32), t=t)
    return run.path
