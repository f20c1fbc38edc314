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
from torch import Tensor  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.experiments import snn_digits  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.experiments.snn_common import SNNTask, train_seed  # noqa: E402
from neuromorph.hardware_models.chips import (  # noqa: E402
    check,
    count_integer_ops,
    estimate,
    get_chip,
    quantize,
)
from neuromorph.learning_rules.spike_losses import predict  # noqa: E402
from neuromorph.networks.spiking_layers import SpikingSequential  # noqa: E402

SUMMARY = "train an SNN on digits, check + quantise it for Loihi 2 and Xylo, run the integer model"


@dataclass
class Config(snn_digits.Config):
    seeds: int = 1
    hidden: tuple[int, ...] = (64,)
    epochs: int = 10
    chips: tuple[str, ...] = ("loihi2", "xylo")
    calibration_samples: int = 256  # training samples that set the readout's integer range

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check(self.seeds == 1, "deploy-digits deploys one trained network: use seeds=1")
        for chip in self.chips:
            try:
                get_chip(chip)
            except ValueError as err:
                self.check(False, str(err))
        self.check(self.calibration_samples >= 1, "calibration_samples must be >= 1")


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


def _write_nir(run: RunDir, model: SpikingSequential) -> str:
    try:
        from neuromorph.nir import export_nir

        graph = export_nir(model, run.path / "model.nir")
    except ImportError as err:
        return f"model.nir not written: {err}"
    return f"model.nir: {len(graph.nodes)} NIR nodes (inspect with `neuromorph inspect`)"


def _plot(run: RunDir, metrics: dict[str, float], chips: tuple[str, ...]) -> None:
    labels = ["float"] + [f"{c}\n{k}" for c in chips for k in ("chip", "numerics")]
    values = [metrics["test_accuracy_float"]]
    for c in chips:
        values += [metrics[f"test_accuracy_{c}"], metrics[f"test_accuracy_{c}_numerics"]]
    fig, ax = plt.subplots(figsize=(1.4 * len(labels) + 1, 3.6))
    bars = ax.bar(labels, [100 * v for v in values], color=["tab:blue"] + ["tab:orange",
                                                                            "tab:green"] * 2)
    for b, v in zip(bars, values, strict=True):
        ax.text(b.get_x() + b.get_width() / 2, 100 * v + 0.5, f"{100 * v:.1f}", ha="center")
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105),
           title="float vs integer chip models (chip: with pipeline delays)")
    run.save_figure(fig, "accuracy")


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
    for chip in cfg.chips:
        m, text = _deploy(model, chip, cfg, x, y, calib)
        metrics.update(m)
        lines += text + [""]
    run.write_text("violations.txt", "\n".join(lines))
    nir_line = _write_nir(run, model)
    summary = [f"deploy-digits: hidden {list(cfg.hidden)} {cfg.neuron}, {cfg.epochs} epochs, "
               f"{task.n_test} test samples; float test accuracy "
               f"{100 * metrics['test_accuracy_float']:.2f} %"]
    for chip in cfg.chips:
        e = metrics.get(f"energy_per_inference_{chip}_nJ")
        summary.append(
            f"  {chip}: integer model {100 * metrics[f'test_accuracy_{chip}']:.2f} % "
            f"(numerics only {100 * metrics[f'test_accuracy_{chip}_numerics']:.2f} %), "
            f"{int(metrics[f'violations_{chip}_errors'])} errors / "
            f"{int(metrics[f'violations_{chip}_warnings'])} warnings, "
            + (f"~{e:.3g} nJ per inference" if e is not None else "energy n/a"))
    summary.append(nir_line)
    text = "\n".join(summary)
    print(text)
    run.write_text("results.txt", text + "\n\n" + "\n".join(lines))
    run.write_metrics(metrics)
    _plot(run, metrics, cfg.chips)
    run.save_model({"state_dict": model.state_dict(), "config": cfg.to_dict(), "seed": cfg.seed,
                    "n_inputs": task.n_inputs, "n_classes": task.n_classes,
                    "experiment": "deploy-digits"})
    return run.path


__all__ = ["SUMMARY", "Config", "main"]
