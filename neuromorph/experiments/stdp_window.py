"""stdp-window: the measured STDP window of each rule against its analytic curve.

Protocol: ``pairings`` pre/post pairings at ``frequency`` Hz; the post spike of pairing ``k`` is
at ``t0 + k / f``, the pre spike ``dt_pair`` earlier (``dt_pair = t_post - t_pre`` from -100 to
+100 ms; one synapse per ``dt_pair``, all measured in one run). The change per pairing is
compared with the rule's definition summed over the same spike times (closed form, no
time-stepping; at low frequency it is the textbook window):

* pair STDP, all-to-all and nearest pairing (the event-driven engine's rule, measured in the
  engine itself, ``neuromorph.sim``), ``tau = 20 ms``, ``a_pre = 0.01``, ``a_post = -0.0105``
  (Song, Miller & Abbott 2000 / Brian2's example, in units of ``w_max``)::

      dw(dt) = a_pre exp(-dt / tau_pre) (dt >= 0),   a_post exp(dt / tau_post) (dt < 0)

* triplet STDP (Pfister & Gerstner 2006, minimal all-to-all visual-cortex model), measured with
  :class:`~neuromorph.learning_rules.plasticity.TripletSTDP`; its low-frequency window is the
  pair window with ``A2+ = 0`` (no potentiation without a preceding post spike: the data of
  Sjostrom et al. 2001 at 0.1 Hz).

A second figure repeats Sjostrom's protocol (60 pairings, ``dt = +-10 ms``) over pairing
frequencies for pair and triplet STDP: only the triplet rule turns to potentiation at high
frequency. Default: a few seconds on 2 cores; ``--set dt=1e-4`` for a finer time grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.learning_rules.plasticity import PairSTDP, TripletSTDP  # noqa: E402
from neuromorph.learning_rules.plasticity.stdp import TRIPLET_PRESETS, TripletParams  # noqa: E402
from neuromorph.sim import (  # noqa: E402
    STDP,
    Channel,
    LIFGroup,
    Network,
    Projection,
    SpikeGeneratorGroup,
    all_to_all,
)

SUMMARY = "measured STDP windows (pair all-to-all / nearest, triplet) against analytic curves"
RULES = ("pair all-to-all", "pair nearest", "triplet")


@dataclass
class Config(ExperimentConfig):
    dt: float = 5e-4  # s
    frequency: float = 1.0  # Hz, pairing frequency of the window
    pairings: int = 5
    max_lag: float = 100e-3  # s
    lag_step: float = 2e-3  # s (a multiple of dt)
    tau: float = 20e-3
    a_pre: float = 0.01
    a_post: float = -0.0105
    triplet: str = "minimal-all-to-all"
    sweep_pairings: int = 60
    sweep_lag: float = 10e-3
    sweep_frequencies: tuple[float, ...] = (1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0)

    def __post_init__(self) -> None:
        self.check(self.dt > 0 and self.frequency > 0, "dt and frequency must be > 0")
        self.check(self.pairings >= 1 and self.sweep_pairings >= 1, "pairings must be >= 1")
        self.check(self.max_lag < 1 / self.frequency, "max_lag must be below 1 / frequency")
        ratio = self.lag_step / self.dt
        self.check(abs(ratio - round(ratio)) < 1e-6 and ratio >= 1,
                   f"lag_step ({self.lag_step}) must be a multiple of dt ({self.dt})")
        self.check(self.triplet in TRIPLET_PRESETS,
                   f"unknown triplet preset {self.triplet!r}; choose from "
                   f"{sorted(TRIPLET_PRESETS)}")
        self.check(all(f > 0 for f in self.sweep_frequencies) and self.sweep_lag > 0,
                   "sweep frequencies and sweep_lag must be > 0")


# ------------------------------------------------------------------ analytic (event sums)
def pair_analytic(pre: np.ndarray, post: np.ndarray, tau_pre: float, tau_post: float,
                  a_pre: float, a_post: float, nearest: bool) -> float:
    """Total pair-STDP change of one synapse for spike times (s). A post spike pairs with the
    pre spikes at or before it (latest only if ``nearest``), a pre spike with the post spikes
    strictly before it (the engine's order: pre pathway first within a step)."""
    total = 0.0
    for t in post:
        lags = t - pre[pre <= t + 1e-12]
        if lags.size:
            lags = lags.min(keepdims=True) if nearest else lags
            total += a_pre * np.exp(-lags / tau_pre).sum()
    for t in pre:
        lags = t - post[post < t - 1e-12]
        if lags.size:
            lags = lags.min(keepdims=True) if nearest else lags
            total += a_post * np.exp(-lags / tau_post).sum()
    return float(total)


def triplet_analytic(pre: np.ndarray, post: np.ndarray, p: TripletParams) -> float:
    """Pfister & Gerstner's all-to-all triplet rule summed over spike times (s)."""
    def trace(times: np.ndarray, t: float, tau: float, strict: bool) -> float:
        past = times[times < t - 1e-12] if strict else times[times <= t + 1e-12]
        return float(np.exp(-(t - past) / tau).sum())

    ltp = sum(trace(pre, t, p.tau_plus, False) * (p.a2_plus + p.a3_plus *
                                                  trace(post, t, p.tau_y, True)) for t in post)
    ltd = sum(trace(post, t, p.tau_minus, True) * (p.a2_minus + p.a3_minus *
                                                   trace(pre, t, p.tau_x, True)) for t in pre)
    return float(ltp - ltd)


# ------------------------------------------------------------------ protocol + measurement
def protocol(lags: np.ndarray, frequency: float, pairings: int, dt: float):
    """Spike steps: post at ``t0 + k/f`` for every synapse, pre ``lag`` earlier."""
    period = round(1.0 / (frequency * dt))
    t0 = round((max(0.0, lags.max()) + 0.02) / dt)
    post_steps = t0 + period * np.arange(pairings)
    pre_steps = post_steps[None, :] - np.round(lags / dt).astype(int)[:, None]  # [syn, k]
    n_steps = int(max(post_steps.max(), pre_steps.max()) + round(0.3 / dt))
    return pre_steps, post_steps, n_steps


def dense_trains(pre_steps: np.ndarray, post_steps: np.ndarray, n_steps: int):
    """``pre [T, 1, syn]`` and ``post [T, 1, 1]`` float64 spike trains."""
    pre = torch.zeros(n_steps, 1, pre_steps.shape[0], dtype=torch.float64)
    for i, steps in enumerate(pre_steps):
        pre[steps, 0, i] = 1.0
    post = torch.zeros(n_steps, 1, 1, dtype=torch.float64)
    post[post_steps, 0, 0] = 1.0
    return pre, post


def engine_dw(spec: STDP, pre_steps: np.ndarray, post_steps: np.ndarray, n_steps: int,
              dt: float) -> np.ndarray:
    """Run the event-driven engine (float64) and return every synapse's weight change."""
    net = Network(dt=dt, dtype=torch.float64, backend="numpy")
    idx = np.repeat(np.arange(pre_steps.shape[0]), pre_steps.shape[1])
    src = net.add(SpikeGeneratorGroup(pre_steps.shape[0], idx.tolist(),
                                      (pre_steps.reshape(-1) * dt).tolist()))
    drive = net.add(SpikeGeneratorGroup(1, [0] * len(post_steps),
                                        ((post_steps - 1) * dt).tolist()))
    # a neuron that fires exactly one step after each drive spike; the plastic synapse
    # targets a channel of scale 0, so plasticity never changes the post spike times
    tgt = net.add(LIFGroup(1, tau_m=1e9, v_rest=0.0, v_threshold=0.5, v_reset=0.0,
                           channels={"ge": Channel(5e-3, scale=0.0)}))
    net.add(Projection(drive, tgt, "v", all_to_all(), weight=1.0))
    proj = net.add(Projection(src, tgt, "ge", all_to_all(), weight=0.0, plasticity=spec))
    net.run(n_steps * dt)
    return proj.weights.numpy().copy()


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "stdp-window", cfg)
    n_lag = round(cfg.max_lag / cfg.lag_step)
    lags = np.arange(-n_lag, n_lag + 1) * cfg.lag_step
    pre_steps, post_steps, n_steps = protocol(lags, cfg.frequency, cfg.pairings, cfg.dt)
    pre, post = dense_trains(pre_steps, post_steps, n_steps)
    tp = TRIPLET_PRESETS[cfg.triplet]
    specs = {rule: STDP(tau_pre=cfg.tau, tau_post=cfg.tau, a_pre=cfg.a_pre, a_post=cfg.a_post,
                        w_min=-1e3, w_max=1e3, pairing=rule.split()[1].replace("-", "_"))
             for rule in RULES[:2]}
    triplet = TripletSTDP(tp, dt=cfg.dt, w_min=-1e3, w_max=1e3)
    measured, dense, analytic, fine = {}, {}, {}, {}
    fine_lags = np.linspace(lags.min(), lags.max(), 801)
    bar = tqdm(total=len(RULES) + len(cfg.sweep_frequencies), desc="stdp-window",
               disable=not progress)

    def times(lag_values: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
        t_post = post_steps * cfg.dt
        return t_post - lag_values[i], t_post

    for rule in RULES:
        if rule == "triplet":
            dw = triplet.update(pre, post, torch.zeros(1, len(lags), dtype=torch.float64))[0]
            measured[rule] = dw[0].numpy() / cfg.pairings
            curve = lambda lv, i: triplet_analytic(*times(lv, i), tp)  # noqa: E731
        else:
            spec = specs[rule]
            measured[rule] = engine_dw(spec, pre_steps, post_steps, n_steps, cfg.dt) \
                / cfg.pairings
            dw = PairSTDP(spec, dt=cfg.dt).update(pre, post, torch.zeros(1, len(lags),
                                                                          dtype=torch.float64))[0]
            dense[rule] = dw[0].numpy() / cfg.pairings
            nearest = spec.pairing == "nearest"
            curve = lambda lv, i, n=nearest: pair_analytic(  # noqa: E731
                *times(lv, i), cfg.tau, cfg.tau, cfg.a_pre, cfg.a_post, n)
        analytic[rule] = np.array([curve(lags, i) for i in range(len(lags))]) / cfg.pairings
        fine[rule] = np.array([curve(fine_lags, i) for i in range(len(fine_lags))]) \
            / cfg.pairings
        bar.update()

    def textbook(rule: str, lag: np.ndarray) -> np.ndarray:
        if rule == "triplet":
            return np.where(lag >= 0, tp.a2_plus * np.exp(-lag / tp.tau_plus),
                            -tp.a2_minus * np.exp(lag / tp.tau_minus))
        return np.where(lag >= 0, cfg.a_pre * np.exp(-lag / cfg.tau),
                        cfg.a_post * np.exp(lag / cfg.tau))

    metrics: dict[str, float] = {}
    for rule in RULES:
        key = rule.replace(" ", "_").replace("-", "_")
        scale = np.abs(analytic[rule]).max()
        dev = np.abs(measured[rule] - analytic[rule]).max()
        metrics[f"{key}_max_abs_deviation"] = float(dev)
        metrics[f"{key}_max_rel_deviation"] = float(dev / scale)
        metrics[f"{key}_textbook_max_rel_deviation"] = float(
            np.abs(measured[rule] - textbook(rule, lags)).max() / scale)
        metrics[f"{key}_ltp_peak"] = float(measured[rule].max())
        metrics[f"{key}_ltd_peak"] = float(measured[rule].min())
        if rule in dense:
            metrics[f"{key}_engine_vs_dense_max_abs"] = float(
                np.abs(dense[rule] - measured[rule]).max())
    # Sjostrom protocol: frequency dependence at +-lag
    sweep_rules = {"pair all-to-all": PairSTDP(specs["pair all-to-all"], dt=cfg.dt),
                   "pair nearest": PairSTDP(specs["pair nearest"], dt=cfg.dt),
                   "triplet": triplet}
    sweep: dict[tuple[str, float], tuple[list, list]] = {}
    for f in cfg.sweep_frequencies:
        lag2 = np.array([cfg.sweep_lag, -cfg.sweep_lag])
        ps, qs, ns = protocol(lag2, f, cfg.sweep_pairings, cfg.dt)
        pre2, post2 = dense_trains(ps, qs, ns)
        for name, rule_obj in sweep_rules.items():
            dw = rule_obj.update(pre2, post2, torch.zeros(1, 2, dtype=torch.float64))[0][0]
            ref = [pair_analytic(qs * cfg.dt - lg, qs * cfg.dt, cfg.tau, cfg.tau, cfg.a_pre,
                                 cfg.a_post, name == "pair nearest") if name != "triplet"
                   else triplet_analytic(qs * cfg.dt - lg, qs * cfg.dt, tp) for lg in lag2]
            sweep[(name, f)] = (dw.numpy().tolist(), ref)
            for j, sign in enumerate(("plus", "minus")):
                key = name.replace(" ", "_").replace("-", "_")
                metrics[f"sweep_{key}_{sign}{round(cfg.sweep_lag * 1e3)}ms_{f:g}hz"] = \
                    float(dw[j])
        bar.update()
    bar.close()
    metrics["sweep_max_abs_deviation"] = float(max(
        np.abs(np.array(m) - np.array(r)).max() for m, r in sweep.values()))
    lines = [f"stdp-window: {cfg.pairings} pairings at {cfg.frequency:g} Hz, dt = "
             f"{cfg.dt * 1e3:g} ms; change per pairing vs dt = t_post - t_pre",
             f"{'rule':<18}{'LTP peak':>11}{'LTD peak':>11}{'max |dev| / peak':>18}"]
    for rule in RULES:
        key = rule.replace(" ", "_").replace("-", "_")
        lines.append(f"{rule:<18}{metrics[key + '_ltp_peak']:>11.3e}"
                     f"{metrics[key + '_ltd_peak']:>11.3e}"
                     f"{metrics[key + '_max_rel_deviation']:>18.2e}")
    lines.append(f"Sjostrom protocol ({cfg.sweep_pairings} pairings, +-"
                 f"{cfg.sweep_lag * 1e3:g} ms), total change:")
    names = ("pair all-to-all", "pair nearest", "triplet")
    lines.append(f"{'f (Hz)':>8}" + "".join(f"{n.split()[-1] + s:>14}" for n in names
                                           for s in (" +", " -")))
    for f in cfg.sweep_frequencies:
        vals = [v for n in names for v in sweep[(n, f)][0]]
        lines.append(f"{f:>8g}" + "".join(f"{v:>14.4f}" for v in vals))
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    _plots(run, cfg, lags, fine_lags, measured, fine, textbook, sweep)
    run.save_model({"lags": lags, "measured": measured, "analytic": analytic,
                    "sweep": {f"{k[0]}@{k[1]}": v for k, v in sweep.items()}}, "model")
    return run.path


def _plots(run: RunDir, cfg: Config, lags, fine_lags, measured, fine, textbook, sweep) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharey=False)
    for ax, rule in zip(axes, RULES, strict=True):
        ax.plot(fine_lags * 1e3, fine[rule], "k-", lw=1.2, zorder=2,
                label=f"analytic ({cfg.frequency:g} Hz)")
        ax.plot(fine_lags * 1e3, textbook(rule, fine_lags), "r--", lw=1, label="isolated pair")
        src = "triplet rule" if rule == "triplet" else "engine"
        ax.plot(lags * 1e3, measured[rule], "o", ms=3.5, mfc="none", mew=0.7, zorder=1,
                label=f"measured ({src})")  # hollow rings: the analytic line shows through
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_title(rule)
        ax.set_xlabel("t_post - t_pre (ms)")
        ax.set_ylabel("weight change per pairing (w_max)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    run.save_figure(fig, "window")
    fig, ax = plt.subplots(figsize=(6, 4))
    freqs = list(cfg.sweep_frequencies)
    for c, name in enumerate(("pair all-to-all", "pair nearest", "triplet")):
        for j, (sign, style) in enumerate((("+", "-"), ("-", "--"))):
            ax.plot(freqs, [sweep[(name, f)][1][j] for f in freqs], f"C{c}{style}",
                    label=f"{name} {sign}{cfg.sweep_lag * 1e3:g} ms (analytic)")
            ax.plot(freqs, [sweep[(name, f)][0][j] for f in freqs], f"C{c}o", ms=4)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel(f"total weight change, {cfg.sweep_pairings} pairings (w_max)")
    ax.set_title("frequency dependence (markers: measured)")
    ax.legend(fontsize=7)
    run.save_figure(fig, "frequency_dependence")

