"""lsm-digits: a liquid state machine on Poisson-coded digits; plain, hand-tuned and NALSM liquids.

After Ivanov & Michmizos, "Increasing liquid state machine performance with edge-of-chaos
dynamics organized by astrocyte-modulated plasticity" (NALSM, NeurIPS 2021). The liquid
(:mod:`neuromorph.experiments.lsm_liquid`: 1000 current-based LIF cells, 80 % excitatory, on
the event engine) is driven by the scikit-learn 8x8 digits rate-coded as Poisson spikes; a
linear readout (standardised multinomial logistic regression on each cell's spike counts in
``n_bins`` time slices per sample) is the only trained part. Every liquid gets the same readout
budget: its inverse regularisation ``C`` is picked from ``readout_cs`` by the accuracy on a
stratified validation split (``val_fraction`` of the training images), then the readout is
refitted on all training images and scored once on the test images
(:func:`validated_readout`). Three liquids share the same random connectivity and input:

- **plain**: the random weights as drawn (excitatory scale 1);
- **tuned**: the excitatory weights scaled by hand: a sweep of ``scales`` on ``n_sweep``
  training samples measures the branching ratio of each, and the scale closest to 1 is kept;
- **nalsm**: the plain liquid whose synapses learn, during one pass over the training images
  (labels unused), with astrocyte-modulated STDP on events
  (:class:`~neuromorph.sim.plasticity_astro.AstroSTDPRule`), then are frozen. By default the
  astrocyte is the paper's (``astro_sense="input"``): it integrates the liquid's and the
  input's spikes over ``astro_tau`` and scales STDP depression by
  ``1 + astro_w (L - input_weight I)``, so the liquid settles where it fires
  ``astro_input_weight`` E-cell spikes per input spike; the input synapses learn
  (``a_stdp_in``, weights in ``[w_min_in, w_max_in]``, which may turn inhibitory) and the E->E
  synapses stay fixed (``a_stdp = 0``). These NALSM settings were chosen by 3-fold
  cross-validated readout accuracy on the training images of seeds 0 and 1, never the test
  images (docs/spiking_models.md). ``astro_sense="branching"`` (with ``a_stdp > 0``,
  ``a_stdp_in = 0``) is the earlier variant: E->E STDP gated by
  ``g = clip(gain (1 - sigma_astro), -1, 1)``, ``sigma_astro`` an online branching-ratio
  estimate.

Branching ratio (the number reported per liquid): the regression slope of the population count
in the next 4 ms bin on the count in this bin, within stimulus windows
(:func:`~neuromorph.experiments.lsm_liquid.liquid_branching`). Dataset difference: the paper
used MNIST / N-MNIST / Fashion-MNIST (28x28, 60k training images); this runs on the 1797
sklearn digits (8x8, 64 inputs), 80/20 stratified split, so its numbers are not comparable
one to one.

Saved model (:func:`save_liquid_model`): the NALSM liquid's readout as ``model.json`` +
``model.pt`` (one ``Affine`` on the spike counts) and that liquid, an engine network the spec
graph describes, as ``liquid.json`` + ``liquid.pt``; both reload with
:func:`neuromorph.models.load_model`, without this module.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from torch import nn  # noqa: E402

from neuromorph.data.poisson_digits import digits_split  # noqa: E402
from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.lsm_liquid import (  # noqa: E402
    LiquidRun,
    LiquidSpec,
    branching_over_run,
    liquid_branching,
    rate_hz,
    run_liquid,
    spike_counts,
)
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.models import linear_map, save_engine_network  # noqa: E402
from neuromorph.sim.plasticity_astro import ASTROCYTES, SENSES, AstroSTDPRule  # noqa: E402

ESTIMATE_WINDOW = 2.0  # s of learning averaged for the astrocyte's start and final estimates
SUMMARY = "NALSM: LIF liquid on Poisson digits; plain vs hand-tuned vs astrocyte-STDP liquid"


@dataclass
class Config(ExperimentConfig):
    n_exc: int = 800  # excitatory liquid cells
    n_inh: int = 200  # inhibitory liquid cells
    k_rec: int = 50  # recurrent in-degree per cell
    t_sample: float = 0.1  # s, stimulus per image
    t_gap: float = 0.02  # s, silence after each image
    max_rate: float = 200.0  # Hz, rate of a full-intensity pixel
    n_bins: int = 2  # time slices per sample in the readout features
    scales: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)  # excitatory scales swept
    n_sweep: int = 300  # training images per sweep point
    a_stdp: float = 0.0  # V, E->E STDP amplitude (a_plus = -a_minus; 0: E->E stay fixed)
    w_max: float = 6e-3  # V, upper bound of an E->E weight
    a_stdp_in: float = 1e-4  # V, STDP amplitude of the input synapses (0: they stay fixed)
    w_max_in: float = 12e-3  # V, upper bound of an input weight
    w_min_in: float = -12e-3  # V, lower bound of an input weight (< 0: may turn inhibitory)
    astro_sense: str = "input"  # what the astrocyte senses: "input" (NALSM) or "branching"
    astro_gain: float = 5.0  # branching: gate per unit of branching-ratio error
    astro_tau: float = 0.1  # s, memory of the astrocyte's estimate
    astro_w: float = 4e-4  # input: s, depression change per Hz of liquid-input imbalance
    astro_input_weight: float = 3.0  # input: E-cell spikes per input spike at balance
    n_train: int = 0  # training images used (0: all 1437)
    n_test: int = 0  # test images used (0: all 360)
    readout_cs: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)  # readout C values, by validation
    val_fraction: float = 0.2  # share of the training images that picks the readout's C

    def __post_init__(self) -> None:
        self.check(self.n_exc >= 4 and self.n_inh >= 1, "need n_exc >= 4 and n_inh >= 1")
        self.check(1 <= self.k_rec < self.n_exc + self.n_inh,
                   f"k_rec must be in [1, n_exc + n_inh), got {self.k_rec}")
        self.check(self.t_sample > 0 and self.t_gap >= 0, "t_sample must be > 0, t_gap >= 0")
        self.check(self.n_bins >= 1, f"n_bins must be >= 1, got {self.n_bins}")
        self.check(len(self.scales) >= 1 and min(self.scales) > 0, "scales must be > 0")
        self.check(self.n_sweep >= 10, f"n_sweep must be >= 10, got {self.n_sweep}")
        self.check(self.a_stdp >= 0 and self.a_stdp_in >= 0 and self.a_stdp + self.a_stdp_in > 0,
                   "need a_stdp >= 0 and a_stdp_in >= 0 volts, one of them > 0 (what learns)")
        self.check(self.w_max > 0 and self.w_max_in > self.w_min_in,
                   "need w_max > 0 and w_max_in > w_min_in volts")
        self.check(self.a_stdp_in == 0 or self.astro_sense == "input",
                   "a_stdp_in > 0 (plastic input synapses) needs astro_sense=input")
        self.check(self.astro_sense in SENSES, f"astro_sense must be one of {list(SENSES)}, got "
                   f"{self.astro_sense!r}")
        self.check(self.astro_tau > 0 and self.astro_w >= 0 and self.astro_input_weight >= 0,
                   "need astro_tau > 0 s, astro_w >= 0 s and astro_input_weight >= 0")
        self.check(self.n_train >= 0 and self.n_test >= 0, "n_train and n_test must be >= 0")
        self.check(len(self.readout_cs) >= 1 and min(self.readout_cs) > 0,
                   "readout_cs must hold at least one C > 0")
        self.check(0 < self.val_fraction < 1, f"val_fraction must be in (0, 1), got "
                   f"{self.val_fraction}")


def _readout(c: float, seed: int) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000,
                                                              random_state=seed))


def validated_readout(f_tr: np.ndarray, y_tr: np.ndarray, f_te: np.ndarray, y_te: np.ndarray,
                      cs: tuple[float, ...], val_fraction: float, seed: int
                      ) -> tuple[float, float, float]:
    """``(test accuracy, chosen C, its validation accuracy)`` of a standardised multinomial
    logistic regression whose inverse L2 strength ``C`` maximises the accuracy on a stratified
    ``val_fraction`` of the training rows (first C on ties); the test rows are read once, by the
    readout refitted on all training rows."""
    readout, c, val_acc = fit_validated_readout(f_tr, y_tr, cs, val_fraction, seed)
    return float(readout.score(f_te, y_te)), c, val_acc


def fit_validated_readout(f_tr: np.ndarray, y_tr: np.ndarray, cs: tuple[float, ...],
                          val_fraction: float, seed: int) -> tuple[Pipeline, float, float]:
    """``(readout refitted on all training rows, chosen C, its validation accuracy)``: the
    training half of :func:`validated_readout`."""
    fit, val, y_fit, y_val = train_test_split(f_tr, y_tr, test_size=val_fraction,
                                              stratify=y_tr, random_state=seed)
    scores = [_readout(c, seed).fit(fit, y_fit).score(val, y_val) for c in cs]
    best = int(np.argmax(scores))
    return _readout(cs[best], seed).fit(f_tr, y_tr), float(cs[best]), float(scores[best])


def readout_map(readout: Pipeline) -> nn.Linear:
    """The fitted readout as one linear map on raw spike counts: the logistic regression's
    ``z = W_lr (x - mu) / sigma + b_lr`` is ``z = W x + b`` with ``W = W_lr / sigma`` and
    ``b = b_lr - W mu`` (``mu``, ``sigma`` the scaler's mean and scale); the predicted class is
    ``argmax z``."""
    scaler, lr = readout[0], readout[-1]
    w = torch.as_tensor(lr.coef_ / scaler.scale_, dtype=torch.float64)
    b = torch.as_tensor(lr.intercept_, dtype=torch.float64) - w @ torch.as_tensor(scaler.mean_)
    return linear_map(w, b)


def _accuracy(run: LiquidRun, spec: LiquidSpec, cfg: Config, n_tr: int,
              y_tr: np.ndarray, y_te: np.ndarray) -> tuple[float, float, float, Pipeline]:
    f = spike_counts(run, spec, cfg.n_bins)
    readout, c, val = fit_validated_readout(f[:n_tr], y_tr, cfg.readout_cs, cfg.val_fraction,
                                            cfg.seed)
    return float(readout.score(f[n_tr:], y_te)), c, val, readout


def save_liquid_model(run: RunDir, cfg: Config, liquid: LiquidRun, spec: LiquidSpec,
                      readout: Pipeline, n_tr: int, accuracy: float) -> None:
    """The NALSM readout as ``model.*`` (an Affine on the spike counts, :func:`readout_map`) and
    the liquid that made its features as ``liquid.*`` (the engine network with its learnt E->E
    weights frozen and the evaluation stream of input spikes; ``neuromorph.models.
    load_engine_network``): running the reloaded liquid and reading its counts with
    ``spike_counts`` gives the features, rows ``n_train:`` the test images."""
    save_engine_network(run.path, liquid.network, static=True, name="liquid",
                        info={"experiment": run.name, "liquid": "nalsm", "seed": cfg.seed,
                              "input_seed": cfg.seed + 2, "liquid_spec": asdict(spec)})
    run.save_network(readout_map(readout), info={
        "liquid": "nalsm", "liquid_file": "liquid.json", "seed": cfg.seed,
        "input_seed": cfg.seed + 2, "liquid_spec": asdict(spec), "n_bins": cfg.n_bins,
        "features": "spike_counts(run, spec, n_bins): [samples, n_bins * n] counts",
        "n_samples": liquid.n_samples, "n_train": n_tr, "readout_c": readout[-1].C,
        "test_accuracy": accuracy})


def _plots(run: RunDir, runs: dict[str, LiquidRun], spec: LiquidSpec, sweep: list[tuple],
           history: np.ndarray, sense: str, learning_branching: np.ndarray) -> None:
    astro = ASTROCYTES[sense]
    _, period = spec.steps_per_sample
    fig, ax = plt.subplots(len(runs), 1, figsize=(8, 2.4 * len(runs)), sharex=True)
    for a, (name, r) in zip(ax, runs.items(), strict=True):
        keep = r.steps < 5 * period
        a.plot(r.steps[keep] * spec.dt, r.neurons[keep], ",k")
        a.set_ylabel(f"{name}\ncell")
    ax[-1].set_xlabel("time (s): the first 5 images of the evaluation stream")
    fig.tight_layout()
    run.save_figure(fig, "raster")
    fig, ax = plt.subplots(1, 3, figsize=(15, 3.5))
    ax[0].plot([s[0] for s in sweep], [s[1] for s in sweep], "o-k")
    ax[0].axhline(1.0, color="0.6", ls="--")
    ax[0].set_xlabel("excitatory weight scale")
    ax[0].set_ylabel("branching ratio")
    est, gate = astro.labels
    ax[1].plot(history[:, 0], history[:, 1], "k", lw=0.6, label=est)
    ax[1].plot(history[:, 0], history[:, 2], "r", lw=0.6, label=gate)
    ax[1].axhline(1.0, color="0.6", ls="--")
    if astro.history_ylim is not None:
        ax[1].set_ylim(*astro.history_ylim)
    ax[1].set_xlabel("training time (s)")
    ax[1].legend()
    ax[2].plot(learning_branching[:, 0], learning_branching[:, 1], "o-k", ms=3)
    ax[2].axhline(1.0, color="0.6", ls="--")
    ax[2].set_xlabel("training time (s)")
    ax[2].set_ylabel("liquid branching ratio (per 100 images)")
    ax[2].set_title("NALSM liquid while it learns")
    fig.tight_layout()
    run.save_figure(fig, "branching")


def nalsm_rules(cfg: Config, spec: LiquidSpec
                ) -> tuple[AstroSTDPRule | None, AstroSTDPRule | None]:
    """The NALSM liquid's rules ``(E->E or None, input -> liquid or None)``: pair STDP
    (``a_plus = -a_minus``; amplitude 0: those synapses stay fixed) gated by an astrocyte that
    senses the liquid's branching ratio (``astro_sense="branching"``) or, as in the paper, the
    liquid's and the input's spikes (``"input"``: the input group is the Poisson digits;
    balance at ``astro_input_weight`` E-cell spikes per input spike). Plastic input synapses
    (``a_stdp_in > 0``) have their own input-sensing astrocyte, which counts every liquid cell
    (E and I): its balance point is scaled by ``n / n_exc`` so that both astrocytes balance at
    the same rate when E and I cells fire alike; their weights stay in
    ``[w_min_in, w_max_in]`` (``w_min_in < 0``: an input synapse may turn inhibitory, as the
    paper's input weights may)."""
    def rule(a: float, w_min: float, w_max: float, input_weight: float) -> AstroSTDPRule:
        return AstroSTDPRule(a_plus=a, a_minus=-a, w_min=w_min, w_max=w_max, target=1.0,
                             gain=cfg.astro_gain, tau_astro=cfg.astro_tau, sense=cfg.astro_sense,
                             input_group="input", w_astro=cfg.astro_w,
                             input_weight=input_weight)

    k = cfg.astro_input_weight
    rule_in = rule(cfg.a_stdp_in, cfg.w_min_in, cfg.w_max_in, k * spec.n / spec.n_exc) \
        if cfg.a_stdp_in > 0 else None
    return (rule(cfg.a_stdp, 0.0, cfg.w_max, k) if cfg.a_stdp > 0 else None), rule_in


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "lsm-digits", cfg)
    t0 = time.perf_counter()
    d = digits_split(0.2, cfg.seed)
    x_tr, y_tr = d.x_train.numpy(), d.y_train.numpy()
    x_te, y_te = d.x_test.numpy(), d.y_test.numpy()
    if cfg.n_train:
        x_tr, y_tr = x_tr[: cfg.n_train], y_tr[: cfg.n_train]
    if cfg.n_test:
        x_te, y_te = x_te[: cfg.n_test], y_te[: cfg.n_test]
    x_all, n_tr = np.concatenate([x_tr, x_te]), len(x_tr)
    base = LiquidSpec(n_exc=cfg.n_exc, n_inh=cfg.n_inh, k_rec=cfg.k_rec, t_sample=cfg.t_sample,
                      t_gap=cfg.t_gap, max_rate=cfg.max_rate)
    seed = cfg.seed
    sweep = []  # (scale, branching ratio, rate Hz) on the first n_sweep training images
    for s in cfg.scales:
        spec = replace(base, scale=s)
        r = run_liquid(x_tr[: cfg.n_sweep], spec, seed, input_seed=seed + 1)
        sweep.append((s, liquid_branching(r, spec), rate_hz(r, spec)))
        if progress:
            print(f"sweep scale {s:g}: branching {sweep[-1][1]:.3f}, rate {sweep[-1][2]:.1f} Hz")
    tuned_scale = min(sweep, key=lambda e: abs(e[1] - 1.0))[0]
    rule, rule_in = nalsm_rules(cfg, base)
    learn = run_liquid(x_tr, base, seed, rule=rule, rule_in=rule_in, input_seed=seed + 1)
    w_nalsm = learn.ee.weights.numpy().copy()
    w_in_nalsm = learn.input_proj.weights.numpy().copy() if rule_in is not None else None
    history = np.asarray(learn.astro_history)
    learning_branching = branching_over_run(learn, base)
    specs = {"plain": base, "tuned": replace(base, scale=tuned_scale), "nalsm": base}
    runs, metrics = {}, {}
    for name, spec in specs.items():
        nalsm = name == "nalsm"
        r = run_liquid(x_all, spec, seed, w_ee=w_nalsm if nalsm else None,
                       w_in=w_in_nalsm if nalsm else None, input_seed=seed + 2)
        runs[name] = r
        acc, c, val, readout = _accuracy(r, spec, cfg, n_tr, y_tr, y_te)
        if nalsm:
            save_liquid_model(run, cfg, r, spec, readout, n_tr, acc)
        metrics[f"accuracy_{name}"] = acc
        metrics[f"readout_c_{name}"], metrics[f"val_accuracy_{name}"] = c, val
        metrics[f"branching_{name}"] = liquid_branching(r, spec)
        metrics[f"rate_hz_{name}"] = rate_hz(r, spec)
        if progress:
            print(f"{name}: accuracy {metrics[f'accuracy_{name}']:.4f}, branching "
                  f"{metrics[f'branching_{name}']:.3f}, rate {metrics[f'rate_hz_{name}']:.1f} Hz")
    fin = history[np.isfinite(history[:, 1])]
    last = fin[fin[:, 0] >= fin[-1, 0] - ESTIMATE_WINDOW] if len(fin) else fin
    first = fin[fin[:, 0] <= fin[0, 0] + ESTIMATE_WINDOW] if len(fin) else fin
    est = ASTROCYTES[cfg.astro_sense].estimate
    metrics.update({
        "test_accuracy": metrics["accuracy_nalsm"],
        "tuned_scale": float(tuned_scale),
        "branching_learning_start": float(learning_branching[0, 1])
        if len(learning_branching) else float("nan"),
        "branching_learning_final": float(learning_branching[-1, 1])
        if len(learning_branching) else float("nan"),
        f"astro_{est}_start": float(first[:, 1].mean()) if len(first) else float("nan"),
        f"astro_{est}_final": float(last[:, 1].mean()) if len(last) else float("nan"),
        "astro_gate_final": float(last[:, 2].mean()) if len(last) else float("nan"),
        "w_ee_mean_plain": float(runs["plain"].ee.weights.double().mean()),
        "w_ee_mean_nalsm": float(w_nalsm.mean(dtype=np.float64)),
        "w_in_mean_nalsm": float(base.w_in if w_in_nalsm is None else
                                 w_in_nalsm.mean(dtype=np.float64)),
        "wall_time_s": time.perf_counter() - t0,
    })
    lines = [f"lsm-digits: {base.n} LIF cells ({cfg.n_exc} E / {cfg.n_inh} I), "
             f"{n_tr} train / {len(x_te)} test sklearn digits, readout on counts"]
    lines += [f"sweep scale {s:g}: branching {b:.3f}, rate {h:.1f} Hz" for s, b, h in sweep]
    lines += [f"{k}: accuracy {metrics[f'accuracy_{k}']:.4f} (readout C "
              f"{metrics[f'readout_c_{k}']:g}, validation {metrics[f'val_accuracy_{k}']:.4f}), "
              f"branching {metrics[f'branching_{k}']:.3f}, rate {metrics[f'rate_hz_{k}']:.1f} Hz"
              for k in specs]
    lines.append(f"NALSM liquid's branching ratio while it learns (per 100 images): "
                 f"{metrics['branching_learning_start']:.3f} at the start, "
                 f"{metrics['branching_learning_final']:.3f} at the end")
    lines.append(f"astrocyte ({cfg.astro_sense}) over the first {ESTIMATE_WINDOW:g} s of "
                 f"learning: {est} {metrics[f'astro_{est}_start']:.3f}")
    lines.append(f"astrocyte ({cfg.astro_sense}) over the last {ESTIMATE_WINDOW:g} s of "
                 f"learning: {est} {metrics[f'astro_{est}_final']:.3f}, gate "
                 f"{metrics['astro_gate_final']:.2f}; wall time {metrics['wall_time_s']:.0f} s")
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    _plots(run, runs, base, sweep, history, cfg.astro_sense, learning_branching)
    np.savez_compressed(run.path / "branching.npz", astro_history=history,
                        sweep=np.asarray(sweep), w_ee_nalsm=w_nalsm,
                        learning_branching=learning_branching,
                        w_in_nalsm=np.zeros(0) if w_in_nalsm is None else w_in_nalsm)
    return run.path
