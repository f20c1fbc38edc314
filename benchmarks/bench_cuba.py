"""CUBA benchmark (Brette et al. 2007, Brian2's example): neuromorph against Brian2, same run.

4000 LIF neurons (3200 E / 800 I, p = 0.02), 1 s of biological time, dt = 0.1 ms. Brian2 runs
its own CUBA example script (:func:`brian2_reference.cuba_brian2` in this folder, drawing its
own synapses and initial voltages, or ours with ``--same-synapses``) with its numpy and cython
runtimes. Every case runs in a fresh
subprocess (clean peak memory); the repeats are interleaved so that load from other jobs on a
shared machine hits every implementation alike.

Reported per implementation (median over repeats): ``setup`` (building the network objects and
their synapses), ``compile`` (Brian2 code generation/compilation = its ``run(0 s)``; cython is
timed once on a cold cache, later repeats hit the cache), ``run`` (simulating ``duration``), the
end-to-end sum, peak RSS increase, and the ratio ours / peer of ``run`` and of end-to-end time
(< 1: we are faster). With ``--profile``, where our run time goes (per scheduled function).

    python benchmarks/bench_cuba.py                      # ours f32/f64, Brian2 numpy + cython
    python benchmarks/bench_cuba.py --repeats 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from neuromorph.sim import LIFGroup, Network, SpikeMonitor  # noqa: E402
from neuromorph.sim.connectivity import fixed_indegree, fixed_probability  # noqa: E402

DT = 1e-4


# ------------------------------------------------------------------ shared helpers
def reset_peak_rss() -> float:
    """Reset the kernel's RSS high-water mark; returns the current RSS in MiB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_cuba(n: int = 4000, *, seed: int = 0, dtype: torch.dtype = torch.float32,
               indegree: int | None = None, device: str = "cpu") -> tuple[Network, SpikeMonitor]:
    """Our CUBA network; ``indegree=k`` draws fixed in-degrees (0.8 k from E, 0.2 k from I)."""
    net = Network(dt=DT, seed=seed, dtype=dtype, device=device)
    P = net.add(LIFGroup(n, tau_m=20e-3, v_rest=-49e-3, v_threshold=-50e-3, v_reset=-60e-3,
                         refractory=5e-3, channels={"ge": 5e-3, "gi": 10e-3}, name="P"))
    g = net.generator("init")
    P.set("v", -60e-3 + torch.rand(n, generator=g, dtype=torch.float64) * 10e-3)
    n_e = int(0.8 * n)
    if indegree is None:
        ce, ci = fixed_probability(0.02), fixed_probability(0.02)
    else:
        k_e = int(round(0.8 * indegree))
        ce, ci = fixed_indegree(k_e), fixed_indegree(indegree - k_e)
    net.connect(P[:n_e], P, "ge", ce, weight=1.62e-3, name="Ce")
    net.connect(P[n_e:], P, "gi", ci, weight=-9e-3, name="Ci")
    return net, net.add(SpikeMonitor(P, name="spikes"))


def profile_run(net: Network, duration: float) -> dict[str, float]:
    """Seconds spent in each scheduled function of ``net`` over ``duration`` (engine internals)."""
    net.build()
    acc: dict[str, float] = defaultdict(float)
    clock = time.perf_counter

    def timed(fn: Any) -> Any:
        owner, name = getattr(fn, "__self__", None), getattr(fn, "__name__", None)
        key = f"{type(owner).__name__}.{name}" if owner is not None else \
            (name or type(fn).__name__)

        def wrapper(step: int) -> None:
            t0 = clock()
            fn(step)
            acc[key] += clock() - t0
        return wrapper

    saved = net._fns
    net._fns = [timed(f) for f in saved]
    try:
        t0 = clock()
        net.run(duration)
        acc["total (incl. loop)"] = clock() - t0
    finally:
        net._fns = saved
    return dict(sorted(acc.items(), key=lambda kv: -kv[1]))


# ------------------------------------------------------------------ workers (one per process)
def _ours(args: argparse.Namespace) -> dict[str, Any]:
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.impl.split("-")[1]]
    base = reset_peak_rss()
    t0 = time.perf_counter()
    net, spikes = build_cuba(args.n, seed=args.seed, dtype=dtype)
    net.build()
    t1 = time.perf_counter()
    net.run(args.duration)
    t2 = time.perf_counter()
    out = {"setup": t1 - t0, "compile": 0.0, "run": t2 - t1, "spikes": spikes.num_spikes,
           "peak_mb": peak_rss_mb() - base}
    if args.profile:
        net2, _ = build_cuba(args.n, seed=args.seed, dtype=dtype)
        out["profile"] = profile_run(net2, args.duration)
    return out


