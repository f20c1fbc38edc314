"""snn-timesteps: the spiking digits network at T = 25, 5, 2 and 1 steps, down to one step.

The network, its neurons and its readout are snn-digits' (:func:`build_network`:
``Linear(64, 128) -> LIF -> Linear(128, 10) -> LI``, mean-membrane cross-entropy, Adam with a
cosine schedule, surrogate-gradient BPTT). What changes is the number of steps ``T`` per
inference:

- **from scratch:** one network per ``T`` in ``steps`` (same initial weights for every ``T``),
  ``epochs`` epochs each;
- **one step** (Chowdhury, Rathi & Roy 2021, "One Timestep is All You Need"): the network
  trained at ``teacher_steps`` (5) initialises a network at 4 steps, which is fine-tuned for
  ``finetune_epochs`` epochs and initialises the one at 3, and so on down to 1 (their iterative
  initialisation and retraining). Every stage is also distilled from the ``teacher_steps``
  network (:func:`~neuromorph.learning_rules.distill.distillation_loss`, weight
  ``distill_alpha``, temperature ``distill_temperature``). ``accuracy_T1`` is this chain's end.

**Input code.** ``encoding="direct"`` (the paper's choice): every step receives the analog
pixel intensities as input current (``x`` in [0, 1]), so a one-step network sees the whole
image. On a chip the pixels (integers 0..16) enter as graded events of that many spikes, with
the first layer's weights divided by 16. ``encoding="poisson"``: snn-digits' Bernoulli rate
code (``x * max_rate * dt`` per step), where one step is one binary sample of the image.

**Cost per inference.** Each trained network is quantised for Loihi 2 and Xylo and run in the
chips' integer arithmetic with the pipeline flushed (:mod:`~neuromorph.experiments.snn_eval`);
synaptic operations (input events times fan-out; a graded event of ``k`` counts ``k``, an upper
bound for Loihi 2, whose graded spikes cost one operation) and neuron updates give Loihi 2's
energy (23.6 pJ per synaptic op, 81 pJ per update, Davies et al. 2018); Xylo's is its published
power times the run's duration ``(T + flush) dt``. Xylo has no instantaneous synapse: a LIF maps
to its fastest synaptic current, which delivers half of an input's charge in the first step
(``dash_syn = 1``), so a network trained for one step receives half its drive there.

Writes ``results.txt``, ``metrics.json`` (``accuracy_T25``, ``accuracy_T5``, ``accuracy_T2``,
``accuracy_T1`` and the costs), ``timesteps.png`` and ``model.pt`` (the one-step network).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph import plot  # noqa: E402
from neuromorph.data.poisson_digits import DigitsSplit, digits_split, minibatches  # noqa: E402
from neuromorph.experiments.run_results import advance_when_resumed  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.experiments.snn_common import SNNConfig, build_network  # noqa: E402
from neuromorph.experiments.snn_eval import ChipResult, deploy, torch_threads  # noqa: E402
from neuromorph.hardware_models.chips import get_chip  # noqa: E402
from neuromorph.learning_rules.distill import distillation_loss, step_down  # noqa: E402
from neuromorph.learning_rules.spike_losses import READOUTS, get_loss  # noqa: E402
from neuromorph.networks.encoders import rate_encode  # noqa: E402
from neuromorph.networks.spiking_layers import SpikingSequential  # noqa: E402

SUMMARY = "digits SNN at T = 25, 5, 2, 1 steps (one-step by step-down + distillation); chip energy"
PIXEL_LEVELS = 16  # scikit-learn digits: integer pixels 0..16


@dataclass
class Config(SNNConfig):
    seeds: int = 5  # runs with seeds seed, seed+1, ... (each: every T, the chain, the chips)
    dt: float = 2e-3
    epochs: int = 20  # epochs of from-scratch training at each T
    steps: tuple[int, ...] = (25, 5, 2, 1)  # T values trained from scratch
    teacher_steps: int = 5  # the chain to one step starts here, and distils from this network
    finetune_epochs: int = 5  # epochs per stage of the chain teacher_steps - 1, ..., 1
    finetune_lr: float = 1e-3
    distill_alpha: float = 0.5  # weight of the teacher's soft targets (0: plain fine-tuning)
    distill_temperature: float = 2.0
    encoding: Literal["direct", "poisson"] = "direct"  # analog current each step, or Bernoulli
    max_rate: float = 500.0  # poisson only: Hz at pixel value 1
    test_fraction: float = 0.2
    train_subset: int = 0  # use only this many training samples (0 = all; for quick runs)
    chips: tuple[str, ...] = ("loihi2", "xylo")
    calibration_samples: int = 256  # training samples that set the readout's integer range
    threads: int = 1  # torch CPU threads; these small networks run fastest on one

    def __post_init__(self) -> None:
        self.check_snn()
        self.check(bool(self.steps) and min(self.steps) >= 1, f"steps must be >= 1: {self.steps}")
        self.check(self.teacher_steps in self.steps and self.teacher_steps >= 2,
                   f"teacher_steps = {self.teacher_steps} must be >= 2 and one of steps "
                   f"{self.steps} (the chain starts from that trained network)")
        self.check(self.finetune_epochs >= 1 and self.finetune_lr > 0,
                   "finetune_epochs must be >= 1 and finetune_lr > 0")
        self.check(0 <= self.distill_alpha <= 1, "distill_alpha must lie in [0, 1]")
        self.check(self.distill_temperature > 0, "distill_temperature must be > 0")
        self.check(self.encoding == "direct" or 0 < self.max_rate * self.dt <= 1,
                   f"max_rate * dt must lie in (0, 1], got {self.max_rate * self.dt}")
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")
        self.check(self.train_subset >= 0 and self.calibration_samples >= 1,
                   "train_subset must be >= 0 and calibration_samples >= 1")
        self.check(self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        for chip in self.chips:
            try:
                get_chip(chip)
            except ValueError as err:
                self.check(False, str(err))


# ----------------------------------------------------------------------------- input code
def encode(cfg: Config, x: Tensor, n_steps: int, gen: torch.Generator) -> Tensor:
    """Intensities ``x [B, 64]`` as the network's input ``[n_steps, B, 64]``."""
    if cfg.encoding == "direct":
        return x.expand(n_steps, *x.shape)
    return rate_encode(x, n_steps, dt=cfg.dt, max_rate=cfg.max_rate, generator=gen)


