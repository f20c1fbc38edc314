"""deploy-digits: train a spiking MLP on Poisson-coded digits, then deploy it to chip models.

The network and its training are snn-digits' (imported, not copied). The trained network is
checked against Loihi 2 and Xylo (:func:`~neuromorph.hardware_models.chips.check`), quantized
to each chip's integer representation and **run** in the chip's integer arithmetic
(:func:`~neuromorph.hardware_models.chips.quantize`), so the test accuracy after quantisation
is measured on the same test spikes as the float accuracy. Two integer accuracies per chip:
``chip`` (the chip's full semantics: its reset, its synaptic pipeline delays) and
``numerics`` (delays removed: quantisation and the neuron arithmetic alone). Energy and latency
per inference come from the operations counted in the integer run
(:func:`~neuromorph.hardware_models.chips.estimate`). The network is also written as NIR.

Three deployment methods per chip, all scored on the integer model run with the pipeline
flushed (``IntegerNetwork.run(flush=True)``): ``ptq`` (post-training quantisation),
``qat`` (quantisation-aware training on the chip's arithmetic with straight-through integers,
:class:`~neuromorph.hardware_models.chips.qat.ChipQAT`, from the float weights) and ``inloop``
(SPSA on the integer model itself, forward only, from the QAT result:
:func:`~neuromorph.learning_rules.chip_in_the_loop.spsa_fine_tune`). ``accuracy_<chip>_int``
is the method with the lowest integer-model loss on the training samples (chosen without the
test set). Every deployed network passes the silence check
(:func:`~neuromorph.hardware_models.chips.silence.check_silence`).

Writes ``results.txt``, ``metrics.json``, ``violations.txt``, ``accuracy.png``,
``model.pt`` (exportable with ``neuromorph export``) and ``model.nir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import Tensor  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.data.poisson_digits import minibatches  # noqa: E402
from neuromorph.experiments import snn_digits  # noqa: E402
from neuromorph.experiments.plots import count_text  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.experiments.snn_common import SNNTask, train_seed  # noqa: E402
from neuromorph.experiments.snn_eval import torch_threads  # noqa: E402
from neuromorph.hardware_models.chips import (  # noqa: E402
    check,
    count_integer_ops,
    estimate,
    get_chip,
    quantize,
)
from neuromorph.hardware_models.chips.qat import ChipQAT  # noqa: E402
from neuromorph.hardware_models.chips.silence import check_silence  # noqa: E402
from neuromorph.learning_rules.chip_in_the_loop import (  # noqa: E402
    integer_loss,
    spsa_fine_tune,
)
from neuromorph.learning_rules.spike_losses import get_loss, predict  # noqa: E402
from neuromorph.networks.spiking_layers import SpikingSequential  # noqa: E402

SUMMARY = "train an SNN on digits, check + quantise it for Loihi 2 and Xylo, run the integer model"


@dataclass
class Config(snn_digits.Config):
    seeds: int = 1
    hidden: tuple[int, ...] = (64,)
    epochs: int = 10
    chips: tuple[str, ...] = ("loihi2", "xylo")
    calibration_samples: int = 256  # training samples that set the readout's integer range
    qat_epochs: int = 4  # quantisation-aware training on the chip arithmetic (0: skip)
    qat_lr: float = 1e-3
    inloop_epochs: int = 1  # SPSA on the integer model, from the QAT weights (0: skip)
    inloop_batch: int = 256
    inloop_perturbations: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check(self.seeds == 1, "deploy-digits deploys one trained network: use seeds=1")
        for chip in self.chips:
            try:
                get_chip(chip)
            except ValueError as err:
                self.check(False, str(err))
        self.check(self.calibration_samples >= 1, "calibration_samples must be >= 1")
        self.check(self.qat_epochs >= 0 and self.inloop_epochs >= 0,
                   "qat_epochs and inloop_epochs must be >= 0")
        self.check(self.qat_lr > 0, f"qat_lr must be > 0, got {self.qat_lr}")
        self.check(self.inloop_batch >= 1 and self.inloop_perturbations >= 1,
                   "inloop_batch and inloop_perturbations must be >= 1")


def _test_set(task: SNNTask, seed: int) -> tuple[Tensor, Tensor]:
    """The whole test set as spikes, from the same generator seed snn-digits evaluates with."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    return task.batch(torch.arange(task.n_test), False, gen)


def _accuracy(readout: Tensor, y: Tensor, mode: str) -> float:
    return float((predict(readout.float(), mode) == y).float().mean())


