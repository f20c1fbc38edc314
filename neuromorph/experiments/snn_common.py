"""Shared machinery of the spiking experiments: config fields, network builder, BPTT loop, plots."""


from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure
from torch import Tensor
from tqdm import tqdm

from neuromorph import plot
from neuromorph.data.poisson_digits import minibatches
from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.plots import seed_mean_text
from neuromorph.experiments.run_results import advance_when_resumed
from neuromorph.experiments.rundir import RunDir
from neuromorph.learning_rules.spike_losses import get_loss, predict, rate_regularizer
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential
from neuromorph.primitives.spike import get_surrogate

Readout = Literal["mean_membrane", "max_membrane", "spike_count"]
Neuron = Literal["lif", "cuba_lif"]
Device = Literal["cpu", "cuda", "auto"]


@dataclass
class SNNConfig(ExperimentConfig):
    """Network and training fields shared by the spiking experiments (times in seconds)."""

    seeds: int = 3  # runs with seeds seed, seed+1, ...
    dt: float = 1e-3
    hidden: tuple[int, ...] = (128,)
    neuron: Neuron = "lif"
    tau_mem: float = 20e-3
    tau_syn: float = 5e-3  # cuba_lif only
    tau_out: float = 20e-3  # readout time constant
    readout: Readout = "mean_membrane"
    surrogate: str = "fast_sigmoid"
    init_scale: float = 1.0  # multiplies the default init of the hidden weights
    bias: bool = True  # hidden layers get a learnable constant input current
    epochs: int = 40
    batch_size: int = 64
    lr: float = 5e-3
    reg_strength: float = 0.0  # weight of mean(relu(r / reg_upper_hz - 1)^2) over hidden neurons
    reg_upper_hz: float = 100.0  # per-neuron rates above this are penalised
    device: Device = "cpu"  # "cuda": the Triton kernels; "auto": cuda when available

    def check_snn(self) -> None:
        self.check(self.seeds >= 1, f"seeds must be >= 1, got {self.seeds}")
        self.check(self.dt > 0, f"dt must be > 0 seconds, got {self.dt}")
        self.check(bool(self.hidden) and min(self.hidden) >= 1,
                   f"hidden must list layer widths >= 1, got {self.hidden}")
        for name in ("tau_mem", "tau_syn", "tau_out"):
            tau = getattr(self, name)
            self.check(tau >= self.dt, f"{name} = {tau} s must be >= dt = {self.dt} s (Euler)")
        try:
            get_surrogate(self.surrogate)
        except ValueError as err:
            self.check(False, str(err))
        self.check(self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1")
        self.check(self.lr > 0 and self.init_scale > 0, "lr and init_scale must be > 0")
        self.check(self.reg_strength >= 0, f"reg_strength must be >= 0, got {self.reg_strength}")
        self.check(self.reg_upper_hz > 0, f"reg_upper_hz must be > 0, got {self.reg_upper_hz}")
        self.check(self.device != "cuda" or torch.cuda.is_available(),
                   "device=cuda but torch sees no CUDA device; use device=cpu or device=auto")

    def torch_device(self) -> torch.device:
        """The device the networks train on (``auto``: CUDA when available)."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


# ----------------------------------------------------------------------------- network
def _lif(cfg: SNNConfig) -> dict[str, Any]:
    return dict(neuron="lif", tau=cfg.tau_mem, r=cfg.tau_mem / cfg.dt)


def _cuba(cfg: SNNConfig) -> dict[str, Any]:
    return dict(neuron="cuba_lif", tau_syn=cfg.tau_syn, w_in=cfg.tau_syn / cfg.dt,
                tau_mem=cfg.tau_mem, r=cfg.tau_mem / cfg.dt)


#: hidden neuron name -> its keyword arguments; ``r = tau / dt`` (and ``w_in = tau_syn / dt``)
#: give unit input gain, so a synaptic weight of 1 moves the membrane by one threshold.
HIDDEN_NEURONS: dict[str, Callable[[SNNConfig], dict[str, Any]]] = {"lif": _lif, "cuba_lif": _cuba}
#: readout name -> output neuron (membrane readouts integrate with LI; spike counts need LIF).
READOUT_NEURONS: dict[str, str] = {
    "mean_membrane": "li", "max_membrane": "li", "spike_count": "lif",
}


def build_network(cfg: SNNConfig, n_in: int, n_out: int) -> SpikingSequential:
    """``n_in -> hidden... -> n_out`` spiking MLP with the configured neurons and readout."""
    layers: list[SpikingLinear] = []
    width = n_in
    for h in cfg.hidden:
        layer = SpikingLinear(width, h, bias=cfg.bias, dt=cfg.dt, surrogate=cfg.surrogate,
                              **HIDDEN_NEURONS[cfg.neuron](cfg))
        with torch.no_grad():
            layer.synapse.weight.mul_(cfg.init_scale)
        layers.append(layer)
        width = h
    out_neuron = READOUT_NEURONS[cfg.readout]
    extra = {"surrogate": cfg.surrogate} if out_neuron != "li" else {}
    layers.append(SpikingLinear(width, n_out, neuron=out_neuron, dt=cfg.dt, tau=cfg.tau_out,
                                r=cfg.tau_out / cfg.dt, **extra))
    return SpikingSequential(*layers)


def spiking_layer_names(cfg: SNNConfig) -> list[str]:
    """Names of the layers whose spikes are counted: input, hidden k (and a spiking output)."""
    names = ["input"] + [f"hidden{k + 1}" for k in range(len(cfg.hidden))]
    return names + (["output"] if cfg.readout == "spike_count" else [])


def layer_outputs(model: SpikingSequential, x: Tensor) -> list[Tensor]:
    """The output of every layer for input ``x [T, B, n]`` (spikes; the LI readout's membrane)."""
    outs = []
    for layer in model.layers:
        x = layer(x)
        outs.append(x)
    return outs


# ----------------------------------------------------------------------------- training
@dataclass
class SNNTask:
    """A data set as the trainer sees it: ``batch(indices, train, generator) -> (spikes, labels)``
    with spikes ``[T, B, n_inputs]``; train indices run over ``range(n_train)``, test over
    ``range(n_test)``."""

    n_inputs: int
    n_classes: int
    n_train: int
    n_test: int
    batch: Callable[[Tensor, bool, torch.Generator], tuple[Tensor, Tensor]]
    dt: float


@dataclass
class SeedResult:
    seed: int
    test_accuracy: float
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_curve: list[float] = field(default_factory=list)
    rates_hz: list[np.ndarray] = field(default_factory=list)  # per spiking layer, per neuron
    seconds: float = 0.0
    model: SpikingSequential | None = None

    def to_saved(self) -> dict[str, Any]:
        """Plain data (``torch.load(weights_only=True)`` reads it back): the network as its
        state dict on the CPU."""
        return {"seed": self.seed, "test_accuracy": self.test_accuracy, "loss": self.loss,
                "train_accuracy": self.train_accuracy, "test_curve": self.test_curve,
                "rates_hz": [torch.from_numpy(r) for r in self.rates_hz],
                "seconds": self.seconds,
                "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()}
                if self.model is not None else None}

    @classmethod
    def from_saved(cls, saved: dict[str, Any], model: SpikingSequential | None) -> SeedResult:
        """The result :meth:`to_saved` stored, with its network ``model``."""
        return cls(saved["seed"], saved["test_accuracy"], saved["loss"],
                   saved["train_accuracy"], saved["test_curve"],
                   [r.numpy() for r in saved["rates_hz"]], saved["seconds"], model)


def _rebuilt(cfg: SNNConfig, task: SNNTask, saved: dict[str, Any]) -> SpikingSequential:
    """The network of a seed finished before a resume, from its saved state dict."""
    model = build_network(cfg, task.n_inputs, task.n_classes)
    model.load_state_dict(saved["state_dict"])
    return model.to(cfg.torch_device()).eval()


def evaluate(
    model: SpikingSequential, task: SNNTask, cfg: SNNConfig, seed: int
) -> tuple[float, list[np.ndarray]]:
    """Test accuracy and per-neuron rates (Hz) of the input and every spiking layer.

    Test spikes come from a generator seeded by ``seed``: the same test set at every call.
    """
    gen = torch.Generator().manual_seed(10_000 + seed)
    correct, counts = 0, None
    dev = cfg.torch_device()
    with torch.no_grad():
        for idx in minibatches(task.n_test, 512, shuffle=False):
            x, y = (t.to(dev) for t in task.batch(idx, False, gen))
            outs = layer_outputs(model, x)
            correct += int((predict(outs[-1], cfg.readout) == y).sum())
            spiking = [x, *outs[:-1]] + ([outs[-1]] if cfg.readout == "spike_count" else [])
            layer_counts = [s.sum(dim=(0, 1)) for s in spiking]
            counts = layer_counts if counts is None else [a + b for a, b in
                                                          zip(counts, layer_counts, strict=True)]
            T = x.shape[0]
    rates = [(c / (task.n_test * T * task.dt)).cpu().numpy() for c in counts]
    return correct / task.n_test, rates


def train_seed(
    cfg: SNNConfig, task: SNNTask, seed: int, tick: Callable[[], None]
) -> SeedResult:
    """Train one network from ``seed`` with surrogate-gradient BPTT; score it every epoch."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    dev = cfg.torch_device()
    model = build_network(cfg, task.n_inputs, task.n_classes).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    loss_fn = get_loss(cfg.readout)
    result = SeedResult(seed, 0.0)
    start = time.perf_counter()
    for _ in range(cfg.epochs):
        model.train()
        total, correct = 0.0, 0
        for idx in minibatches(task.n_train, cfg.batch_size, generator=gen):
            x, y = (t.to(dev) for t in task.batch(idx, True, gen))
            outs = layer_outputs(model, x)
            loss = loss_fn(outs[-1], y)
            if cfg.reg_strength > 0:
                loss = loss + cfg.reg_strength * rate_regularizer(
                    outs[:len(cfg.hidden)], upper=cfg.reg_upper_hz, dt=task.dt
                ) / cfg.reg_upper_hz**2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((predict(outs[-1].detach(), cfg.readout) == y).sum())
        sched.step()
        result.loss.append(total / task.n_train)
        result.train_accuracy.append(correct / task.n_train)
        model.eval()
        result.test_curve.append(evaluate(model, task, cfg, seed)[0])
        tick()
    result.seconds = time.perf_counter() - start
    result.test_accuracy, result.rates_hz = evaluate(model, task, cfg, seed)
    result.model = model
    return result


def run_snn(
    name: str, cfg: SNNConfig, out_dir: Path, task_for: Callable[[int], SNNTask], title: str,
    progress: bool = True,
) -> Path:
    """Train ``cfg.seeds`` networks (seeds ``seed, seed+1, ...``); write metrics, plots, model."""
    run = RunDir(out_dir, name, cfg)
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    bar = tqdm(total=len(seeds) * cfg.epochs, desc=name, disable=not progress, unit="ep")
    tasks: dict[int, SNNTask] = {}
    trained: dict[int, SpikingSequential] = {}

    def train(seed: int) -> dict[str, Any]:
        bar.set_postfix_str(f"seed {seed}")
        tasks[seed] = task_for(seed)
        result = train_seed(cfg, tasks[seed], seed, lambda: bar.update(1))
        trained[seed] = result.model  # this run's live network
        return result.to_saved()

    saved = run.seed_results(seeds, train, on_done=advance_when_resumed(bar, cfg.epochs))
    task = tasks[seeds[-1]] if seeds[-1] in tasks else task_for(seeds[-1])
    results = [SeedResult.from_saved(r, trained[r["seed"]] if r["seed"] in trained
                                     else _rebuilt(cfg, task, r)) for r in saved]
    bar.close()
    acc = np.array([r.test_accuracy for r in results])
    metrics: dict[str, float] = {
        "test_accuracy": float(acc.mean()),
        "test_accuracy_mean": float(acc.mean()),
        "test_accuracy_std": float(acc.std()),
        "train_accuracy_mean": float(np.mean([r.train_accuracy[-1] for r in results])),
        "train_seconds_per_seed": float(np.mean([r.seconds for r in results])),
        "n_test": float(task.n_test),
    }
    for r in results:
        metrics[f"test_accuracy_seed{r.seed}"] = r.test_accuracy
    for layer, rates in zip(spiking_layer_names(cfg), results[0].rates_hz, strict=True):
        metrics[f"rate_hz_{layer}"] = float(rates.mean())  # first seed, mean over neurons
    line = (f"{name}: {title}; test accuracy {seed_mean_text(100 * acc)}, "
            f"{task.n_test} test samples, "
            f"{metrics['train_seconds_per_seed']:.1f} s training per seed")
    print(line)
    run.write_text("results.txt", line + "\n")
    run.write_metrics(metrics)
    _plots(run, cfg, results, task)
    last = results[-1]
    run.save_network(last.model.cpu(), info={"seed": last.seed, "n_inputs": task.n_inputs,
                                             "n_classes": task.n_classes})
    return run.path


def _plots(run: RunDir, cfg: SNNConfig, results: list[SeedResult], task: SNNTask) -> None:
    """loss.png, accuracy.png (mean ± std over seeds), raster.png and firing_rates.png (first
    seed)."""
    for name, fig in figures(cfg, results, task).items():
        run.save_figure(fig, name)


def figures(cfg: SNNConfig, results: list[SeedResult], task: SNNTask) -> dict[str, Figure]:
    """The run's figures by file name: training loss and accuracy curves (mean ± std band over
    seeds), a raster of one test sample through every layer (output traces with a legend, the
    true class drawn thick) and the firing-rate histograms of every spiking layer."""
    epochs = np.arange(1, len(results[0].loss) + 1)
    out = {"loss": plot.learning_curves({"training loss": [r.loss for r in results]}, epochs,
                                        ylabel=f"training loss ({cfg.readout} readout)",
                                        percent=False, title="surrogate-gradient BPTT"),
           "accuracy": plot.learning_curves(
               {"test": [r.test_curve for r in results],
                "train": [r.train_accuracy for r in results]},
               epochs, ylabel="accuracy (%)", title="accuracy"),
           "raster": _raster_figure(cfg, results[0], task)}
    spiking = spiking_layer_names(cfg)
    fig, axes = plt.subplots(1, len(spiking), figsize=(3.4 * len(spiking), 3.2), squeeze=False,
                             layout="constrained")
    for ax, rates, nm in zip(axes[0], results[0].rates_hz, spiking, strict=True):
        ax.hist(rates, bins=30, color="tab:blue")
        ax.set(xlabel="rate (Hz)", ylabel="neurons", title=f"{nm}: mean {rates.mean():.1f} Hz")
    fig.suptitle(f"firing rates per layer on the test set (seed {results[0].seed})")
    out["firing_rates"] = fig
    return out


def _raster_figure(cfg: SNNConfig, first: SeedResult, task: SNNTask) -> Figure:
    """One test sample through the network: spikes of every layer, then the output layer (its
    membrane traces, or its spikes, one per class, with the true class marked)."""
    x, y = task.batch(torch.arange(1), False, torch.Generator().manual_seed(10_000 + first.seed))
    x = x.to(next(first.model.parameters()).device)
    with torch.no_grad():
        traces = [t[:, 0].cpu().numpy() for t in [x, *layer_outputs(first.model, x)]]
    names = spiking_layer_names(cfg)[: len(cfg.hidden) + 1] + ["output"]
    label = int(y[0])
    fig, axes = plt.subplots(len(traces), 1, figsize=(7.5, 1.9 * len(traces) + 0.8),
                             sharex=True, layout="constrained")
    t_ms = np.arange(traces[0].shape[0]) * task.dt * 1e3
    for k, (ax, trace, nm) in enumerate(zip(axes, traces, names, strict=True)):
        if k == len(traces) - 1 and cfg.readout != "spike_count":
            for c in range(trace.shape[1]):
                ax.plot(t_ms, trace[:, c], lw=2.2 if c == label else 0.8,
                        ls="-" if c == label else "--", color=f"C{c % 10}",
                        label=f"class {c}" + (" (true)" if c == label else ""))
            ax.set_ylabel("output membrane\n(threshold units)")
            ax.legend(fontsize=6, ncol=min(5, trace.shape[1]), loc="upper left")
            continue
        steps, neurons = np.nonzero(trace)
        plot.raster(t_ms[steps] * 1e-3, neurons, time_unit="ms", ax=ax)
        ax.set(xlabel="", ylabel=f"{nm} neuron")
        if nm == "output":  # spike-count readout: one neuron per class
            ax.axhspan(label - 0.5, label + 0.5, color="tab:green", alpha=0.2,
                       label=f"true class ({label})")
            ax.set_ylim(-0.5, trace.shape[1] - 0.5)
            ax.legend(fontsize=7, loc="upper right")
    axes[0].set_title(f"test sample (label {label}), seed {first.seed}")
    axes[-1].set_xlabel("time (ms)")
    return fig


# ----------------------------------------------------------------------------- snn-digits
