"""spiking-seq: spiking RWKV and LMU blocks against their non-spiking twins on two sequence tasks.

**Models** (:mod:`neuromorph.networks.sequence_models`): ``n_blocks`` RWKV blocks
(SpikeGPT-style, Zhu et al. 2023) or LMU blocks (LMUFormer-style, Liu et al. 2024) of width
``d``, each spiking (LIF activations along the sequence, surrogate-gradient BPTT) and as its
twin (the same network with ReLU in place of every LIF). The twin trains first (cross-entropy,
Adam, cosine schedule, ``mnist1d_epochs``); the spiking model then starts from the twin's
weights (``spiking_init="twin"``, an ANN-to-SNN initialisation) and trains for
``spiking_epochs`` (a longer cosine schedule than the twin's: the sparsity penalty needs the
epochs to find sparse spikes without losing accuracy) on the distillation loss
from the twin (``distill_alpha``, ``distill_temperature``) plus ``synop_penalty`` times its
synops' share of the dense operations (differentiable through the surrogate), which trades
accuracy for sparser spikes.

**Tasks**

- ``mnist1d``: MNIST-1D (:func:`~neuromorph.data.mnist1d.make_mnist1d`, ``mnist1d_samples``
  generated sequences, 80/20 split) read as a sequence of 40 steps, one value per step; class
  logits are the mean of the per-step readout. Metric: test accuracy.
- ``text``: next-character prediction on the source of the standard-library module
  ``text_module`` (default ``argparse.py`` of the running Python; its SHA-256 is written to
  ``results.txt``); the first 90 % trains on random windows of ``seq_len`` characters, the last
  10 % tests in consecutive windows (state reset per window). Metric: bits per character.

**Operations** (per sample for MNIST-1D, per character for text; counting in
:mod:`neuromorph.networks.sequence`): the spiking model's synops (events x fan-out) plus its
remaining dense MACs (the real-valued input layer, the LMU's ``Abar m``) against the twin's
MACs; ``{task}_{model}_op_ratio = twin MACs / (spiking synops + spiking MACs)``.

Writes ``results.txt``, ``metrics.json``, ``spiking_seq.png`` and every trained network of the
last seed as a reloadable model (:func:`save_models`: spec + state, ``neuromorph.models.
load_model``): the spiking RWKV as ``model.json`` + ``model.pt``, the others as
``{task}_{model}_{variant}.json`` + ``.pt``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.data.mnist1d import make_mnist1d  # noqa: E402
from neuromorph.data.poisson_digits import minibatches  # noqa: E402
from neuromorph.data.text_corpus import (  # noqa: E402
    CharCorpus,
    consecutive_windows,
    load_char_corpus,
    module_source_path,
    windows,
)
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.experiments.snn_eval import torch_threads  # noqa: E402
from neuromorph.learning_rules.distill import distillation_loss  # noqa: E402
from neuromorph.networks.sequence import OpCount  # noqa: E402
from neuromorph.networks.sequence_models import BLOCKS, SequenceModel, n_parameters  # noqa: E402
from neuromorph.primitives.spike import get_surrogate  # noqa: E402

SUMMARY = "spiking RWKV / LMU vs non-spiking twins: MNIST-1D accuracy, char bpc, synops vs MACs"
TASKS = ("mnist1d", "text")
VARIANTS = {"spiking": True, "twin": False}
PAPERS = ("papers: SpikeGPT (Zhu et al. 2023): enwik8 / WikiText-103 language modelling, 20x "
          "fewer operations than its non-spiking counterpart; LMUFormer (Liu et al. 2024): "
          "psMNIST and Speech Commands, 53x fewer parameters and 65x fewer FLOPs than "
          "transformer baselines. This run: generated MNIST-1D (40 steps) and one Python "
          "source file, small single-block models, twins of the same size (not transformers).")


@dataclass
class Config(ExperimentConfig):
    seeds: int = 1  # runs with seeds seed, seed+1, ...
    models: tuple[str, ...] = ("lmu", "rwkv")  # blocks: lmu, rwkv
    tasks: tuple[str, ...] = TASKS  # mnist1d, text
    d: int = 64  # block width
    d_ffn: int = 128  # channel-MLP width
    n_blocks: int = 1
    tau_steps: float = 2.0  # LIF membrane time constant in sequence steps
    surrogate: str = "fast_sigmoid"
    surrogate_scale: float = 5.0  # width of the surrogate derivative
    lmu_channels: int = 8  # d_u: memory channels of an LMU block
    lmu_order: int = 8  # q: Legendre states per channel
    lr: float = 3e-3  # Adam, cosine schedule
    batch_size: int = 64
    mnist1d_samples: int = 4000  # generated sequences (80 % train)
    mnist1d_epochs: int = 30  # MNIST-1D epochs of the twin
    spiking_epochs: int = 45  # MNIST-1D epochs of the spiking model (from the twin's weights)
    text_module: str = "argparse"  # standard-library module whose source is the corpus
    text_chars: int = 0  # use only the first this many characters (0 = the whole file)
    seq_len: int = 64  # characters per training / test window
    text_steps: int = 200  # training minibatches for the text task
    text_batch: int = 32
    spiking_init: Literal["twin", "scratch"] = "twin"  # start from the trained twin's weights
    distill_alpha: float = 0.5  # weight of the twin's soft targets for the spiking model
    distill_temperature: float = 2.0
    synop_penalty: float = 0.25  # weight of synops / (dense equivalent) in the spiking loss
    threads: int = 1  # torch CPU threads

    def __post_init__(self) -> None:
        for m in self.models:
            self.check(m in BLOCKS, f"unknown model {m!r}; choose from {sorted(BLOCKS)}")
        for t in self.tasks:
            self.check(t in TASKS, f"unknown task {t!r}; choose from {list(TASKS)}")
        self.check(bool(self.models) and bool(self.tasks), "models and tasks must not be empty")
        self.check(min(self.seeds, self.d, self.d_ffn, self.n_blocks, self.lmu_channels,
                       self.lmu_order, self.batch_size, self.mnist1d_epochs, self.spiking_epochs,
                       self.text_steps,
                       self.text_batch, self.threads) >= 1,
                   "seeds, widths, n_blocks, lmu sizes, batches, epochs, steps, threads >= 1")
        self.check(self.tau_steps >= 1.0, f"tau_steps = {self.tau_steps} must be >= 1 step")
        self.check(self.lr > 0 and self.surrogate_scale > 0, "lr and surrogate_scale must be > 0")
        self.check(self.mnist1d_samples >= 20, "mnist1d_samples must be >= 20")
        self.check(0 <= self.distill_alpha <= 1 and self.distill_temperature > 0,
                   "distill_alpha must lie in [0, 1] and distill_temperature be > 0")
        self.check(self.synop_penalty >= 0, f"synop_penalty must be >= 0: {self.synop_penalty}")
        self.check(self.seq_len >= 2 and self.text_chars >= 0,
                   "seq_len must be >= 2 and text_chars >= 0")
        try:
            get_surrogate(self.surrogate)
            module_source_path(self.text_module)
        except ValueError as err:
            self.check(False, str(err))


def build(cfg: Config, kind: str, task: str, n_in: int, n_out: int, spiking: bool,
          seed: int, theta_steps: float) -> SequenceModel:
    """The ``kind`` model for ``task``; spiking and twin share their initial weights."""
    extra = (dict(d_u=cfg.lmu_channels, order=cfg.lmu_order, theta_steps=theta_steps)
             if kind == "lmu" else {})
    return SequenceModel(kind, "classify" if task == "mnist1d" else "lm", n_in, n_out,
                         d=cfg.d, d_ffn=cfg.d_ffn, n_blocks=cfg.n_blocks, spiking=spiking,
                         tau_steps=cfg.tau_steps, surrogate=cfg.surrogate,
                         scale=cfg.surrogate_scale, seed=seed, **extra)


def _optimiser(cfg: Config, model: SequenceModel, steps: int
               ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)


def loss_of(cfg: Config, model: SequenceModel, x: torch.Tensor, y: torch.Tensor,
            teacher: SequenceModel | None) -> torch.Tensor:
    """Cross-entropy; with a ``teacher`` (the trained twin) the distillation loss; plus
    ``synop_penalty`` times the spikes' share of the dense operations (spiking models)."""
    ops = OpCount(differentiable=True) if cfg.synop_penalty > 0 and model.spiking else None
    z = model.logits(x, ops).flatten(0, -2)
    y = y.flatten()
    if teacher is None:
        loss = F.cross_entropy(z, y)
    else:
        with torch.no_grad():
            zt = teacher.logits(x).flatten(0, -2)
        loss = distillation_loss(z, zt, y, alpha=cfg.distill_alpha,
                                 temperature=cfg.distill_temperature)
    return loss if ops is None else loss + cfg.synop_penalty * ops.synop_fraction()


