"""Scaling sweep of the event-driven engine: CUBA networks at fixed in-degree 80.

N = 4 000 ... 256 000 LIF neurons (80 % E / 20 % I; every neuron receives exactly 64 E and 16 I
synapses, so the rate, about 5 Hz, and the work per neuron stay fixed while the number of
synaptic events grows linearly with N). Each case runs in a fresh subprocess: a warm-up of
``--warmup`` s (the initial transient; not timed), then ``--duration`` s timed.

Reported per N: wall time per biological second, synaptic events per biological second and per
wall second (events = sum over timed spikes of the spiking neuron's out-degree), peak RSS
increase, and optionally the same for Brian2's cython runtime on the same synapses
(``--peer-max-n``; Brian2 always runs on the CPU). Peak memory is the RSS increase on the CPU
and ``torch.cuda.max_memory_allocated`` with ``--device cuda``. Bytes per synapse: the RSS
increase over the build divided by the synapses, after each simulator built a 1 000-neuron
warm-up network (so its compiled code, a fixed cost, is loaded before the baseline). The
log-log slope of time against events tells whether time grows no worse than linearly in the
events (slope <= 1; the done criterion of issue 4). Our compiled loop runs ``--threads``
threads (default ``auto``: one per 8 000 neurons, up to the cores: 1 at 4 000, 2 from 16 000 on
a 2-core machine; the spikes do not depend on it); Brian2's cython runtime runs one.

    python benchmarks/bench_event_scaling.py
    python benchmarks/bench_event_scaling.py --sizes 4000 16000 --peer-max-n 16000
    python benchmarks/bench_event_scaling.py --device cuda      # up to 4 M neurons
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_cuba import _status_mb, build_cuba, peak_rss_mb, reset_peak_rss  # noqa: E402

from neuromorph.sim.loop_native import THREADS_ENV, native_available  # noqa: E402

INDEGREE = 80


def _out_degrees(net: Any) -> np.ndarray:
    outdeg = np.zeros(net["P"].n, dtype=np.int64)
    for name in ("Ce", "Ci"):
        p = net[name]
        outdeg[p.s0:p.s1] += np.diff(p.indptr.numpy())
    return outdeg


def _events(net: Any, i: np.ndarray) -> int:
    """Synaptic events caused by spikes of neurons ``i`` (sum of their out-degrees); ``net``:
    the network or its out-degree array."""
    outdeg = net if isinstance(net, np.ndarray) else _out_degrees(net)
    return int(outdeg[i].sum())


def _synapses(net: Any) -> int:
    return int(net["Ce"].nnz + net["Ci"].nnz)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


WARM_N = 1000  # the warm-up network of each simulator (its code loaded before the baseline)


def _ours(args: argparse.Namespace) -> dict[str, Any]:
    if native_available():  # the library's code (numba, LLVM: ~80 MiB) is not per synapse:
        warm, _ = build_cuba(WARM_N, seed=args.seed, dtype=getattr(torch, args.dtype),
                             indegree=INDEGREE, device=args.device)
        warm.build()  # loads the compiled kernel, as Brian2's warm-up loads its modules
        del warm
    base = reset_peak_rss()
    t0 = time.perf_counter()
    net, spikes = build_cuba(args.n, seed=args.seed, dtype=getattr(torch, args.dtype),
                             indegree=INDEGREE, device=args.device)
    net.build()
    _sync(args.device)
    setup = time.perf_counter() - t0
    resident = _status_mb("VmRSS") - base
    net.run(args.warmup)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    _sync(args.device)
    t1 = time.perf_counter()
    net.run(args.duration)
    _sync(args.device)
    run_s = time.perf_counter() - t1
    i, t = spikes.i, spikes.t
    timed = i[t >= args.warmup - 1e-9]
    peak = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") \
        else peak_rss_mb() - base
    native = getattr(net, "_native", None)
    return {"setup": setup, "run": run_s, "spikes": int(timed.size),
            "events": _events(net, timed), "peak_mb": peak,
            "bytes_per_synapse": resident * 2**20 / _synapses(net),
            "threads": native.threads if native is not None else 1}


def _brian2(args: argparse.Namespace) -> dict[str, Any]:
    from brian2_reference import cuba_brian2

    from neuromorph.sim.brian2_bridge import set_target

    set_target("cython", cache_dir=args.cache_dir)
    net, _ = build_cuba(args.n, seed=args.seed, indegree=INDEGREE)
    Ce, Ci = net["Ce"], net["Ci"]
    kw = {"excitatory": (Ce.pre.numpy() + Ce.s0, Ce.post.numpy()),
          "inhibitory": (Ci.pre.numpy() + Ci.s0, Ci.post.numpy()),
          "v0": net["P"].v.numpy().astype(np.float64)}
    nnz, outdeg = _synapses(net), _out_degrees(net)
    del net, Ce, Ci
    cuba_brian2(WARM_N, seed=args.seed, target="cython").run(0.0)  # its code, loaded once
    base = reset_peak_rss()
    t0 = time.perf_counter()
    b2 = cuba_brian2(args.n, seed=args.seed, target="cython", **kw)
    b2.run(0.0)
    setup = time.perf_counter() - t0
    resident = _status_mb("VmRSS") - base
    b2.run(args.warmup)
    run_s = b2.run(args.duration)
    mon = b2.monitors["spikes"]
    timed = mon.i[mon.t >= args.warmup - 1e-9]
    return {"setup": setup, "run": run_s, "spikes": int(timed.size),
            "events": _events(outdeg, timed), "peak_mb": peak_rss_mb() - base,
            "bytes_per_synapse": resident * 2**20 / nnz}


WORKERS = {"ours": _ours, "brian2-cython": _brian2}


def _spawn(impl: str, n: int, args: argparse.Namespace, cache: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", impl, "--n", str(n), "--duration",
           str(args.duration), "--warmup", str(args.warmup), "--seed", str(args.seed),
           "--cache-dir", cache, "--device", args.device, "--dtype", args.dtype]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if impl == "ours":
        env[THREADS_ENV] = args.threads
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if res.returncode:
        raise RuntimeError(f"{impl} n={n} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    d = args.duration
    out.update(n=n, impl=impl, load_average=os.getloadavg()[0], s_per_bio_s=out["run"] / d,
               events_per_bio_s=out["events"] / d,
               events_per_wall_s=out["events"] / out["run"], rate_hz=out["spikes"] / n / d)
    return out


def loglog_slope(events: list[float], times: list[float]) -> float:
    """Least-squares slope of log(time) against log(events)."""
    return float(np.polyfit(np.log(events), np.log(times), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="default: 4k..256k on CPU, 4k..4M on CUDA")
    ap.add_argument("--device", type=str, default="cpu", help="cpu or cuda (ours only)")
    ap.add_argument("--dtype", type=str, default="float64", choices=["float32", "float64"],
                    help="our precision (Brian2 runs in float64)")
    ap.add_argument("--duration", type=float, default=0.5)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=str, default="auto",
                    help="threads of our compiled loop (NEUROMORPH_THREADS): 'auto' = one per "
                         "8000 neurons up to the cores; Brian2's cython runtime uses one")
    ap.add_argument("--peer-max-n", type=int, default=64000,
                    help="run Brian2 cython for N up to this (0: never)")
    ap.add_argument("--json", type=str, default=None)
    ap.add_argument("--worker", type=str, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=4000, help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return
    if args.sizes is None:
        args.sizes = [4000, 16000, 64000, 256000]
        if args.device.startswith("cuda"):
            args.sizes += [1_024_000, 4_096_000]
    cache = os.environ.get("BRIAN2_CACHE_DIR") or tempfile.mkdtemp(prefix="nm_b2_cython_")
    rows = []
    for n in args.sizes:
        impls = ["ours"] + (["brian2-cython"] if n <= args.peer_max_n else [])
        for impl in impls:
            r = _spawn(impl, n, args, cache)
            rows.append(r)
            print(f"{impl:14s} N={n:7d} rate={r['rate_hz']:.2f} Hz  "
                  f"{r['s_per_bio_s']:.3f} s/bio-s  {r['events_per_wall_s'] / 1e6:.1f} M events/s "
                  f" peak +{r['peak_mb']:.0f} MiB  {r['bytes_per_synapse']:.1f} B/synapse resident"
                  f"  setup {r['setup']:.2f} s  {r.get('threads', 1)} thread(s)"
                  f"  (load {r['load_average']:.2f})", flush=True)
        if len(impls) == 2:
            ours, peer = rows[-2], rows[-1]
            print(f"  N={n}: ratio_run_vs_brian2_cython = {ours['run'] / peer['run']:.3f}; "
                  f"bytes per synapse ours / Brian2: {ours['bytes_per_synapse']:.1f} / "
                  f"{peer['bytes_per_synapse']:.1f}; setup ours / Brian2 {ours['setup']:.2f} / "
                  f"{peer['setup']:.2f} s", flush=True)
    ours = [r for r in rows if r["impl"] == "ours"]
    slope = loglog_slope([r["events"] for r in ours], [r["run"] for r in ours]) \
        if len(ours) > 1 else float("nan")
    verdict = "no worse than linear" if slope <= 1.05 else "SUPERLINEAR" if slope > 1.05 else "n/a"
    print(f"log-log slope of our run time against synaptic events: {slope:.3f} ({verdict})")
    seg = [loglog_slope([a["events"], b["events"]], [a["run"], b["run"]])
           for a, b in zip(ours, ours[1:], strict=False)]
    print("segment slopes: " + ", ".join(f"{a['n']}->{b['n']}: {x:.2f}"
                                          for a, b, x in zip(ours, ours[1:], seg, strict=False)))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows,
                                               "slope": slope, "segment_slopes": seg}, indent=1))


if __name__ == "__main__":
    main()