def _brian2(args: argparse.Namespace) -> dict[str, Any]:
    from brian2_reference import cuba_brian2

    from neuromorph.sim.brian2_bridge import set_target

    target = args.impl.split("-")[1]
    set_target(target, cache_dir=args.cache_dir)
    kw: dict[str, Any] = {}
    if args.same_synapses:
        net, _ = build_cuba(args.n, seed=args.seed)  # our synapses and initial v
        Ce, Ci = net["Ce"], net["Ci"]
        kw = {"excitatory": (Ce.pre.numpy() + Ce.s0, Ce.post.numpy()),
              "inhibitory": (Ci.pre.numpy() + Ci.s0, Ci.post.numpy()),
              "v0": net["P"].v.numpy().astype(np.float64)}
        del net
    base = reset_peak_rss()
    t0 = time.perf_counter()
    b2 = cuba_brian2(args.n, seed=args.seed, target=target, **kw)
    t1 = time.perf_counter()
    compile_s = b2.run(0.0)
    run_s = b2.run(args.duration)
    return {"setup": t1 - t0, "compile": compile_s, "run": run_s,
            "spikes": b2.monitors["spikes"].num_spikes, "peak_mb": peak_rss_mb() - base}


WORKERS = {"ours-float32": _ours, "ours-float64": _ours, "brian2-numpy": _brian2,
           "brian2-cython": _brian2}


def _spawn(impl: str, args: argparse.Namespace, cache_dir: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", impl, "--n", str(args.n), "--duration",
           str(args.duration), "--seed", str(args.seed), "--cache-dir", cache_dir]
    if args.profile and impl.startswith("ours"):
        cmd.append("--profile")
    if args.same_synapses:
        cmd.append("--same-synapses")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode:
        raise RuntimeError(f"{impl} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--impls", nargs="+", default=list(WORKERS), choices=list(WORKERS))
    ap.add_argument("--profile", action="store_true", help="profile our run (first repeat)")
    ap.add_argument("--same-synapses", action="store_true",
                    help="Brian2 runs on our synapses and initial v (default: it draws its own, "
                         "as its example does; setup then includes drawing them)")
    ap.add_argument("--json", type=str, default=None)
    ap.add_argument("--worker", type=str, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.impl = args.worker
        print(json.dumps(WORKERS[args.worker](args)))
        return
    load_start = os.getloadavg()  # the machine is shared: every figure goes with its load
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    cache = tempfile.mkdtemp(prefix="nm_b2_cython_")  # cold cache: first cython repeat compiles
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in args.impls}
    for r in range(args.repeats):
        for impl in args.impls:
            args_r = argparse.Namespace(**{**vars(args), "profile": args.profile and r == 0})
            results[impl].append(_spawn(impl, args_r, cache))
            print(f"repeat {r} {impl}: " + ", ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in results[impl][-1].items() if k != "profile"), flush=True)
    summary = summarize(results)
    print(json.dumps(summary, indent=1))
    headline = headline_ratios(summary)
    headline["load_average_start"], headline["load_average_end"] = load_start[0], \
        os.getloadavg()[0]
    print(json.dumps(headline, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({**headline, "args": vars(args), "raw": results,
                                               "summary": summary}, indent=1))


def headline_ratios(summary: dict[str, Any]) -> dict[str, float]:
    """The done criterion of issue 14: run time ours (float64, as Brian2) / Brian2 cython, and
    the build times beside it (ours: setup incl. numba's compile or cache load; Brian2: setup +
    its ``run(0 s)`` code generation, first repeat = cold cache, later = warm)."""
    med, rat = summary["median"], summary["ratios"]
    out: dict[str, float] = {}
    for dt in ("float64", "float32"):
        key = f"ours-{dt} / brian2-cython"
        if key in rat:
            suffix = "" if dt == "float64" else "_float32"
            out[f"ratio_run_vs_brian2_cython{suffix}"] = rat[key]["run"]
            out[f"build_s_ours_{dt}_first"] = med[f"ours-{dt}"]["setup_first"]
            out[f"build_s_ours_{dt}_warm"] = med[f"ours-{dt}"]["setup"]
    if "brian2-cython" in med:
        b = med["brian2-cython"]
        out["build_s_brian2_cython_first"] = b["setup_first"] + b["compile_first"]
        out["build_s_brian2_cython_warm"] = b["setup"] + b["compile_warm"]
    return out


def summarize(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per implementation and ratios ours / peer (run and end-to-end)."""
    med: dict[str, dict[str, float]] = {}
    for impl, runs in results.items():
        later = runs[1:] or runs
        m = {k: statistics.median(r[k] for r in later) for k in ("setup", "run", "peak_mb")}
        m["compile_first"] = runs[0]["compile"]
        m["compile_warm"] = statistics.median(r["compile"] for r in later)
        m["setup_first"] = runs[0]["setup"]  # cython: includes compiling its connect code
        m["e2e_warm"] = m["setup"] + m["compile_warm"] + m["run"]
        m["e2e_first"] = runs[0]["setup"] + runs[0]["compile"] + runs[0]["run"]
        m["spikes"] = statistics.median(r["spikes"] for r in runs)
        med[impl] = m
    ratios = {}
    for ours in (k for k in med if k.startswith("ours")):
        for peer in (k for k in med if k.startswith("brian2")):
            ratios[f"{ours} / {peer}"] = {
                "run": med[ours]["run"] / med[peer]["run"],
                "e2e_warm": med[ours]["e2e_warm"] / med[peer]["e2e_warm"],
                "e2e_first": med[ours]["e2e_first"] / med[peer]["e2e_first"]}
    profile = next((r[0]["profile"] for k, r in results.items() if "profile" in r[0]), None)
    return {"median": med, "ratios": ratios, "profile": profile}


if __name__ == "__main__":
    main()