def run_mnist1d(cfg: Config, model: SequenceModel, seed: int, tick: Callable[[], None],
                teacher: SequenceModel | None = None) -> tuple[float, OpCount]:
    """Train on MNIST-1D (one value per step); test accuracy and the test set's op counts."""
    data = make_mnist1d(cfg.mnist1d_samples, seed=seed)
    x_train, x_test = data.x_train.T[..., None], data.x_test.T[..., None]  # [40, N, 1]
    gen = torch.Generator().manual_seed(seed)
    epochs = cfg.spiking_epochs if model.spiking else cfg.mnist1d_epochs
    opt, sched = _optimiser(cfg, model, epochs)
    for _ in range(epochs):
        model.train()
        for idx in minibatches(len(data.y_train), cfg.batch_size, generator=gen):
            loss = loss_of(cfg, model, x_train[:, idx], data.y_train[idx], teacher)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        tick()
    model.eval()
    ops = OpCount()
    with torch.no_grad():
        acc = (model.logits(x_test, ops).argmax(1) == data.y_test).float().mean()
    return float(acc), ops


def run_text(cfg: Config, model: SequenceModel, corpus: CharCorpus, seed: int,
             tick: Callable[[], None], teacher: SequenceModel | None = None
             ) -> tuple[float, OpCount]:
    """Train next-character prediction; test bits per character and op counts (per window)."""
    gen = torch.Generator().manual_seed(seed)
    opt, sched = _optimiser(cfg, model, cfg.text_steps)
    model.train()
    for step in range(cfg.text_steps):
        w = windows(corpus.train, cfg.seq_len, cfg.text_batch, gen)
        loss = loss_of(cfg, model, w[:-1], w[1:], teacher)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % max(cfg.text_steps // 10, 1) == 0:
            tick()
    model.eval()
    test = consecutive_windows(corpus.test, cfg.seq_len)
    ops = OpCount()
    with torch.no_grad():
        nll = F.cross_entropy(model.logits(test[:-1], ops).flatten(0, 1), test[1:].flatten())
    return float(nll) / math.log(2.0), ops


def run_seed(cfg: Config, seed: int, corpus: CharCorpus | None, tick: Callable[[], None]
             ) -> tuple[dict[str, float], dict[str, SequenceModel]]:
    """Every (task, model, variant) from ``seed``: metric and ops per sample or character, and
    the trained models by ``{task}_{model}_{variant}``."""
    out: dict[str, float] = {}
    models: dict[str, SequenceModel] = {}
    for task in cfg.tasks:
        for kind in cfg.models:
            twin = None
            for variant in ("twin", "spiking"):  # the twin first: it may teach the spiking one
                key = f"{task}_{kind}_{variant}"
                start = time.perf_counter()
                n = 1 if task == "mnist1d" else corpus.vocab_size
                model = build(cfg, kind, task, n, 10 if task == "mnist1d" else n,
                              VARIANTS[variant], seed,
                              40.0 if task == "mnist1d" else float(cfg.seq_len))
                teacher = None
                if twin is not None:
                    if cfg.spiking_init == "twin":
                        model.load_twin_weights(twin)
                    teacher = twin.eval() if cfg.distill_alpha > 0 else None
                if task == "mnist1d":
                    score, ops = run_mnist1d(cfg, model, seed, tick, teacher)
                    out[f"{key}_accuracy"], per = score, 1.0
                else:
                    score, ops = run_text(cfg, model, corpus, seed, tick, teacher)
                    out[f"{key}_bpc"], per = score, 1.0 / cfg.seq_len
                twin = model if twin is None else twin
                for name, value in ops.per_sample().items():
                    out[f"{key}_{name}"] = value * per
                out[f"{key}_params"] = float(n_parameters(model))
                out[f"{key}_seconds"] = time.perf_counter() - start
                models[key] = model
    return out, models


def summarise(cfg: Config, per_seed: list[dict[str, float]]) -> dict[str, float]:
    """Means over seeds, op ratios, spiking-minus-twin gaps and the headline keys."""
    m = {k: float(np.mean([s[k] for s in per_seed])) for k in per_seed[0]}
    for task in cfg.tasks:
        for kind in cfg.models:
            spk, twin = f"{task}_{kind}_spiking", f"{task}_{kind}_twin"
            m[f"{task}_{kind}_op_ratio"] = m[f"{twin}_macs"] / (m[f"{spk}_synops"]
                                                               + m[f"{spk}_macs"])
            m[f"{task}_{kind}_synop_ratio"] = m[f"{twin}_macs"] / max(m[f"{spk}_synops"], 1e-12)
            if task == "mnist1d":
                accs = [s[f"{spk}_accuracy"] for s in per_seed]
                m[f"{spk}_accuracy_std"] = float(np.std(accs))
                m[f"mnist1d_{kind}_gap_points"] = 100 * (m[f"{twin}_accuracy"]
                                                         - m[f"{spk}_accuracy"])
            else:
                m[f"text_{kind}_bpc_gap"] = m[f"{spk}_bpc"] - m[f"{twin}_bpc"]
    if "mnist1d" in cfg.tasks:
        m["test_accuracy"] = max(m[f"mnist1d_{k}_spiking_accuracy"] for k in cfg.models)
    m["n_seeds"] = float(len(per_seed))
    return m


def report(cfg: Config, m: dict[str, float], corpus: CharCorpus | None) -> list[str]:
    lines = [f"spiking-seq: {len(cfg.models)} block type(s) x spiking / twin, d = {cfg.d}, "
             f"d_ffn = {cfg.d_ffn}, {cfg.n_blocks} block(s), LIF tau = {cfg.tau_steps} steps, "
             f"{int(m['n_seeds'])} seed(s)"]
    for task in cfg.tasks:
        unit = "accuracy %" if task == "mnist1d" else "bits/char"
        per = "per sample (40 steps)" if task == "mnist1d" else "per character"
        lines.append(f"{task}: {unit}; operations {per}")
        for kind in cfg.models:
            for variant in VARIANTS:
                k = f"{task}_{kind}_{variant}"
                score = (100 * m[f"{k}_accuracy"] if task == "mnist1d" else m[f"{k}_bpc"])
                lines.append(f"  {kind:>4} {variant:>7}: {score:8.3f}"
                             f"  synops {m[f'{k}_synops']:>11.4g}  MACs {m[f'{k}_macs']:>11.4g}"
                             f"  updates {m[f'{k}_updates']:>10.4g}"
                             f"  params {int(m[f'{k}_params'])}")
            ratio = m[f"{task}_{kind}_op_ratio"]
            lines.append(f"  {kind:>4} twin MACs / spiking (synops + MACs) = {ratio:.2f}x")
            if task == "mnist1d":
                gap = m[f"mnist1d_{kind}_gap_points"]
                ok = gap <= 3.0 and ratio >= 5.0
                lines.append(f"  {kind:>4} gap to twin {gap:.2f} points; bar (<= 3 points, >= 5x"
                             f" fewer ops): {'met' if ok else 'MISSED'}")
    if corpus is not None:
        lines.append(f"text corpus: {corpus.source} (sha256 {corpus.sha256[:16]}...), "
                     f"{len(corpus.train)} train / {len(corpus.test)} test characters, "
                     f"vocabulary {corpus.vocab_size}")
    return [*lines, PAPERS]


def _plot(run: RunDir, cfg: Config, m: dict[str, float]) -> None:
    fig, axes = plt.subplots(1, 2 * len(cfg.tasks), figsize=(5 * len(cfg.tasks) * 2, 3.6),
                             layout="constrained", squeeze=False)
    x = np.arange(len(cfg.models))
    for j, task in enumerate(cfg.tasks):
        score_ax, ops_ax = axes[0, 2 * j], axes[0, 2 * j + 1]
        for i, variant in enumerate(VARIANTS):
            keys = [f"{task}_{k}_{variant}" for k in cfg.models]
            score = ([100 * m[f"{k}_accuracy"] for k in keys] if task == "mnist1d"
                     else [m[f"{k}_bpc"] for k in keys])
            ops = [m[f"{k}_synops"] + m[f"{k}_macs"] for k in keys]
            score_ax.bar(x + 0.4 * i, score, 0.4, label=variant)
            ops_ax.bar(x + 0.4 * i, ops, 0.4, label=variant)
        score_ax.set(xticks=x + 0.2, xticklabels=cfg.models, title=task,
                     ylabel="test accuracy (%)" if task == "mnist1d" else "bits per character")
        ops_ax.set(xticks=x + 0.2, xticklabels=cfg.models, yscale="log",
                   ylabel="synops + MACs", title=f"{task}: operations")
        score_ax.legend()
        ops_ax.legend()
    run.save_figure(fig, "spiking_seq")


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "spiking-seq", cfg)
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    corpus = (load_char_corpus(cfg.text_module, max_chars=cfg.text_chars)
              if "text" in cfg.tasks else None)
    ticks = len(cfg.models) * ((cfg.mnist1d_epochs + cfg.spiking_epochs) * ("mnist1d" in cfg.tasks)
                               + len(VARIANTS) * 10 * ("text" in cfg.tasks))
    bar = tqdm(total=len(seeds) * ticks, desc="spiking-seq", disable=not progress, unit="ep")
    per_seed, models = [], {}
    with torch_threads(cfg.threads):
        for seed in seeds:
            bar.set_postfix_str(f"seed {seed}")
            metrics, models = run_seed(cfg, seed, corpus, lambda: bar.update(1))
            per_seed.append(metrics)
    bar.close()
    m = summarise(cfg, per_seed)
    text = report(cfg, m, corpus)
    print("\n".join(text))
    run.write_text("results.txt", "\n".join(text) + "\n")
    run.write_metrics(m)
    _plot(run, cfg, m)
    save_models(run, cfg, models, per_seed[-1], seeds[-1])
    return run.path


