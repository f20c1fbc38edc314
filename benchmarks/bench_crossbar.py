"""Crossbar benchmarks: IR-drop first-order error against array size; tile forward vs the peer.

1. IR drop. For square arrays of ``n`` x ``n`` devices (conductances uniform in [0, g_max] with
   g_max = 25 uS, wire segments of ``r`` ohm), the exact sparse solve gives the effective
   conductance matrix ``T``; the first-order approximation gives ``T1``. Reported: the relative
   error of the output currents for random inputs in [-V_read, V_read],
   ``||I1 - I|| / ||I||``, the size of the IR-drop effect itself ``||I - I_ideal|| / ||I||``,
   the share of the effect the approximation misses ``||I1 - I|| / ||I - I_ideal||``, and the
   exact solve time.
2. Tile forward (noise-free, 8-bit DAC/ADC, tiles of 256 inputs) of ours against
   ``aihwkit_lightning.nn.AnalogLinear`` (torch path) in the same run: median time and the ratio
   ours / peer (< 1: we are faster), when aihwkit-lightning is installed.

    python benchmarks/bench_crossbar.py
    python benchmarks/bench_crossbar.py --sizes 16 32 64 128 --r 1.0
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from neuromorph.hardware_models.crossbar import (  # noqa: E402
    AnalogLinear,
    TileConfig,
    ir_drop,  # noqa: E402
)


def ir_table(sizes: list[int], r: float, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        g = rng.uniform(0, 25e-6, size=(n, n))
        v = rng.uniform(-0.2, 0.2, size=(64, n))
        t0 = time.perf_counter()
        exact = ir_drop.effective_conductance(g, r)
        solve_s = time.perf_counter() - t0
        approx = ir_drop.first_order_conductance(g, r)
        i_ideal, i_exact, i_first = v @ g, v @ exact, v @ approx
        norm = np.linalg.norm(i_exact)
        rows.append({
            "n": n, "solve_s": solve_s,
            "effect": np.linalg.norm(i_exact - i_ideal) / norm,
            "first_order_error": np.linalg.norm(i_first - i_exact) / norm,
            "missed_share": np.linalg.norm(i_first - i_exact) / np.linalg.norm(i_exact - i_ideal),
        })
    return rows


def forward_timing(n_in: int, n_out: int, batch: int, repeats: int) -> dict[str, float] | None:
    try:
        from aihwkit_lightning.nn import AnalogLinear as PeerLinear
        from aihwkit_lightning.simulator.configs import TorchInferenceRPUConfig
    except ImportError:
        return None
    cfg = TorchInferenceRPUConfig()
    cfg.mapping.max_input_size = 256
    cfg.pre_post.input_range.enable = True
    cfg.pre_post.input_range.learn_input_range = False
    cfg.pre_post.input_range.init_value = 1.0
    cfg.pre_post.input_range.init_from_data = 0
    cfg.forward.inp_res = 254
    cfg.forward.out_res = 254
    cfg.forward.out_bound = 12.0
    lin = torch.nn.Linear(n_in, n_out)
    ours = AnalogLinear.from_linear(lin, TileConfig(max_inputs=256, max_outputs=n_out)).eval()
    peer = PeerLinear.from_digital(lin, cfg).eval()
    x = torch.randn(batch, n_in)
    times: dict[str, list[float]] = {"ours": [], "peer": []}
    with torch.no_grad():
        for _ in range(repeats):  # interleaved, so load hits both alike
            for name, mod in (("ours", ours), ("peer", peer)):
                t0 = time.perf_counter()
                mod(x)
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"ours_s": med["ours"], "peer_s": med["peer"], "ratio": med["ours"] / med["peer"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    ap.add_argument("--r", type=float, default=1.0, help="wire resistance per segment (ohm)")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    print(f"IR drop, r = {args.r} ohm/segment, G ~ U[0, 25 uS], V ~ U[-0.2, 0.2] V (CPU)")
    print(f"{'n':>5}{'IR effect':>12}{'1st-order err':>15}{'missed share':>14}{'solve (s)':>11}")
    for row in ir_table(args.sizes, args.r):
        print(f"{row['n']:>5}{row['effect']:>12.2e}{row['first_order_error']:>15.2e}"
              f"{row['missed_share']:>14.2e}{row['solve_s']:>11.3f}")
    timing = forward_timing(1024, 512, 256, args.repeats)
    if timing is None:
        print("aihwkit-lightning not installed: forward timing skipped")
    else:
        print(f"tile forward 1024x512, batch 256 (CPU, {torch.get_num_threads()} threads): ours "
              f"{timing['ours_s'] * 1e3:.2f} ms, aihwkit-lightning {timing['peer_s'] * 1e3:.2f} ms,"
              f" ratio ours/peer {timing['ratio']:.2f}")


if __name__ == "__main__":
    main()
