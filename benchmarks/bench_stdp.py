"""STDP benchmark: Brian2's Song, Miller & Abbott (2000) example, neuromorph against Brian2.

1000 Poisson inputs at 15 Hz onto one LIF neuron (linearised conductance input), additive
all-to-all STDP, gmax = 0.01, dt = 0.1 ms. Each simulator draws its own Poisson input and initial
weights (``rand() * gmax``), as in Brian2's example; each case runs in a fresh subprocess.

Reported per implementation: setup, Brian2's compile (``run(0 s)``), wall time per biological
second, peak RSS increase, the final weight distribution (fractions within 10 % of gmax of 0 and
of gmax: bimodal when both are large) and the two-sample Kolmogorov-Smirnov distance between our
final weights and Brian2's (meaningful after ~50 s or more of biological time).

    python benchmarks/bench_stdp.py                   # 10 s of biological time
    python benchmarks/bench_stdp.py --duration 100    # the full example
    python benchmarks/bench_stdp.py --rules           # pair vs triplet vs reward STDP, same net

``--rules`` times the three rules on the README's network (200 Poisson inputs at 15 Hz, 10 LIF
neurons, p = 0.5, about 1000 plastic synapses; 2 s, median of 3 runs each, interleaved) and
prints each rule's time over pair STDP's (issue 14: within 2x) and the output rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import ks_2samp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_cuba import peak_rss_mb, reset_peak_rss  # noqa: E402

from neuromorph.sim import STDP, Channel, LIFGroup, Network, PoissonGroup, all_to_all  # noqa: E402
from neuromorph.units import ImplausibleUnitWarning

GMAX, DT = 0.01, 1e-4


def build_song(seed: int, dtype: torch.dtype, n_inputs: int = 1000) -> tuple[Network, Any]:
    """Brian2's STDP example as our network; returns (net, plastic projection)."""
    a_pre = 0.01 * GMAX
    net = Network(dt=DT, seed=seed, dtype=dtype)
    inp = net.add(PoissonGroup(n_inputs, 15.0, name="input"))
    post = net.add(LIFGroup(1, tau_m=10e-3, v_rest=-74e-3, v_threshold=-54e-3, v_reset=-60e-3,
                            channels={"ge": Channel(5e-3, scale=0.0 - (-60e-3))}, name="neuron"))
    post.set("v", 0.0)
    rule = STDP(tau_pre=20e-3, tau_post=20e-3, a_pre=a_pre, a_post=-1.05 * a_pre, w_max=GMAX)
    proj = net.connect(inp, post, "ge", all_to_all(),
                       weight=lambda n, g: torch.rand(n, generator=g, dtype=torch.float64) * GMAX,
                       plasticity=rule, name="S")
    return net, proj


def _ours(args: argparse.Namespace) -> dict[str, Any]:
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.worker.split("-")[1]]
    base = reset_peak_rss()
    t0 = time.perf_counter()
    net, proj = build_song(args.seed, dtype)
    net.build()
    t1 = time.perf_counter()
    with warnings.catch_warnings():  # seconds of biology on purpose (100 s by default)
        warnings.simplefilter("ignore", ImplausibleUnitWarning)
        net.run(args.duration)
    run_s = time.perf_counter() - t1
    return {"setup": t1 - t0, "compile": 0.0, "run": run_s, "peak_mb": peak_rss_mb() - base,
            "w": proj.weights.numpy().astype(np.float64).tolist()}


def _brian2(args: argparse.Namespace) -> dict[str, Any]:
    from brian2_reference import song2000_brian2

    from neuromorph.sim.brian2_bridge import set_target

    target = args.worker.split("-")[1]
    set_target(target, cache_dir=args.cache_dir)
    base = reset_peak_rss()
    t0 = time.perf_counter()
    b2 = song2000_brian2(seed=args.seed, dt=DT, target=target)
    t1 = time.perf_counter()
    compile_s = b2.run(0.0)
    run_s = b2.run(args.duration)
    return {"setup": t1 - t0, "compile": compile_s, "run": run_s,
            "peak_mb": peak_rss_mb() - base, "w": b2.weights("S").tolist()}


WORKERS = {"ours-float32": _ours, "ours-float64": _ours, "brian2-numpy": _brian2,
           "brian2-cython": _brian2}


def fractions(w: np.ndarray) -> tuple[float, float]:
    """Fractions of weights within 10 % of gmax of 0 and of gmax."""
    return float(np.mean(w <= 0.1 * GMAX)), float(np.mean(w >= 0.9 * GMAX))