def main_model_key(cfg: Config) -> str:
    """The run's main model (saved as ``model.*``): the spiking RWKV, on MNIST-1D when run."""
    return f"{cfg.tasks[0]}_{'rwkv' if 'rwkv' in cfg.models else cfg.models[0]}_spiking"


def save_models(run: RunDir, cfg: Config, models: dict[str, SequenceModel],
                metrics: dict[str, float], seed: int) -> None:
    """Each trained model of the last seed as ``KEY.json`` + ``KEY.pt`` (spec + state), the main
    one (:func:`main_model_key`) as ``model.*``; ``info`` names its task, data and the metric
    this seed scored, so a reloaded model can be checked against the run."""
    main_key = main_model_key(cfg)
    for key, model in models.items():
        task = key.split("_")[0]
        data = ({"mnist1d_samples": cfg.mnist1d_samples} if task == "mnist1d"
                else {"text_module": cfg.text_module, "text_chars": cfg.text_chars,
                      "seq_len": cfg.seq_len})
        metric = f"{key}_{'accuracy' if task == 'mnist1d' else 'bpc'}"
        run.save_network(model, name="model" if key == main_key else key,
                         info={"model": key, "task": task, "seed": seed, "data": data,
                               "metric": {metric: metrics[metric]},
                               "others": sorted(k for k in models if k != key)})


__all__ = ["SUMMARY", "Config", "main"]