def _deploy(model: SpikingSequential, chip: str, cfg: Config, x: Tensor, y: Tensor,
            calib: Tensor) -> tuple[dict[str, float], list[str]]:
    violations = check(model, chip)
    q = quantize(model, chip, calibration=calib)
    run = q.run(x)
    numerics = q.run(x, delays=False)
    report = estimate(count_integer_ops(run, q.layers), chip, cfg.dt)
    metrics = {
        f"test_accuracy_{chip}": _accuracy(run.readout, y, cfg.readout),
        f"test_accuracy_{chip}_numerics": _accuracy(numerics.readout, y, cfg.readout),
        f"violations_{chip}_errors": float(sum(v.severity == "error" for v in violations)),
        f"violations_{chip}_warnings": float(sum(v.severity == "warning" for v in violations)),
        f"synops_per_inference_{chip}": report.synops,
        f"spikes_per_inference_{chip}": report.spikes,
    }
    if report.energy is not None:
        metrics[f"energy_per_inference_{chip}_nJ"] = report.energy * 1e9
    if report.latency is not None:
        metrics[f"latency_per_inference_{chip}_us"] = report.latency * 1e6
    lines = [f"== {get_chip(chip).full_name}", *(str(v) for v in violations)]
    lines += [f"note: {n}" for n in q.notes] + [report.summary()]
    lines += [f"assumption: {a}" for a in report.assumptions]
    return metrics, lines


