"""Surrogate-gradient training benchmark (the Open Neuromorphic setup).

One ``Linear(n, n)`` + LIF layer, batch 16, loss = sum of the output spikes, forward + backward;
neuromorph against each installed peer (snnTorch, SpikingJelly, Norse) in the same run, on the
same machine, with the same weights and input. For every peer, neuromorph's LIF is configured to
the peer's exact semantics (reset kind and timing, surrogate), so the gradients must agree.

Reported per (peer, n): the min time of neuromorph and of the peer (end to end, and neuron only:
the LIF alone on a given input current), the ratio of the mins and the median of the paired
ratios (each repeat runs both back to back, so a pair shares the machine load; < 1 = we are
faster; on a shared machine the paired median is the robust figure), peak
memory of one forward + backward (CPU: peak-RSS increase in a fresh subprocess, with the
high-water mark reset just before the step; CUDA: ``torch.cuda.max_memory_allocated``), and the
relative error ``||g_ours - g_peer|| / ||g_peer||`` of the weight gradient (must be <= 1e-5).

    python benchmarks/bench_surrogate_training.py                # CPU: n = 512, 1024, 2048; T = 100
    python benchmarks/bench_surrogate_training.py --device cuda  # n = 4096, 16384; T = 500
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from neuromorph.networks.spiking_layers import SpikingLinear  # noqa: E402

BETA = 0.95  # per-step membrane decay of every model
GRAD_TOL = 1e-5  # relative weight-gradient agreement required with every peer
Step = Callable[[], None]


# ------------------------------------------------------------------ peers
# Each peer: () -> (ours_kwargs, input_scale, make_e2e(lin) -> f(x),
# make_neuron(device) -> f(cur)); the peer's modules live on the benchmark's device.
# ours_kwargs configure neuromorph's LIF to the peer's semantics; models are built once per case.
def _snntorch() -> tuple:
    import snntorch as snn
    from snntorch import surrogate
    from snntorch import utils as sutils

    ours = dict(dt=1.0, tau=1 / (1 - BETA), r=1 / (1 - BETA), reset="subtract",
                reset_delay=True, detach_reset=True, surrogate="arctan")

    def make_e2e(lin: nn.Linear) -> Callable:
        net = nn.Sequential(lin, snn.Leaky(beta=BETA, spike_grad=surrogate.atan(),
                                           init_hidden=True)).to(lin.weight.device)

        def run(x: torch.Tensor) -> torch.Tensor:
            sutils.reset(net)  # the idiom: Linear and Leaky step by step
            return torch.stack([net(x[t]) for t in range(x.shape[0])])
        return run

    def make_neuron(device: str) -> Callable:
        lif = snn.Leaky(beta=BETA, spike_grad=surrogate.atan()).to(device)

        def run(cur: torch.Tensor) -> torch.Tensor:
            mem, out = torch.zeros_like(cur[0]), []
            for t in range(cur.shape[0]):
                spk, mem = lif(cur[t], mem)
                out.append(spk)
            return torch.stack(out)
        return run

    return ours, 1.0, make_e2e, make_neuron


def _spikingjelly() -> tuple:
    from spikingjelly.activation_based import functional, neuron, surrogate

    tau = 1 / (1 - BETA)
    ours = dict(dt=1.0, tau=tau, r=tau, reset="zero", reset_delay=False, detach_reset=False,
                surrogate="arctan")

    def make_neuron(device: str) -> Callable:
        sn = neuron.LIFNode(tau=tau, decay_input=False, v_reset=0.0, detach_reset=False,
                            surrogate_function=surrogate.ATan(), step_mode="m").to(device)

        def run(cur: torch.Tensor) -> torch.Tensor:
            functional.reset_net(sn)
            return sn(cur)
        return run

    def make_e2e(lin: nn.Linear) -> Callable:
        sn = make_neuron(lin.weight.device)
        return lambda x: sn(lin(x))

    return ours, 1.0, make_e2e, make_neuron


def _norse() -> tuple:
    from norse.torch import LIFBoxCell
    from norse.torch.functional.lif_box import LIFBoxParameters

    dt, tau = 1e-3, 1e-3 / (1 - BETA)
    ours = dict(dt=dt, tau=tau, r=1.0, reset="zero", reset_delay=False, detach_reset=False,
                surrogate="fast_sigmoid", scale=1.0)  # Norse's SuperSpike: 1 / (|u| + 1)^2

    def make_neuron(device: str) -> Callable:
        p = LIFBoxParameters(tau_mem_inv=torch.as_tensor(1 / tau, device=device),
                             v_th=torch.as_tensor(1.0, device=device),
                             v_reset=torch.as_tensor(0.0, device=device), method="super")
        cell = LIFBoxCell(p, dt=dt).to(device)

        def run(cur: torch.Tensor) -> torch.Tensor:
            state, out = None, []
            for t in range(cur.shape[0]):
                z, state = cell(cur[t], state)
                out.append(z)
            return torch.stack(out)
        return run

    def make_e2e(lin: nn.Linear) -> Callable:
        run = make_neuron(lin.weight.device)
        return lambda x: run(lin(x))

    # Norse scales the input by dt / tau: scale it up so that the neurons fire.
    return ours, 1 / (1 - BETA), make_e2e, make_neuron


PEERS: dict[str, Callable[[], tuple]] = {
    "snntorch": _snntorch, "spikingjelly": _spikingjelly, "norse": _norse,
}


# ------------------------------------------------------------------ cases
def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def build_case(peer: str, case: str, n: int, T: int, B: int, device: str,
               seed: int = 0) -> tuple[Step, Step, Callable[[], tuple], Step]:
    """``(ours_step, peer_step, grads, clear)`` for one configuration. A step clears the
    gradients, then runs forward + backward; ``grads()`` runs both once and returns
    ``(rel_err, spike_mismatches, firing_rate)``; ``clear()`` drops all gradients."""
    ours_kw, scale, make_e2e, make_neuron = PEERS[peer]()
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, B, n, generator=g) * scale).to(device)
    torch.manual_seed(seed)  # the same weights for every case
    layer = SpikingLinear(n, n, recompute=case == "e2e_recompute", **ours_kw).to(device)
    lin_p = nn.Linear(n, n).to(device)
    lin_p.load_state_dict(layer.synapse.state_dict())
    neuron = layer.neuron
    if case in ("e2e", "e2e_recompute"):
        peer_e2e = make_e2e(lin_p)

        def ours() -> torch.Tensor:
            return layer(x)

        def theirs() -> torch.Tensor:
            return peer_e2e(x)

        def leaves() -> tuple[torch.Tensor, torch.Tensor]:
            return layer.synapse.weight, lin_p.weight
    else:
        with torch.no_grad():
            cur = layer.synapse(x)
        cur_o, cur_p = cur.clone().requires_grad_(), cur.clone().requires_grad_()
        peer_neuron = make_neuron(device)

        def ours() -> torch.Tensor:
            return neuron(cur_o)

        def theirs() -> torch.Tensor:
            return peer_neuron(cur_p)

        def leaves() -> tuple[torch.Tensor, torch.Tensor]:
            return cur_o, cur_p

    def clear() -> None:
        for p in (*layer.parameters(), *lin_p.parameters(), *leaves()):
            p.grad = None

    def step(fn: Callable[[], torch.Tensor]) -> Step:
        def run() -> None:
            clear()
            fn().sum().backward()
        return run

    def grads() -> tuple[float, int, float]:
        so, sp = ours(), theirs()
        so.sum().backward()
        sp.sum().backward()
        go, gp = (t.grad for t in leaves())
        rel = float((go - gp).norm() / gp.norm().clamp_min(1e-30))
        return rel, int((so != sp).sum()), float(sp.detach().float().mean())

    return step(ours), step(theirs), grads, clear


def time_pair(ours: Step, theirs: Step, repeats: int, device: str) -> tuple[list, list]:
    """Paired timings (seconds) after one warm-up each: every repeat runs both back to back (in
    alternating order), so that ``t_o[i] / t_p[i]`` compares runs under the same machine load."""
    ours(), theirs()
    t_o: list[float] = []
    t_p: list[float] = []
    for i in range(repeats):
        pair = ((ours, t_o), (theirs, t_p))
        for fn, acc in pair if i % 2 == 0 else pair[::-1]:
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            acc.append(time.perf_counter() - t0)
    return t_o, t_p


def matmul_floor(n: int, T: int, B: int, repeats: int, device: str) -> float:
    """Seconds of the layer's two unavoidable matmuls alone: ``Linear`` forward over all
    ``T * B`` rows plus its weight gradient (min over ``repeats``)."""
    lin = nn.Linear(n, n).to(device)
    x = torch.rand(T, B, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        lin.zero_grad(set_to_none=True)
        _sync(device)
        t0 = time.perf_counter()
        lin(x).sum().backward()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def half_precision_step(n: int, T: int, B: int, dtype: torch.dtype, repeats: int,
                        device: str) -> tuple[float, float]:
    """``(min ms, peak MiB)`` of neuromorph's layer in ``dtype`` (fp16/bf16 matmuls; the neuron
    state stays fp32 inside the kernels). No peer: gradients cannot agree to 1e-5 there."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(T, B, n, generator=g).to(device, dtype)
    layer = SpikingLinear(n, n, dt=1.0, tau=1 / (1 - BETA), r=1 / (1 - BETA), reset="subtract",
                          reset_delay=True, detach_reset=True, surrogate="arctan")
    layer = layer.to(device, dtype)

    def step() -> None:
        layer.zero_grad(set_to_none=True)
        layer(x).sum().backward()

    step()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    layer.zero_grad(set_to_none=True)
    return best * 1e3, cuda_peak_mib(step) if device == "cuda" else float("nan")