def chip_input(cfg: Config, model: SpikingSequential, x: Tensor, n_steps: int,
               gen: torch.Generator) -> tuple[Tensor, SpikingSequential]:
    """Input events for a chip and the network that reads them (direct: graded pixel events
    ``16 x`` and first-layer weights ``W / 16``, so ``W_chip events = W x``)."""
    if cfg.encoding == "poisson":
        return encode(cfg, x, n_steps, gen), model
    chip_model = copy.deepcopy(model)
    with torch.no_grad():
        chip_model[0].synapse.weight.div_(PIXEL_LEVELS)
    return torch.round(encode(cfg, x, n_steps, gen) * PIXEL_LEVELS), chip_model


# ----------------------------------------------------------------------------- training
def train(cfg: Config, model: SpikingSequential, data: DigitsSplit, n_steps: int, epochs: int,
          lr: float, gen: torch.Generator, teacher: SpikingSequential | None = None,
          tick: Callable[[], None] = lambda: None) -> SpikingSequential:
    """BPTT at ``n_steps`` steps; with a ``teacher`` (run at ``cfg.teacher_steps``) the loss is
    the distillation loss, else the readout's cross-entropy."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn, readout = get_loss(cfg.readout), READOUTS[cfg.readout]
    for _ in range(epochs):
        model.train()
        for idx in minibatches(len(data.y_train), cfg.batch_size, generator=gen):
            x, y = data.x_train[idx], data.y_train[idx]
            trace = model(encode(cfg, x, n_steps, gen))
            if teacher is None:
                loss = loss_fn(trace, y)
            else:
                with torch.no_grad():
                    z_t = readout(teacher(encode(cfg, x, cfg.teacher_steps, gen)))
                loss = distillation_loss(readout(trace), z_t, y, alpha=cfg.distill_alpha,
                                         temperature=cfg.distill_temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        tick()
    return model.eval()


def accuracy(cfg: Config, model: SpikingSequential, data: DigitsSplit, n_steps: int,
             seed: int) -> float:
    """Test accuracy (Poisson test spikes from a generator seeded by ``seed``)."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    with torch.no_grad():
        z = READOUTS[cfg.readout](model(encode(cfg, data.x_test, n_steps, gen)))
    return float((z.argmax(1) == data.y_test).float().mean())


def chip_results(cfg: Config, model: SpikingSequential, data: DigitsSplit, n_steps: int,
                 seed: int) -> list[ChipResult]:
    """The network on every configured chip's integer model (the float model's test input)."""
    x, chip_model = chip_input(cfg, model, data.x_test, n_steps,
                               torch.Generator().manual_seed(10_000 + seed))
    calib, _ = chip_input(cfg, model, data.x_train[: cfg.calibration_samples], n_steps,
                          torch.Generator().manual_seed(seed + 1))
    return [deploy(chip_model, chip, x, data.y_test, calib, cfg.dt, cfg.readout)
            for chip in cfg.chips]


# ----------------------------------------------------------------------------- one seed
def headline(cfg: Config) -> dict[int, str]:
    """``T -> network`` reported as ``accuracy_T{T}``: from scratch, but the chain at ``T = 1``."""
    names = {t: f"T{t}_scratch" for t in sorted(cfg.steps, reverse=True) if t != 1}
    return {**names, 1: "T1_chain"}