def _train_qat(qat: ChipQAT, task: SNNTask, cfg: Config) -> None:
    """Adam on the straight-through integer forward, minibatches of fresh training spikes."""
    gen = torch.Generator().manual_seed(cfg.seed + 7)
    opt = torch.optim.Adam(qat.parameters(), lr=cfg.qat_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(cfg.qat_epochs, 1))
    loss_fn = get_loss(cfg.readout)
    for _ in range(cfg.qat_epochs):
        for idx in minibatches(task.n_train, cfg.batch_size, generator=gen):
            x, y = task.batch(idx, True, gen)
            loss = loss_fn(qat(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()


def _methods(model: SpikingSequential, chip: str, cfg: Config, task: SNNTask, x: Tensor,
             y: Tensor, calib: Tensor, train: tuple[Tensor, Tensor]) -> dict[str, float]:
    """Test accuracy (flushed integer run) of each deployment method, and the chosen best."""
    qat = ChipQAT.from_network(model, chip, calibration=calib)
    nets = {"ptq": qat.to_integer()}
    if cfg.qat_epochs:
        _train_qat(qat, task, cfg)
        nets["qat"] = qat.to_integer()
    if cfg.inloop_epochs:
        gen = torch.Generator().manual_seed(cfg.seed + 11)

        def batches(_: int):  # noqa: ANN202 - a generator of (x, y)
            for idx in minibatches(task.n_train, cfg.inloop_batch, generator=gen):
                yield task.batch(idx, True, gen)

        spsa_fine_tune(qat, batches, cfg.inloop_epochs, cfg.readout,
                       perturbations=cfg.inloop_perturbations, seed=cfg.seed)
        nets["inloop"] = qat.to_integer()
    metrics, train_loss = {}, {}
    names = [f"layer {k}" for k in range(len(model.layers))]
    for method, net in nets.items():
        run = net.run(x, flush=True)
        check_silence(net, run, names)
        metrics[f"accuracy_{chip}_{method}"] = _accuracy(run.readout, y, cfg.readout)
        train_loss[method] = integer_loss(net, *train, cfg.readout)
        metrics[f"train_loss_{chip}_{method}"] = train_loss[method]
    best = min(train_loss, key=train_loss.__getitem__)
    metrics[f"accuracy_{chip}_int"] = metrics[f"accuracy_{chip}_{best}"]
    metrics[f"best_method_{chip}"] = float(list(nets).index(best))  # 0 ptq, 1 qat, 2 inloop
    return metrics


def _write_nir(run: RunDir, model: SpikingSequential) -> str:
    try:
        from neuromorph.nir import export_nir

        graph = export_nir(model, run.path / "model.nir")
    except ImportError as err:
        return f"model.nir not written: {err}"
    return f"model.nir: {len(graph.nodes)} NIR nodes (inspect with `neuromorph inspect`)"


def accuracy_figure(metrics: dict[str, float], chips: tuple[str, ...]) -> Figure:
    """Bars: float, the unflushed chip run and each flushed deployment method per chip, each
    labelled with its accuracy and its change from float (percentage points); a chip whose
    check found errors has hatched bars and its error count written under its name."""
    kinds = [("chip", "test_accuracy_{c}", "tab:gray")] + [
        (m, f"accuracy_{{c}}_{m}", color)
        for m, color in (("ptq", "tab:orange"), ("qat", "tab:green"), ("inloop", "tab:red"))]
    ref = metrics["test_accuracy_float"]
    labels, values, colors, hatches = ["float"], [ref], ["tab:blue"], [""]
    for c in chips:
        errors = int(metrics.get(f"violations_{c}_errors", 0))
        for name, key, color in kinds:
            if key.format(c=c) in metrics:
                flag = f"\n{count_text(errors, 'error')}" if errors else ""
                labels.append(f"{c}{flag}\n{name}")
                values.append(metrics[key.format(c=c)])
                colors.append(color)
                hatches.append("//" if errors else "")
    fig, ax = plt.subplots(figsize=(1.15 * len(labels) + 1, 4.0))
    bars = ax.bar(labels, [100 * v for v in values], color=colors, hatch=hatches,
                  edgecolor="k", linewidth=0.6)
    for k, (b, v) in enumerate(zip(bars, values, strict=True)):
        delta = "" if k == 0 else f"\n{100 * (v - ref):+.1f} pp"
        ax.text(b.get_x() + b.get_width() / 2, 100 * v + 0.3, f"{100 * v:.1f}{delta}",
                ha="center", va="bottom", fontsize=7,
                bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.8})
    ax.axhline(100 * ref, color="tab:blue", ls="--", lw=0.8, zorder=0)
    lo = 100 * min(values)
    ax.set(ylabel="test accuracy (%)", ylim=(max(0.0, lo - 8), 104),
           title="float vs integer chip models (chip: unflushed; ptq/qat/inloop: flushed)\n"
                 "labels: accuracy (%) and change from float (pp); hatched: chip check errors")
    ax.title.set_fontsize(9)
    return fig


def chip_summary(metrics: dict[str, float], chip: str) -> list[str]:
    """The printed lines of one chip: integer accuracy, check errors/warnings, energy, methods."""
    e = metrics.get(f"energy_per_inference_{chip}_nJ")
    errors = int(metrics[f"violations_{chip}_errors"])
    warnings = int(metrics[f"violations_{chip}_warnings"])
    lines = [f"  {chip}: integer model {100 * metrics[f'test_accuracy_{chip}']:.2f} % "
             f"(numerics only {100 * metrics[f'test_accuracy_{chip}_numerics']:.2f} %), "
             f"{count_text(errors, 'error')} / {count_text(warnings, 'warning')}, "
             + (f"~{e:.3g} nJ per inference" if e is not None else "energy n/a")]
    methods = ", ".join(f"{m} {100 * metrics[f'accuracy_{chip}_{m}']:.2f} %"
                        for m in ("ptq", "qat", "inloop") if f"accuracy_{chip}_{m}" in metrics)
    lines.append(f"    flushed: {methods}; best (lowest train loss) "
                 f"{100 * metrics[f'accuracy_{chip}_int']:.2f} %")
    return lines


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "deploy-digits", cfg)
    task = snn_digits.digits_task(cfg, cfg.seed)
    bar = tqdm(total=cfg.epochs, desc="deploy-digits", disable=not progress, unit="ep")
    result = train_seed(cfg, task, cfg.seed, lambda: bar.update(1))
    bar.close()
    model = result.model.cpu().eval()  # chip models and the float reference run on the CPU
    x, y = _test_set(task, cfg.seed)
    calib, _ = task.batch(torch.arange(min(cfg.calibration_samples, task.n_train)), True,
                          torch.Generator().manual_seed(cfg.seed + 1))
    with torch.no_grad():
        metrics = {"test_accuracy_float": _accuracy(model(x), y, cfg.readout),
                   "train_seconds": result.seconds, "n_test": float(task.n_test)}
    lines = []
    metrics["accuracy_float"] = metrics["test_accuracy_float"]
    train = task.batch(torch.arange(task.n_train), True,
                       torch.Generator().manual_seed(cfg.seed + 3))
    for chip in cfg.chips:
        m, text = _deploy(model, chip, cfg, x, y, calib)
        metrics.update(m)
        # one thread: the step-by-step integer loops are 5-10x faster than on two contended
        # cores (the float training above keeps torch's default, so its result is snn-digits')
        with torch_threads(1):
            metrics.update(_methods(model, chip, cfg, task, x, y, calib, train))
        lines += text + [""]
    run.write_text("violations.txt", "\n".join(lines))
    nir_line = _write_nir(run, model)
    summary = [f"deploy-digits: hidden {list(cfg.hidden)} {cfg.neuron}, {cfg.epochs} epochs, "
               f"{task.n_test} test samples; float test accuracy "
               f"{100 * metrics['test_accuracy_float']:.2f} %"]
    for chip in cfg.chips:
        summary += chip_summary(metrics, chip)
    summary.append(nir_line)
    text = "\n".join(summary)
    print(text)
    run.write_text("results.txt", text + "\n\n" + "\n".join(lines))
    run.write_metrics(metrics)
    run.save_figure(accuracy_figure(metrics, cfg.chips), "accuracy")
    run.save_network(model, info={"seed": cfg.seed, "n_inputs": task.n_inputs,
                                  "n_classes": task.n_classes})
    return run.path


__all__ = ["SUMMARY", "Config", "accuracy_figure", "chip_summary", "main"]
