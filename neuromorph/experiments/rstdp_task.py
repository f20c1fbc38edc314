"""rstdp-task: a reward-modulated spiking network learns which output answers which pattern.

Each trial shows one of ``patterns`` Poisson input patterns (``active`` of ``inputs`` trains at
``rate_on``, the rest at ``rate_off``) for ``n_steps`` steps to ``patterns`` LIF output
neurons (``neuromorph.networks.neurons.LIF``) that inhibit each other; the output with the most
spikes is the network's choice. Reward ``R = +1`` if it is the pattern's own output, ``-1``
otherwise; the modulator is the reward-prediction error ``m = R - Rbar_k`` (``Rbar_k`` a
running mean per pattern), delivered at the end of the trial to reward-modulated STDP
(:class:`~neuromorph.learning_rules.plasticity.RewardSTDP`: eligibility traces of pair STDP,
``dW = lr m e(T)``; Izhikevich 2007, Fremaux & Gerstner 2016). ``batch`` trials run in parallel
with shared weights. Homeostatic synaptic scaling
(:class:`~neuromorph.learning_rules.plasticity.SynapticScaling`, ``scaling_lr``) pulls every
output's mean rate toward ``target_rate``, so an output silenced early (no spikes, no
eligibility, no learning) comes back instead of dying. The learning curve is the accuracy on
fresh trials (no plasticity).
Default: 4 patterns (two of them overlap), 2400 trials, seconds; harder (about 73 % after
4800 trials): ``--set patterns=6 active=6 noise=0.1 trials=4800``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.plots import learning_curves  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.learning_rules.plasticity import RewardSTDP, SynapticScaling  # noqa: E402
from neuromorph.models import linear_map  # noqa: E402
from neuromorph.networks.neurons import LIF  # noqa: E402

SUMMARY = "reward-modulated STDP (eligibility traces) learns a pattern -> output association"


@dataclass
class Config(ExperimentConfig):
    patterns: int = 4
    inputs: int = 30
    active: int = 8  # inputs on per pattern (consecutive, wrapping: patterns may overlap)
    rate_on: float = 40.0  # Hz
    rate_off: float = 5.0  # Hz
    n_steps: int = 100
    dt: float = 1e-3
    tau_m: float = 20e-3
    w_init: float = 0.12  # initial weights ~ U[0.5, 1.5] * w_init
    w_max: float = 0.5
    w_inh: float = 1.0  # lateral inhibition per spike (in units of the threshold)
    noise: float = 0.05  # std of the membrane noise per step (exploration)
    trials: int = 2400
    batch: int = 16
    lr: float = 0.01
    tau_e: float = 0.2  # eligibility trace (s)
    baseline_tau: float = 10.0  # batches for the running reward mean
    target_rate: float = 25.0  # Hz, homeostatic set point of every output's mean rate
    scaling_lr: float = 0.02  # 0 switches synaptic scaling off
    eval_trials: int = 300
    eval_every: int = 5  # batches

    def __post_init__(self) -> None:
        self.check(self.patterns >= 2 and self.inputs >= self.active >= 1,
                   "need patterns >= 2 and inputs >= active >= 1")
        self.check(self.rate_on * self.dt <= 1 and self.rate_off >= 0, "rates must be valid")
        self.check(self.n_steps >= 10 and self.dt > 0, "need n_steps >= 10 and dt > 0")
        self.check(self.trials >= self.batch >= 1, "need trials >= batch >= 1")
        self.check(self.lr > 0 and self.tau_e > 0 and self.baseline_tau >= 1,
                   "need lr > 0, tau_e > 0 and baseline_tau >= 1")
        self.check(self.eval_trials >= 1 and self.eval_every >= 1, "eval settings must be >= 1")
        self.check(self.target_rate > 0 and self.scaling_lr >= 0,
                   "need target_rate > 0 and scaling_lr >= 0")


class Task:
    """Pattern rates and the spiking network's simulation."""

    def __init__(self, cfg: Config, gen: torch.Generator) -> None:
        self.cfg, self.gen = cfg, gen
        rates = torch.full((cfg.patterns, cfg.inputs), cfg.rate_off)
        for k in range(cfg.patterns):
            start = (k * cfg.active) % cfg.inputs
            idx = (torch.arange(cfg.active) + start) % cfg.inputs
            rates[k, idx] = cfg.rate_on
        self.rates = rates
        self.neurons = LIF(cfg.patterns, dt=cfg.dt, tau=cfg.tau_m, r=cfg.tau_m / cfg.dt,
                           v_threshold=1.0, reset="zero")

    def inputs(self, which: Tensor) -> Tensor:
        p = self.rates[which] * self.cfg.dt  # [B, n_in]
        u = torch.rand(self.cfg.n_steps, *p.shape, generator=self.gen)
        return (u < p).float()

    def run(self, spikes_in: Tensor, w: Tensor) -> Tensor:
        """Output spikes ``[T, B, K]``: ``I = W x + noise - w_inh * (other outputs' spikes)``."""
        c = self.cfg
        drive = spikes_in @ w.T
        noise = c.noise * torch.randn(drive.shape, generator=self.gen)
        s, state, out = torch.zeros_like(drive[0]), None, []
        for t in range(drive.shape[0]):
            inhibition = c.w_inh * (s.sum(1, keepdim=True) - s)
            s, state = self.neurons.step(drive[t] + noise[t] - inhibition, state)
            out.append(s)
        return torch.stack(out)

    def choose(self, out: Tensor) -> Tensor:
        """The output with the most spikes; ties broken at random, silence is no choice (-1)."""
        counts = out.sum(0)
        jitter = 1e-3 * torch.rand(counts.shape, generator=self.gen)
        choice = (counts + jitter).argmax(1)
        return torch.where(counts.sum(1) > 0, choice, torch.full_like(choice, -1))


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "rstdp-task", cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    task = Task(cfg, gen)
    w = cfg.w_init * (0.5 + torch.rand(cfg.patterns, cfg.inputs, generator=gen))
    rule = RewardSTDP(dt=cfg.dt, tau_e=cfg.tau_e, lr=cfg.lr, w_min=0.0, w_max=cfg.w_max)
    baseline = torch.zeros(cfg.patterns)
    scaling = SynapticScaling(cfg.target_rate, lr=cfg.scaling_lr, tau_avg=5.0, dt=cfg.dt)
    rbar = None

    def evaluate() -> float:
        which = torch.randint(0, cfg.patterns, (cfg.eval_trials,), generator=gen)
        return float((task.choose(task.run(task.inputs(which), w)) == which).float().mean())

    curve, rewards = [(0, evaluate())], []
    n_batches = cfg.trials // cfg.batch
    for b in tqdm(range(1, n_batches + 1), desc="rstdp-task", disable=not progress):
        which = torch.randint(0, cfg.patterns, (cfg.batch,), generator=gen)
        spikes_in = task.inputs(which)
        out = task.run(spikes_in, w)
        reward = torch.where(task.choose(out) == which, 1.0, -1.0)
        m = reward - baseline[which]
        for k in range(cfg.patterns):
            sel = which == k
            if sel.any():
                baseline[k] += (reward[sel].mean() - baseline[k]) / cfg.baseline_tau
        dw, _ = rule.update(spikes_in, out, w, modulator=m)
        dw_scaling, rbar = scaling.update(spikes_in, out, w, state=rbar)
        w = (w + dw + dw_scaling).clamp(*rule.bounds)
        rewards.append(float(reward.mean()))
        if b % cfg.eval_every == 0 or b == n_batches:
            curve.append((b * cfg.batch, evaluate()))
    final = curve[-1][1]
    reached = [t for t, a in curve if a >= 0.9]
    metrics = {
        "initial_accuracy": curve[0][1],
        "final_accuracy": final,
        "test_accuracy": final,
        "chance_accuracy": 1.0 / cfg.patterns,
        "trials_to_90_percent": float(reached[0]) if reached else float("nan"),
        "mean_reward_last_10_batches": float(torch.tensor(rewards[-10:]).mean()),
        "own_weight_mean": float(torch.stack([w[k][task.rates[k] == cfg.rate_on].mean()
                                              for k in range(cfg.patterns)]).mean()),
        "other_weight_mean": float(torch.stack([w[k][task.rates[k] != cfg.rate_on].mean()
                                                for k in range(cfg.patterns)]).mean()),
    }
    text = (f"rstdp-task: {cfg.patterns} patterns -> {cfg.patterns} outputs, "
            f"{n_batches * cfg.batch} trials\n"
            f"accuracy {100 * metrics['initial_accuracy']:.1f}% -> {100 * final:.1f}% "
            f"(chance {100 / cfg.patterns:.1f}%), 90% reached after "
            f"{metrics['trials_to_90_percent']:.0f} trials\n"
            f"weights from a pattern's inputs to its output {metrics['own_weight_mean']:.3f}, "
            f"elsewhere {metrics['other_weight_mean']:.3f}")
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    fig = learning_curves({"reward-modulated STDP": curve}, xlabel="trials",
                          title="accuracy on fresh trials")
    fig.axes[0].axhline(100 / cfg.patterns, color="k", ls="--", lw=1, label="chance")
    fig.axes[0].legend()
    run.save_figure(fig, "learning_curve")
    fig, ax = plt.subplots(figsize=(6, 2.5))
    im = ax.imshow(w.numpy(), aspect="auto", cmap="viridis")
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    ax.set_title("learned weights")
    fig.colorbar(im, ax=ax)
    run.save_figure(fig, "weights")
    run.save_network(linear_map(w), info={"rule": "reward-stdp"})  # input -> output synapses
    run.save_model({"pattern_rates": task.rates, "curve": curve}, "data")
    return run.path