def run_seed(cfg: Config, seed: int, tick: Callable[[], None]
             ) -> tuple[dict[str, float], SpikingSequential, list[str]]:
    """Scratch networks at every ``T``, the chain to one step, their chip costs."""
    data = digits_split(cfg.test_fraction, seed)
    if cfg.train_subset:
        data = DigitsSplit(data.x_train[: cfg.train_subset], data.y_train[: cfg.train_subset],
                           data.x_test, data.y_test)
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, float] = {}
    nets: dict[str, SpikingSequential] = {}
    for n_steps in cfg.steps:
        torch.manual_seed(seed)  # the same initial weights at every T
        net = train(cfg, build_network(cfg, 64, 10), data, n_steps, cfg.epochs, cfg.lr, gen,
                    tick=tick)
        nets[f"T{n_steps}_scratch"] = net
        out[f"accuracy_T{n_steps}_scratch"] = accuracy(cfg, net, data, n_steps, seed)
    teacher = nets[f"T{cfg.teacher_steps}_scratch"]
    student = copy.deepcopy(teacher)
    for n_steps in step_down(cfg.teacher_steps):
        student = train(cfg, student, data, n_steps, cfg.finetune_epochs, cfg.finetune_lr, gen,
                        teacher=teacher, tick=tick)
        out[f"accuracy_T{n_steps}_chain"] = accuracy(cfg, student, data, n_steps, seed)
        nets[f"T{n_steps}_chain"] = copy.deepcopy(student)
    notes: list[str] = []
    for n_steps, name in headline(cfg).items():
        for r in chip_results(cfg, nets[name], data, n_steps, seed):
            out[f"accuracy_T{n_steps}_{r.chip}_int"] = r.accuracy
            out[f"synops_T{n_steps}_{r.chip}"] = r.synops
            if r.energy_nj is not None:
                out[f"energy_T{n_steps}_{r.chip}_nJ"] = r.energy_nj
            notes += [f"{r.chip}: {n}" for n in r.notes]
    return out, nets["T1_chain"], notes


# ----------------------------------------------------------------------------- report
def summarise(cfg: Config, per_seed: list[dict[str, float]]) -> dict[str, float]:
    """Means over seeds (and accuracy stds), the headline ``accuracy_T{T}`` (the network of
    :func:`headline`) and energy ratios between ``T`` values."""
    metrics: dict[str, float] = {}
    for key in per_seed[0]:
        values = np.array([m[key] for m in per_seed])
        metrics[key] = float(values.mean())
        if key.startswith("accuracy_"):
            metrics[f"{key}_std"] = float(values.std())
    for t, name in headline(cfg).items():
        metrics[f"accuracy_T{t}"] = metrics[f"accuracy_{name}"]
        metrics[f"accuracy_T{t}_std"] = metrics[f"accuracy_{name}_std"]
    t_max = max(headline(cfg))
    for chip in cfg.chips:
        e1 = metrics.get(f"energy_T1_{chip}_nJ")
        for t in {t_max, cfg.teacher_steps}:
            e = metrics.get(f"energy_T{t}_{chip}_nJ")
            if e is not None and e1:
                metrics[f"energy_ratio_{chip}_T{t}_over_T1"] = e / e1
    metrics["n_seeds"] = float(len(per_seed))
    return metrics


def _table(cfg: Config, m: dict[str, float]) -> list[str]:
    head = f"{'T':>4} {'network':>10} {'float acc %':>14}"
    for chip in cfg.chips:
        head += f" {chip + ' int %':>12} {chip + ' synops':>14} {chip + ' nJ':>11}"
    lines = [head]
    rows = [(t, f"T{t}_scratch") for t in sorted(cfg.steps, reverse=True)]
    rows += [(t, f"T{t}_chain") for t in step_down(cfg.teacher_steps)]
    for t, name in rows:
        acc, sd = 100 * m[f"accuracy_{name}"], 100 * m[f"accuracy_{name}_std"]
        spread = " (1 seed)" if m.get("n_seeds") == 1 else f" +- {sd:.2f}"  # as seed_mean_text
        line = f"{t:>4} {name.split('_')[1]:>10} {acc:>8.2f}{spread}"
        for chip in cfg.chips if headline(cfg).get(t) == name else ():
            e = m.get(f"energy_T{t}_{chip}_nJ", float("nan"))
            line += (f" {100 * m[f'accuracy_T{t}_{chip}_int']:>12.2f}"
                     f" {m[f'synops_T{t}_{chip}']:>14.4g} {e:>11.4g}")
        lines.append(line)
    return lines