def cuda_peak_mib(fn: Step) -> float:
    """Peak CUDA memory (MiB) that ``fn()`` allocates beyond what is allocated before it."""
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


# ------------------------------------------------------------------ memory
def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def measure_memory(peer: str, case: str, who: str, n: int, T: int, B: int, device: str) -> float:
    """Peak extra memory (MiB) of one forward + backward, after a same-shape warm-up."""
    ours, theirs, _, clear = build_case(peer, case, n, T, B, device)
    fn = ours if who == "ours" else theirs
    fn()  # warm-up: library init, thread pools, allocator caches
    clear()
    if device == "cuda":
        return cuda_peak_mib(fn)
    import gc

    gc.collect()
    base = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
    fn()
    return _status_mb("VmHWM") - base


def memory_in_subprocess(*args: object, threads: int = 0) -> float:
    """Run :func:`measure_memory` in a fresh interpreter. glibc is told to serve every
    allocation over 4 KiB by ``mmap`` and to return freed memory at once, so that the resident
    set tracks live tensors (no allocator caching hides or inflates the peak)."""
    cmd = [sys.executable, __file__, "--threads", str(threads), "--memcase",
           *(str(a) for a in args)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "4096", "MALLOC_TRIM_THRESHOLD_": "0"}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--T", type=int)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--peers", nargs="*", default=list(PEERS))
    ap.add_argument("--cases", nargs="*", choices=["e2e", "e2e_recompute", "neuron"],
                    help="default: all on CPU; e2e and neuron on CUDA (recompute is CPU-only)")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch intra-op threads for every library (0: torch's default)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--half", nargs="*", default=[], choices=["bfloat16", "float16"],
                    help="also time neuromorph alone in these dtypes (no peer)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--memcase", nargs=7, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.memcase:
        peer, case, who, n, T, B, device = a.memcase
        print(measure_memory(peer, case, who, int(n), int(T), int(B), device))
        return []
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device available")
    cases = a.cases or (["e2e", "e2e_recompute", "neuron"] if a.device == "cpu"
                        else ["e2e", "neuron"])
    sizes = a.sizes or ([512, 1024, 2048] if a.device == "cpu" else [4096, 16384])
    T = a.T or (100 if a.device == "cpu" else 500)
    dev_name = torch.cuda.get_device_name() if a.device == "cuda" else "cpu"
    print(f"# device={dev_name} threads={torch.get_num_threads()} torch={torch.__version__} "
          f"T={T} batch={a.batch} repeats={a.repeats}")
    print(f"{'peer':13s}{'case':14s}{'n':>6s}{'ours ms':>10s}{'peer ms':>10s}{'ratio':>7s}"
          f"{'paired':>7s}"
          f"{'ours MiB':>10s}{'peer MiB':>10s}{'mem ratio':>10s}{'grad rel':>10s}"
          f"{'flips':>6s}{'rate':>6s}")
    rows = []
    for peer in a.peers:
        try:
            PEERS[peer]()
        except ImportError as err:
            print(f"{peer:13s}skipped: not installed ({err})")
            continue
        for n in sizes:
            for case in cases:
                ours, theirs, grads, _ = build_case(peer, case, n, T, a.batch, a.device)
                rel, flips, rate = grads()
                t_o, t_p = time_pair(ours, theirs, a.repeats, a.device)
                del ours, theirs, grads
                m_o = m_p = float("nan")
                if not a.no_memory:
                    args = (peer, case, n, T, a.batch, a.device)
                    if a.device == "cuda":  # the CUDA allocator's peak is exact in-process
                        m_o = measure_memory(*args[:2], "ours", *args[2:])
                        m_p = measure_memory(*args[:2], "peer", *args[2:])
                    else:
                        m_o = memory_in_subprocess(*args[:2], "ours", *args[2:],
                                                   threads=a.threads)
                        m_p = memory_in_subprocess(*args[:2], "peer", *args[2:],
                                                   threads=a.threads)
                paired = statistics.median(o / p for o, p in zip(t_o, t_p, strict=True))
                row = dict(peer=peer, case=case, n=n, T=T, batch=a.batch, device=dev_name,
                           ours_ms=min(t_o) * 1e3, peer_ms=min(t_p) * 1e3, paired_ratio=paired,
                           ours_median_ms=statistics.median(t_o) * 1e3,
                           peer_median_ms=statistics.median(t_p) * 1e3,
                           ours_mib=m_o, peer_mib=m_p, grad_rel_err=rel, spike_flips=flips,
                           firing_rate=rate)
                rows.append(row)
                print(f"{peer:13s}{case:14s}{n:6d}{row['ours_ms']:10.1f}{row['peer_ms']:10.1f}"
                      f"{row['ours_ms'] / row['peer_ms']:7.3f}{paired:7.3f}{m_o:10.1f}{m_p:10.1f}"
                      f"{m_o / max(m_p, 1e-9):10.3f}{rel:10.1e}{flips:6d}{rate:6.3f}"
                      f"{'' if rel <= GRAD_TOL else '  GRADIENTS DISAGREE'}", flush=True)
    for n in sizes:
        floor = matmul_floor(n, T, a.batch, a.repeats, a.device) * 1e3
        print(f"# matmul floor n={n}: Linear fwd + weight grad alone {floor:.1f} ms")
        rows.append(dict(peer="floor", case="matmul", n=n, T=T, batch=a.batch, device=dev_name,
                         ours_ms=floor))
    for name in a.half:
        for n in sizes:
            ms, mib = half_precision_step(n, T, a.batch, getattr(torch, name), a.repeats, a.device)
            print(f"# neuromorph alone in {name}, n={n}: {ms:.1f} ms, {mib:.1f} MiB")
            rows.append(dict(peer="none", case=f"e2e_{name}", n=n, T=T, batch=a.batch,
                             device=dev_name, ours_ms=ms, ours_mib=mib))
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
