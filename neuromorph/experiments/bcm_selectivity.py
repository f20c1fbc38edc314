"""bcm-selectivity: BCM neurons with a sliding threshold become selective to one input pattern.

``patterns`` non-negative input patterns (``active`` of ``dim`` inputs on, overlapping at
random) are shown one at a time, with multiplicative noise, to ``neurons`` rectified linear
neurons ``y = [W x]_+``. Each learns with BCM (Bienenstock, Cooper & Munro 1982) and the
Intrator-Cooper sliding threshold ``theta = E[y^2]``::

    dW = eta y (y - theta) x^T,      theta <- theta + (y^2 - theta) / tau_theta

Selectivity of a neuron (Bienenstock et al. 1982): ``SI = 1 - mean_k r_k / max_k r_k`` over the
noise-free responses ``r_k`` to the patterns, reported normalised by its maximum ``1 - 1/K``
(1 = responds to one pattern only, 0 = responds equally to all). A BCM fixed point responds to
one pattern with ``y = K`` (where ``y = theta = y^2 / K``) and to the others with 0.
Default: 12 neurons, 4 patterns, 20 000 presentations (seconds); larger:
``--set neurons=50 patterns=8 dim=60 steps=100000``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.plasticity_figures import bcm_figures  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.learning_rules.plasticity import BCM  # noqa: E402
from neuromorph.models import linear_map  # noqa: E402

SUMMARY = "BCM neurons with a sliding threshold become selective to one of several patterns"


@dataclass
class Config(ExperimentConfig):
    neurons: int = 12
    patterns: int = 4
    dim: int = 20
    active: int = 6  # inputs on per pattern
    noise: float = 0.1  # multiplicative input noise (std)
    steps: int = 20000  # presentations (one pattern each)
    lr: float = 3e-3
    tau_theta: float = 20.0  # presentations
    w_init: float = 0.1  # initial weights ~ U[0, 2 w_init] / active
    selective_at: float = 0.8  # normalised SI counted as "selective"
    record_every: int = 200

    def __post_init__(self) -> None:
        self.check(self.neurons >= 1 and self.patterns >= 2, "need neurons >= 1, patterns >= 2")
        self.check(1 <= self.active <= self.dim, "active must be in [1, dim]")
        self.check(self.noise >= 0 and self.lr > 0, "need noise >= 0 and lr > 0")
        self.check(self.tau_theta >= 1, "tau_theta must be >= 1 presentation")
        self.check(self.steps >= self.record_every >= 1, "need steps >= record_every >= 1")
        self.check(0 < self.selective_at <= 1, "selective_at must be in (0, 1]")


def make_patterns(cfg: Config, g: torch.Generator) -> torch.Tensor:
    """``[patterns, dim]`` binary patterns with ``active`` inputs on (seeded, overlapping)."""
    p = torch.zeros(cfg.patterns, cfg.dim, dtype=torch.float64)
    for k in range(cfg.patterns):
        p[k, torch.randperm(cfg.dim, generator=g)[: cfg.active]] = 1.0
    return p


def selectivity(resp: torch.Tensor) -> torch.Tensor:
    """Normalised selectivity index per neuron from responses ``[patterns, neurons]``."""
    k = resp.shape[0]
    top = resp.max(0).values
    si = torch.where(top > 0, 1 - resp.mean(0) / top.clamp_min(1e-12), torch.zeros_like(top))
    return si / (1 - 1 / k)


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "bcm-selectivity", cfg)
    g = torch.Generator().manual_seed(cfg.seed)
    pats = make_patterns(cfg, g)
    w = torch.rand(cfg.neurons, cfg.dim, generator=g, dtype=torch.float64) \
        * 2 * cfg.w_init / cfg.active
    rule, theta = BCM(lr=cfg.lr, tau_theta=cfg.tau_theta), None
    si0 = selectivity(torch.relu(pats @ w.T))
    which = torch.randint(0, cfg.patterns, (cfg.steps,), generator=g)
    noise = 1 + cfg.noise * torch.randn(cfg.steps, cfg.dim, generator=g, dtype=torch.float64)
    history, thetas, times = [], [], []
    for t in tqdm(range(cfg.steps), desc="bcm-selectivity", disable=not progress):
        x = (pats[which[t]] * noise[t]).clamp_min(0)[None]
        y = torch.relu(x @ w.T)
        dw, theta = rule.update(x, y, w, state=theta)
        w = (w + dw).clamp_min(0.0)
        if (t + 1) % cfg.record_every == 0:
            times.append(t + 1)
            history.append(torch.relu(pats @ w.T))
            thetas.append(theta.clone())
    resp = history[-1]  # [patterns, neurons]
    si = selectivity(resp)
    preferred = resp.argmax(0)
    selective = si >= cfg.selective_at
    metrics = {
        "selectivity_initial_mean": float(si0.mean()),
        "selectivity_mean": float(si.mean()),
        "selectivity_min": float(si.min()),
        "fraction_selective": float(selective.float().mean()),
        "patterns_covered": float(len(preferred[selective].unique())),
        "preferred_response_mean": float(resp.max(0).values.mean()),
        "bcm_fixed_point_response": float(cfg.patterns),
        "theta_mean": float(theta.mean()),
    }
    lines = [f"bcm-selectivity: {cfg.neurons} BCM neurons, {cfg.patterns} patterns, "
             f"{cfg.steps} presentations",
             f"selectivity (normalised SI): {metrics['selectivity_initial_mean']:.3f} -> "
             f"{metrics['selectivity_mean']:.3f} (min {metrics['selectivity_min']:.3f})",
             f"selective neurons (SI >= {cfg.selective_at}): "
             f"{int(selective.sum())}/{cfg.neurons}, covering "
             f"{int(metrics['patterns_covered'])}/{cfg.patterns} patterns",
             f"preferred response {metrics['preferred_response_mean']:.2f} (BCM fixed point "
             f"y = K = {cfg.patterns})"]
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    figures = bcm_figures(times, torch.stack(history).numpy(), torch.stack(thetas).numpy(),
                          si0.numpy(), si.numpy(), cfg.selective_at)
    for name, fig in figures.items():
        run.save_figure(fig, name)
    run.save_network(linear_map(w), info={"rule": "bcm", "response": "relu(W x)",
                                          "theta": theta.tolist()})
    run.save_model({"patterns": pats}, "data")
    return run.path
