"""diehl-cook-digits: unsupervised STDP digit recognition (Diehl & Cook 2015) on 8x8 digits.

Diehl & Cook, *Unsupervised learning of digit recognition using spike-timing-dependent
plasticity*, Front. Comput. Neurosci. 9:99 (2015): 82.9 % on MNIST with 100 excitatory
neurons (95 % with 6400). Here the scikit-learn digits (8 x 8, 1797 images, 20 % held out)::

    input     64 Poisson trains, rate = pixel intensity (in [0, 1]) * max_rate
    synapses  ge_j += W_ji per input spike i (W in [0, w_max]); every row of W renormalised
              to sum to weight_sum after each presentation (Diehl & Cook: 78 for 784 inputs)
    neurons   conductance-based LIF, tau_m dv/dt = (v_rest - v) + ge (E_exc - v) + gi (E_inh - v)
              (exponential Euler), spike when v > v_thresh + theta, reset, refractory period
              (the library neuron :func:`~neuromorph.networks.neurons.cond_lif_step`)
    network   all of the above at inference is the library's
              :class:`~neuromorph.networks.competitive.CompetitiveLayer`
    theta     adaptive threshold: +theta_plus per spike, decays with tau_theta
    lateral   each spike adds w_inh to the inhibitory conductance gi of every *other* neuron
              (Diehl & Cook route it through one inhibitory neuron per excitatory neuron)
    STDP      Diehl & Cook's rule = the nearest-spike triplet rule with A2+ = A3- = 0:
              pre spike dw = -nu_pre o1, post spike dw = +nu_post r1 o2(t - eps)
              (:class:`~neuromorph.learning_rules.plasticity.TripletSTDP`)
    readout   each neuron is labelled with the class it fires most for (training set, no
              plasticity); a test image is classified by the labelled group with the highest
              mean spike count

Presentations last ``n_steps`` steps of ``dt`` with all state reset in between (the paper's
150 ms rest); an image that evokes fewer than ``min_spikes`` spikes is shown again with its
rate raised by ``rate_step`` (up to ``max_retries`` times), as in the paper. Vectorised:
the input currents of all time steps are one matmul, the neuron dynamics one time loop over
``[B, N]`` state (``batch`` images in parallel share the weights and thresholds), the STDP
update one loop-free call per batch.

Deviations from the paper, for 1438 training images instead of 60 000: learning rates 5x
(``nu_post`` 0.05, ``nu_pre`` 5e-4), the threshold decays in ``tau_theta`` = 50 s of
simulated time (the paper: 1e4 s) so it reaches its homeostatic level within 3 epochs, the
input weight sum is 8 for 64 inputs, lateral inhibition is direct and presentations last
250 ms of 1 ms steps (the paper: 350 ms of 0.5 ms). Default (three network sizes, 3 epochs):
a few minutes on 2 CPU cores; larger: ``--set neuron_counts=100,400 epochs=5``.

Saved: the largest network as ``model.json`` + ``model.pt`` (a ``CompetitiveLayer`` spec;
weights, thresholds and neuron labels in the state; ``neuromorph.models.load_model(RUN_DIR)``
rebuilds it without this module), and every size's weights, thresholds, labels and the
generator state its test presentations started from in ``data.pt``.
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

from neuromorph import plot, specs  # noqa: E402
from neuromorph.data.poisson_digits import digits_split, minibatches  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.learning_rules.plasticity import (  # noqa: E402
    AdaptiveThreshold,
    TripletParams,
    TripletSTDP,
    WeightNormalization,
)
from neuromorph.networks.competitive import CompetitiveLayer  # noqa: E402

SUMMARY = "Diehl & Cook (2015) unsupervised STDP + lateral inhibition on Poisson-coded digits"


@dataclass
class Config(ExperimentConfig):
    neuron_counts: tuple[int, ...] = (25, 50, 100)
    epochs: int = 3
    train_subset: int = 0  # 0 = every training image
    batch: int = 8
    test_fraction: float = 0.2
    dt: float = 1e-3  # s
    n_steps: int = 250  # presentation length (steps)
    max_rate: float = 120.0  # Hz at intensity 1
    rate_step: float = 40.0  # Hz added to an image that evoked < min_spikes spikes
    min_spikes: int = 5
    max_retries: int = 8
    tau_m: float = 100e-3
    v_rest: float = -65e-3
    v_reset: float = -65e-3
    v_thresh: float = -52e-3
    refractory: float = 5e-3
    e_exc: float = 0.0
    e_inh: float = -100e-3
    tau_ge: float = 1e-3
    tau_gi: float = 2e-3
    w_inh: float = 17.0
    theta_plus: float = 0.05e-3  # V per spike (Diehl & Cook)
    tau_theta: float = 50.0  # s (Diehl & Cook: 1e7 ms over 60 000+ images)
    nu_pre: float = 5e-4  # Diehl & Cook: 1e-4
    nu_post: float = 5e-2  # Diehl & Cook: 1e-2
    tau_pre: float = 20e-3
    tau_post1: float = 20e-3
    tau_post2: float = 40e-3
    w_max: float = 1.0
    weight_sum: float = 8.0  # per neuron (Diehl & Cook: 78 over 784 inputs)
    eval_batch: int = 256

    def __post_init__(self) -> None:
        self.check(bool(self.neuron_counts) and all(n >= 10 for n in self.neuron_counts),
                   "neuron_counts must be >= 10 each (at least one neuron per class)")
        self.check(self.epochs >= 1 and self.batch >= 1, "epochs and batch must be >= 1")
        self.check(self.train_subset >= 0, "train_subset must be >= 0 (0 = all)")
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")
        self.check(self.dt > 0 and self.n_steps >= 10, "need dt > 0 and n_steps >= 10")
        self.check(self.max_rate * self.dt <= 1 and self.max_rate > 0,
                   "need 0 < max_rate * dt <= 1 (one spike per step at most)")
        self.check(self.v_thresh > self.v_reset, "v_thresh must exceed v_reset")
        self.check(self.refractory >= 0, "refractory must be >= 0 (seconds)")
        self.check(min(self.tau_m, self.tau_ge, self.tau_gi, self.tau_theta) > 0,
                   "time constants must be > 0")
        self.check(self.w_max > 0 and self.weight_sum > 0, "w_max and weight_sum must be > 0")
        self.check(self.min_spikes >= 0 and self.max_retries >= 0, "min_spikes, max_retries >= 0")


def competitive_layer(cfg: Config, n: int, n_in: int) -> CompetitiveLayer:
    """The untrained layer of ``n`` neurons on ``n_in`` inputs that this config describes."""
    # refractory + dt: this experiment holds v for ``refractory`` *after* the spike's step;
    # the library neuron follows Brian2, whose refractory period includes that step
    neuron = specs.CondLIF(
        tau_mem=cfg.tau_m, tau_exc=cfg.tau_ge, tau_inh=cfg.tau_gi, v_leak=cfg.v_rest,
        v_threshold=cfg.v_thresh, e_exc=cfg.e_exc, e_inh=cfg.e_inh,
        refractory=cfg.refractory + cfg.dt,
        options=specs.SpikeOptions(reset="zero", v_reset=cfg.v_reset))
    return CompetitiveLayer(n_in, n, dt=cfg.dt, neuron=neuron, w_inh=cfg.w_inh, n_classes=10,
                            n_steps=cfg.n_steps, max_rate=cfg.max_rate,
                            rate_step=cfg.rate_step, min_spikes=cfg.min_spikes,
                            max_retries=cfg.max_retries)


class DiehlCook:
    """The network of one size (a :class:`CompetitiveLayer`: weights, thresholds, labels) and
    its training: adaptive thresholds, STDP and weight normalisation."""

    def __init__(self, cfg: Config, n: int, n_in: int, gen: torch.Generator) -> None:
        self.cfg, self.n, self.gen = cfg, n, gen
        self.layer = competitive_layer(cfg, n, n_in)
        w = 0.3 * cfg.w_max * torch.rand(n, n_in, generator=gen)
        self.norm = WeightNormalization(cfg.weight_sum, "l1")
        self.layer.weight = self.norm.normalize(w).clamp(0, cfg.w_max)
        self.adapt = AdaptiveThreshold(theta_plus=cfg.theta_plus, tau_theta=cfg.tau_theta,
                                       dt=cfg.dt)
        params = TripletParams(a2_plus=0.0, a3_plus=cfg.nu_post, a2_minus=cfg.nu_pre,
                               a3_minus=0.0, tau_plus=cfg.tau_pre, tau_minus=cfg.tau_post1,
                               tau_y=cfg.tau_post2)
        self.stdp = TripletSTDP(params, dt=cfg.dt, interaction="nearest", w_min=0.0,
                                w_max=cfg.w_max)

    def run(self, spikes_in: Tensor, learn: bool) -> Tensor:
        """Simulate ``spikes_in [T, B, n_in]``; returns output spikes ``[T, B, n]``. With
        ``learn`` the thresholds adapt in every step, then STDP updates the weights."""
        if not learn:
            return self.layer(spikes_in)
        out, self.layer.theta = self.layer.run(spikes_in, adapt=self.adapt.step)
        w, w_max = self.layer.weight, self.cfg.w_max
        dw, _ = self.stdp.update(spikes_in, out, w)
        self.layer.weight = self.norm.normalize((w + dw).clamp(0, w_max)).clamp(0, w_max)
        return out

    def present(self, x: Tensor, learn: bool) -> Tensor:
        """Spike counts ``[B, n]`` for images ``x [B, 64]``; weak responses are shown again
        with a higher rate (Diehl & Cook's intensity increase)."""
        return self.layer.present(x, self.gen, simulate=lambda s: self.run(s, learn))

    def responses(self, x: Tensor) -> Tensor:
        """Spike counts for many images, in chunks, without plasticity."""
        return self.layer.responses(x, self.gen, batch=self.cfg.eval_batch)


def train_and_score(cfg: Config, n: int, split, bar) -> dict:
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + n)
    net = DiehlCook(cfg, n, split.x_train.shape[1], gen)
    order_gen = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        for idx in minibatches(len(split.x_train), cfg.batch, generator=order_gen):
            net.present(split.x_train[idx], learn=True)
            bar.update(len(idx))
    train_counts = net.responses(split.x_train)
    labels = net.layer.assign_labels(train_counts, split.y_train)
    test_generator_state = gen.get_state()  # the test presentations' random numbers start here
    test_counts = net.responses(split.x_test)
    pred = net.layer.vote(test_counts)
    return {
        "net": net,
        "labels": labels,
        "test_generator_state": test_generator_state,
        "test_accuracy": float((pred == split.y_test).float().mean()),
        "train_accuracy": float((net.layer.vote(train_counts) == split.y_train)
                                .float().mean()),
        "classes_covered": float(len(labels.unique())),
        "test_spikes_per_image": float(test_counts.sum(1).mean()),
        "silent_test_images": float((test_counts.sum(1) == 0).float().mean()),
    }


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "diehl-cook-digits", cfg)
    split = digits_split(cfg.test_fraction, cfg.seed)
    if cfg.train_subset:
        split.x_train, split.y_train = (split.x_train[: cfg.train_subset],
                                        split.y_train[: cfg.train_subset])
    total = len(cfg.neuron_counts) * cfg.epochs * len(split.x_train)
    bar = tqdm(total=total, desc="diehl-cook-digits", disable=not progress)
    results = {n: train_and_score(cfg, n, split, bar) for n in cfg.neuron_counts}
    bar.close()
    metrics: dict[str, float] = {}
    for n, r in results.items():
        for key in ("test_accuracy", "train_accuracy", "classes_covered",
                    "test_spikes_per_image", "silent_test_images"):
            metrics[f"{key}_n{n}"] = r[key]
    best = max(cfg.neuron_counts)
    metrics["test_accuracy"] = results[best]["test_accuracy"]
    lines = [f"diehl-cook-digits: sklearn digits ({len(split.x_train)} train / "
             f"{len(split.x_test)} test), {cfg.epochs} epoch(s), {cfg.n_steps} x "
             f"{cfg.dt * 1e3:g} ms presentations",
             f"{'neurons':>8}{'test acc':>10}{'train acc':>11}{'classes':>9}{'spikes/img':>12}"]
    for n, r in results.items():
        lines.append(f"{n:>8}{100 * r['test_accuracy']:>9.1f}%{100 * r['train_accuracy']:>10.1f}%"
                     f"{int(r['classes_covered']):>9}{r['test_spikes_per_image']:>12.1f}")
    lines.append("paper (MNIST, 28x28): 82.9 % with 100 neurons")
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ns = list(results)
    ax.plot(ns, [100 * results[n]["test_accuracy"] for n in ns], "o-", label="test")
    ax.plot(ns, [100 * results[n]["train_accuracy"] for n in ns], "s--", label="train")
    ax.set_xscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xlabel("excitatory neurons")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    run.save_figure(fig, "accuracy_vs_neurons")
    layer = results[best]["net"].layer
    fig = plot.weight_images(layer.weight.numpy(), (8, 8), unit="g_leak",
                             title=f"input weights of the {best} neurons (8 x 8 pixels each)")
    run.save_figure(fig, "weights")
    # the largest network: spec + state (weights, theta, labels), reloadable without this code;
    # layer.classify(x_test, generator at test_generator_state, batch=eval_batch) gives
    # test_accuracy again
    run.save_network(layer, info={"neurons": best, "test_accuracy": metrics["test_accuracy"],
                                  "seed": cfg.seed, "test_fraction": cfg.test_fraction,
                                  "train_subset": cfg.train_subset,
                                  "eval_batch": cfg.eval_batch})
    run.save_model({n: {"weights": r["net"].layer.weight, "theta": r["net"].layer.theta,
                        "labels": r["labels"], "test_generator_state": r["test_generator_state"]}
                    for n, r in results.items()}, "data")
    return run.path