def readme_net(rule: Any, seed: int = 0) -> tuple[Network, Any]:
    """The README's event-plasticity network with ``rule`` on its ~1000 synapses."""
    from neuromorph.sim import SpikeMonitor, fixed_probability

    net = Network(dt=DT, seed=seed)
    inp = net.add(PoissonGroup(200, 15.0))
    out = net.add(LIFGroup(10, tau_m=10e-3, v_rest=-70e-3, v_threshold=-54e-3, v_reset=-60e-3,
                           refractory=1e-3, channels={"ge": 5e-3}))
    net.connect(inp, out, "ge", fixed_probability(0.5), weight=1.8e-3, plasticity=rule)
    return net, net.add(SpikeMonitor(out))


def compare_rules(duration: float = 2.0, repeats: int = 3) -> dict[str, Any]:
    """Run time and output rate of pair, triplet and reward STDP on :func:`readme_net`."""
    from neuromorph.sim import RewardSTDPRule, TripletParams, TripletSTDPRule

    rules = {
        "pair": STDP(tau_pre=16.8e-3, tau_post=33.7e-3, a_pre=6.5e-5, a_post=-7.1e-5,
                     w_max=2.5e-3),
        "triplet": TripletSTDPRule(TripletParams(0.0, 6.5e-5, 7.1e-5, 0.0), w_max=2.5e-3),
        "reward": RewardSTDPRule(a_plus=6.5e-5, a_minus=-7.1e-5, lr=1.0, w_max=2.5e-3,
                                 modulator=lambda t: 1.0 if t % 0.5 < 1e-3 else 0.0),
    }
    times: dict[str, list[float]] = {k: [] for k in rules}
    rates: dict[str, float] = {}
    for _ in range(repeats):
        for name, rule in rules.items():
            net, mon = readme_net(rule)
            net.build()
            t0 = time.perf_counter()
            net.run(duration)
            times[name].append(time.perf_counter() - t0)
            rates[name] = mon.num_spikes / 10 / duration
    med = {k: float(np.median(v)) for k, v in times.items()}
    out = {"run_s": med, "rate_hz": rates,
           "ratio_vs_pair": {k: med[k] / med["pair"] for k in med}}
    for k in rules:
        print(f"{k:8s} {med[k]:.3f} s for {duration} s  ({out['ratio_vs_pair'][k]:.2f}x pair)  "
              f"output rate {rates[k]:.1f} Hz", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", action="store_true", help="pair vs triplet vs reward STDP")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--impls", nargs="+", default=list(WORKERS), choices=list(WORKERS))
    ap.add_argument("--json", type=str, default=None)
    ap.add_argument("--worker", type=str, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return
    if args.rules:
        out = compare_rules()
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1))
        return
    cache = os.environ.get("BRIAN2_CACHE_DIR") or tempfile.mkdtemp(prefix="nm_b2_cython_")
    res: dict[str, dict[str, Any]] = {}
    for impl in args.impls:
        cmd = [sys.executable, __file__, "--worker", impl, "--duration", str(args.duration),
               "--seed", str(args.seed), "--cache-dir", cache]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False,
                             env=dict(os.environ, PYTHONWARNINGS="ignore"))
        if out.returncode:
            raise RuntimeError(f"{impl} failed:\n{out.stderr[-3000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        w = np.asarray(r.pop("w"))
        r["frac_low"], r["frac_high"] = fractions(w)
        r["s_per_bio_s"] = r["run"] / args.duration
        r["hist"] = np.histogram(w / GMAX, bins=10, range=(0, 1))[0].tolist()
        res[impl] = {**r, "_w": w}
        print(f"{impl:14s} setup {r['setup']:.2f} s  compile {r['compile']:.2f} s  "
              f"{r['s_per_bio_s']:.3f} s/bio-s  peak +{r['peak_mb']:.0f} MiB  "
              f"w<=0.1gmax {r['frac_low']:.2f}  w>=0.9gmax {r['frac_high']:.2f}", flush=True)
    for ours in (k for k in res if k.startswith("ours")):
        for peer in (k for k in res if k.startswith("brian2")):
            ks = ks_2samp(res[ours]["_w"], res[peer]["_w"]).statistic
            ratio = res[ours]["run"] / res[peer]["run"]
            res[ours][f"vs {peer}"] = {"run_ratio": ratio, "ks": float(ks)}
            print(f"{ours} / {peer}: run ratio {ratio:.3f}, KS distance of final weights "
                  f"{ks:.3f}")
    if args.json:
        clean = {k: {kk: vv for kk, vv in v.items() if kk != "_w"} for k, v in res.items()}
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": clean}, indent=1))


if __name__ == "__main__":
    main()