def _rebuilt(cfg: Config, state: dict[str, Tensor]) -> SpikingSequential:
    """The one-step network of a seed finished before a resume, from its saved state."""
    net = build_network(cfg, 64, 10)
    net.load_state_dict(state)
    return net.eval()


def figure(cfg: Config, per_seed: list[dict[str, float]]) -> plt.Figure:
    """Accuracy against ``T`` (from scratch, the step-down chain and every chip's integer
    model, beside chance) and energy per inference on each chip, each the mean over seeds with
    a ±1 std band."""
    def over_seeds(key: str) -> list[float]:
        return [m.get(key, float("nan")) for m in per_seed]

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    ts, chain, heads = sorted(cfg.steps), sorted(step_down(cfg.teacher_steps)), sorted(
        headline(cfg))
    curves = {"trained from scratch": [ts, [over_seeds(f"accuracy_T{t}_scratch") for t in ts]],
              f"step-down from T={cfg.teacher_steps} + distillation":
                  [chain, [over_seeds(f"accuracy_T{t}_chain") for t in chain]]}
    for chip in cfg.chips:
        curves[f"{get_chip(chip).full_name} integer model"] = [
            heads, [over_seeds(f"accuracy_T{t}_{chip}_int") for t in heads]]
    plot.learning_curves({k: np.array(v).T for k, (_, v) in curves.items()},
                         {k: x for k, (x, _) in curves.items()}, xlabel="time steps T",
                         baselines={"chance (10 classes)": 0.1},
                         title=f"digits, {cfg.encoding} input", ax=ax)
    energy = {get_chip(chip).full_name: np.array(
        [over_seeds(f"energy_T{t}_{chip}_nJ") for t in heads]).T for chip in cfg.chips}
    plot.learning_curves(energy, heads, xlabel="time steps T", percent=False,
                         ylabel="energy per inference (nJ)",
                         title="chip models (pipeline flush included)", ax=bx)
    bx.set_yscale("log")
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_xticks(ts, [str(t) for t in ts])
        a.minorticks_off()
    return fig


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "snn-timesteps", cfg)
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    n_epochs = len(cfg.steps) * cfg.epochs + (cfg.teacher_steps - 1) * cfg.finetune_epochs
    bar = tqdm(total=len(seeds) * n_epochs, desc="snn-timesteps", disable=not progress,
               unit="ep")
    live: dict[int, SpikingSequential] = {}

    def train_seed(seed: int) -> dict[str, Any]:
        bar.set_postfix_str(f"seed {seed}")
        m, net, notes = run_seed(cfg, seed, lambda: bar.update(1))
        live[seed] = net  # this run's one-step network
        return {"metrics": m, "notes": notes,
                "one_step": {k: v.cpu() for k, v in net.state_dict().items()}}

    with torch_threads(cfg.threads):
        saved = run.seed_results(seeds, train_seed, on_done=advance_when_resumed(bar, n_epochs))
    bar.close()
    per_seed, notes = [s["metrics"] for s in saved], saved[-1]["notes"]
    one_step = live[seeds[-1]] if seeds[-1] in live else _rebuilt(cfg, saved[-1]["one_step"])
    metrics = summarise(cfg, per_seed)
    text = [f"snn-timesteps: scikit-learn digits (8x8, {len(seeds)} seed(s)), {cfg.encoding} "
            f"input, hidden {list(cfg.hidden)} {cfg.neuron}, dt = {cfg.dt * 1e3:g} ms; chain "
            f"{cfg.teacher_steps} -> 1 with {cfg.finetune_epochs} epochs per stage, distillation "
            f"alpha {cfg.distill_alpha}, tau {cfg.distill_temperature}", *_table(cfg, metrics)]
    gap = 100 * (metrics[f"accuracy_T{cfg.teacher_steps}"] - metrics["accuracy_T1"])
    text.append(f"T = 1 is {gap:.2f} points below T = {cfg.teacher_steps} (bar: 2 points)")
    for chip in cfg.chips:
        for key in sorted(k for k in metrics if k.startswith(f"energy_ratio_{chip}")):
            text.append(f"{key}: {metrics[key]:.1f}x")
    text.append("paper (Chowdhury et al. 2021): CIFAR-10, VGG16, T = 1: 93.05 %; 25-33x less "
                "energy than multi-step SNNs. This run: 8x8 digits, one hidden layer.")
    print("\n".join(text))
    run.write_text("results.txt", "\n".join(text) + "\n\nchip notes:\n"
                   + "\n".join(sorted(set(notes))) + "\n")
    run.write_metrics(metrics)
    run.save_figure(figure(cfg, per_seed), "timesteps")
    run.save_network(one_step, info={"seed": seeds[-1], "n_inputs": 64, "n_classes": 10,
                                     "n_steps": 1})
    return run.path


__all__ = ["SUMMARY", "Config", "main"]
