"""Our PCM model against IBM aihwkit's ``PCMLikeNoiseModel`` on the same programmed targets.

For each target conductance level and inference time ``t`` both models program 20 000 devices
and read them at ``t``; the script prints the mean and standard deviation of the read
conductance from each, and their relative differences (the issue's bar: within 2 %). Needs the
full aihwkit (a C++ build: ``apt-get install libopenblas-dev``, then ``pip install
--no-build-isolation scikit-build cmake pybind11 ninja mypy aihwkit``; see docs/analog.md).

    python benchmarks/compare_aihwkit_pcm.py
"""

from __future__ import annotations

import torch

from neuromorph.hardware_models.crossbar import PCM

TIMES = {"1s": 1.0, "1h": 3600.0, "1d": 86400.0, "1y": 3.15e7, "10y": 3.15e8}
LEVELS_US = (2.5, 7.5, 12.5, 20.0, 25.0)  # target conductances, uS (g_max = 25 uS)


def ours(g_us: float, t: float, n: int, seed: int) -> torch.Tensor:
    pcm = PCM()
    target = torch.full((n,), g_us * 1e-6, dtype=torch.float64)
    state = pcm.program(target, torch.Generator().manual_seed(seed))
    return pcm.read(state, t, torch.Generator().manual_seed(seed + 1)) * 1e6


def theirs(g_us: float, t: float, n: int, seed: int) -> torch.Tensor:
    from aihwkit.inference.noise.pcm import PCMLikeNoiseModel

    torch.manual_seed(seed)
    model = PCMLikeNoiseModel(g_max=25.0)
    target = torch.full((n,), g_us, dtype=torch.float64)
    g_prog = model.apply_programming_noise_to_conductance(target)
    nu = model.generate_drift_coefficients(target)
    return model.apply_drift_noise_to_conductance(g_prog, nu, t)


def main(n: int = 20_000) -> None:
    print(f"{'g_T uS':>7} {'t':>4} {'mean ours':>10} {'mean aihwkit':>13} {'rel':>7} "
          f"{'std ours':>9} {'std aihwkit':>12} {'rel':>7}")
    worst = 0.0
    for g in LEVELS_US:
        for name, t in TIMES.items():
            a, b = ours(g, t, n, 0), theirs(g, t, n, 0)
            dm = float((a.mean() - b.mean()) / b.mean())
            ds = float((a.std() - b.std()) / b.std())
            worst = max(worst, abs(dm), abs(ds))
            print(f"{g:7.1f} {name:>4} {a.mean():10.4f} {b.mean():13.4f} {dm:7.2%} "
                  f"{a.std():9.4f} {b.std():12.4f} {ds:7.2%}")
    print(f"largest relative difference: {worst:.2%} (bar: 2 %)")


if __name__ == "__main__":
    main()
