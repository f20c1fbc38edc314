"""snn-attack: gradient attacks on the spiking digits network and on its Loihi 2 integer model.

The victim is snn-digits' network, trained as there (Bernoulli rate code, ``T = 25`` steps,
surrogate-gradient BPTT with ``cfg.surrogate``). The attacker perturbs the **analog input**:
the pixel intensities ``x`` in [0, 1] before the rate code, within an L-inf budget ``eps``
(:mod:`neuromorph.attacks`).

- **Input code.** The victim draws its spikes ``s[t] = 1[u[t] < p x]`` with noise ``u`` the
  attacker does not know: every clean and perturbed test image is scored on the same fixed
  draw ``u_eval`` (common random numbers, so a change of decision is the perturbation's doing).
  The attacker differentiates through the code by expectation over transformation: each
  gradient averages ``eot_samples`` fresh draws with the straight-through derivative
  ``ds/dx = p`` (:func:`~neuromorph.attacks.straight_through_rate`).
- **Attacks.** FGSM and PGD (``pgd_steps`` steps of ``2.5 eps / steps``, random start) through
  each surrogate in ``surrogates`` (the forward pass is the victim's; only the gradient
  changes); the potential-dependent surrogate (PDSG-style, re-measured before every gradient:
  :func:`~neuromorph.attacks.use_potential_dependent_surrogate`) with FGSM and PGD; and random
  signs at the same budget, the baseline every attack must beat.
- **Transfer.** Every perturbed image crafted on the float network is fed, as the same spikes,
  to the Loihi 2 integer model (Lava's bit-accurate arithmetic, pipeline flushed:
  :mod:`~neuromorph.experiments.snn_eval`).

The success rate is the fraction of the images a model classifies correctly when clean that it
misclassifies when perturbed (each model over its own correct set). Headline keys per ``eps``:
``success_{fgsm,pgd,pdsg,random}_eps{eps}`` (FGSM / PGD: the best surrogate at that budget;
PDSG: PDSG-PGD) and ``transfer_loihi2_{fgsm,pgd,pdsg,random}_eps{eps}``; every attack and
surrogate also has its own key. Writes ``results.txt``, ``metrics.json``, ``success.png`` and
``model.pt``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.attacks import (  # noqa: E402
    fgsm,
    pgd,
    potential_dependent_scales,
    random_sign_noise,
    rate_noise,
    straight_through_rate,
    success_rate,
    use_potential_dependent_surrogate,
    use_surrogate,
)
from neuromorph.data.poisson_digits import digits_split  # noqa: E402
from neuromorph.experiments import snn_digits  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.experiments.snn_common import train_seed  # noqa: E402
from neuromorph.experiments.snn_eval import run_flushed, torch_threads  # noqa: E402
from neuromorph.hardware_models.chips import IntegerNetwork, get_chip, quantize  # noqa: E402
from neuromorph.learning_rules.spike_losses import READOUTS, predict  # noqa: E402
from neuromorph.networks.spiking_layers import SpikingSequential  # noqa: E402
from neuromorph.primitives.spike import get_surrogate  # noqa: E402

SUMMARY = "FGSM / PGD / PDSG attacks on the digits SNN per surrogate, transfer to Loihi 2 integer"
ALL_SURROGATES = ("fast_sigmoid", "arctan", "sigmoid", "triangular", "straight_through")
Attack = Callable[[Tensor, float], Tensor]


@dataclass
class Config(snn_digits.Config):
    seeds: int = 1
    surrogates: tuple[str, ...] = ALL_SURROGATES  # gradients FGSM and PGD are run through
    epsilons: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3)  # L-inf budgets (pixel units)
    pgd_steps: int = 10
    eot_samples: int = 4  # rate-code noise draws averaged per gradient
    attack_samples: int = 0  # test images attacked (0 = the whole test set)
    chip: str = "loihi2"  # the integer model the attacks transfer to
    calibration_samples: int = 256  # training samples that set the readout's integer range
    threads: int = 1  # torch CPU threads; these small networks run fastest on one

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check(self.seeds == 1, "snn-attack attacks one trained network: use seeds=1")
        self.check(bool(self.epsilons) and all(0 < e <= 1 for e in self.epsilons),
                   f"epsilons must lie in (0, 1] (pixel units), got {self.epsilons}")
        for name in self.surrogates:
            try:
                get_surrogate(name)
            except ValueError as err:
                self.check(False, str(err))
        self.check(self.pgd_steps >= 1 and self.eot_samples >= 1,
                   "pgd_steps and eot_samples must be >= 1")
        self.check(self.attack_samples >= 0 and self.calibration_samples >= 1,
                   "attack_samples must be >= 0 and calibration_samples >= 1")
        self.check(self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        try:
            get_chip(self.chip)
        except ValueError as err:
            self.check(False, str(err))


@dataclass
class Victim:
    """The trained float network, its integer chip model, and the fixed evaluation noise."""

    model: SpikingSequential
    chip: IntegerNetwork
    noise: Tensor  # u_eval [T, B, 64]
    p_max: float
    readout: str

    def spikes(self, x: Tensor) -> Tensor:
        """The victim's spikes for intensities ``x`` (the fixed draw ``u_eval``)."""
        return (self.noise < self.p_max * x).to(x.dtype)

    def predict_float(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return predict(self.model(self.spikes(x)), self.readout)

    def predict_chip(self, x: Tensor) -> Tensor:
        return predict(run_flushed(self.chip, self.spikes(x))[1].float(), self.readout)


def eot_loss(victim: Victim, y: Tensor, samples: int, gen: torch.Generator,
             pdsg: bool = False) -> Callable[[Tensor], Tensor]:
    """Per-image cross-entropy of the readout over ``samples`` fresh rate-code draws; with
    ``pdsg`` the surrogate of every layer is re-fitted to the potentials of these draws."""
    readout = READOUTS[victim.readout]
    labels = y.repeat(samples)
    T = victim.noise.shape[0]

    def loss(x: Tensor) -> Tensor:
        s = straight_through_rate(x, rate_noise(T, x, samples, gen), victim.p_max)
        if pdsg:
            with use_potential_dependent_surrogate(victim.model, s.detach()):
                trace = victim.model(s)
        else:
            trace = victim.model(s)
        return F.cross_entropy(readout(trace), labels, reduction="none")

    return loss


def attacks(cfg: Config, victim: Victim, y: Tensor, seed: int) -> dict[str, Attack]:
    """Attack name -> ``attack(x, eps) -> x_adv``; every attack seeds its own generator."""
    def gen(k: int) -> torch.Generator:
        return torch.Generator().manual_seed(30_000 + 100 * seed + k)

    def through(sur: str, method: str, k: int) -> Attack:
        def run(x: Tensor, eps: float) -> Tensor:
            g = gen(k)
            loss = eot_loss(victim, y, cfg.eot_samples, g)
            with use_surrogate(victim.model, sur):
                if method == "fgsm":
                    return fgsm(x, loss, eps)
                return pgd(x, loss, eps, steps=cfg.pgd_steps, generator=g)
        return run

    def pdsg(method: str, k: int) -> Attack:
        def run(x: Tensor, eps: float) -> Tensor:
            g = gen(k)
            loss = eot_loss(victim, y, cfg.eot_samples, g, pdsg=True)
            if method == "fgsm":
                return fgsm(x, loss, eps)
            return pgd(x, loss, eps, steps=cfg.pgd_steps, generator=g)
        return run

    out: dict[str, Attack] = {"random": lambda x, eps: random_sign_noise(x, eps,
                                                                          generator=gen(0))}
    for i, sur in enumerate(cfg.surrogates):
        out[f"fgsm_{sur}"] = through(sur, "fgsm", 1 + 2 * i)
        out[f"pgd_{sur}"] = through(sur, "pgd", 2 + 2 * i)
    out["pdsg_fgsm"] = pdsg("fgsm", 98)
    out["pdsg_pgd"] = pdsg("pgd", 99)
    return out


def build_victim(cfg: Config, seed: int, tick: Callable[[], None]
                 ) -> tuple[Victim, Tensor, Tensor, float]:
    """Train snn-digits' network; quantise it for the chip; the attacked test images."""
    task = snn_digits.digits_task(cfg, seed)
    result = train_seed(cfg, task, seed, tick)
    model = result.model.cpu().eval()
    split = digits_split(cfg.test_fraction, seed)
    n = cfg.attack_samples or len(split.y_test)
    x, y = split.x_test[:n], split.y_test[:n]
    calib, _ = task.batch(torch.arange(min(cfg.calibration_samples, task.n_train)), True,
                          torch.Generator().manual_seed(seed + 1))
    noise = rate_noise(cfg.n_steps, x, generator=torch.Generator().manual_seed(20_000 + seed))
    victim = Victim(model, quantize(model, cfg.chip, calibration=calib), noise,
                    cfg.max_rate * cfg.dt, cfg.readout)
    return victim, x, y, result.seconds


def headline(cfg: Config, m: dict[str, float]) -> dict[str, float]:
    """Per ``eps``: FGSM / PGD at their best surrogate, PDSG-PGD, random; and their transfer."""
    out: dict[str, float] = {}
    for eps in cfg.epsilons:
        e = f"eps{eps:g}"
        chosen = {"random": "random", "pdsg": "pdsg_pgd"}
        for method in ("fgsm", "pgd"):
            chosen[method] = max((f"{method}_{s}" for s in cfg.surrogates),
                                 key=lambda a, e=e: m[f"success_{a}_{e}"])
        for short, name in chosen.items():
            out[f"success_{short}_{e}"] = m[f"success_{name}_{e}"]
            out[f"transfer_{cfg.chip}_{short}_{e}"] = m[f"transfer_{cfg.chip}_{name}_{e}"]
    return out


def figure(cfg: Config, m: dict[str, float], names: list[str]) -> plt.Figure:
    """Success rate (%) against the budget on the float network and transferred to the chip,
    every attack and surrogate; the random-sign baseline, PDSG-PGD and the strongest PGD carry
    a ±1 binomial standard-error band ``sqrt(p (1 - p) / n)`` over the ``n`` images the model
    classifies correctly when clean (the sampling spread of a success rate from one network)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True, layout="constrained")
    colors = dict(zip(cfg.surrogates, plt.rcParams["axes.prop_cycle"].by_key()["color"],
                      strict=False))
    eps = np.array(cfg.epsilons)
    e_max = f"eps{max(cfg.epsilons):g}"
    strongest = max((n for n in names if n.startswith("pgd_")),
                    key=lambda n: m[f"success_{n}_{e_max}"], default=None)
    panels = ((axes[0], "success", "accuracy_clean_float", "float network (white box)"),
              (axes[1], f"transfer_{cfg.chip}", f"accuracy_clean_{cfg.chip}_int",
               f"{get_chip(cfg.chip).full_name} integer model (transfer)"))
    for ax, prefix, clean, title in panels:
        n = max(1.0, m[clean] * m["n_attacked"])
        for name in names:
            y = np.array([m[f"{prefix}_{name}_eps{e:g}"] for e in cfg.epsilons])
            if name == "random":
                line, = ax.plot(eps, 100 * y, color="0.45", lw=2, marker="x",
                                label="random signs (baseline)")
            elif name.startswith("pdsg"):
                line, = ax.plot(eps, 100 * y, color="k", lw=3.2, alpha=0.55, marker="o",
                                ms=9, markerfacecolor="none", zorder=2,  # under the thin lines
                                ls="-" if name.endswith("pgd") else "--",
                                label=name.replace("_", "-").upper())
            else:
                method, sur = name.split("_", 1)
                line, = ax.plot(eps, 100 * y, color=colors[sur], marker="." if method == "pgd"
                                else "+", lw=1.2, ls="-" if method == "pgd" else ":",
                                label=f"{method.upper()} {sur}", zorder=3)
            if name in ("random", "pdsg_pgd", strongest):
                se = 100 * np.sqrt(y * (1 - y) / n)
                ax.fill_between(eps, 100 * y - se, 100 * y + se, color=line.get_color(),
                                alpha=0.15, lw=0)
        ax.set(xlabel="L-inf budget eps (pixel intensity, [0, 1])",
               title=f"{title}\n{int(round(n))} correctly classified clean images")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("attack success rate (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=min(4, len(labels)), loc="outside lower center")
    fig.suptitle("bands: ±1 binomial standard error (random, PDSG-PGD, strongest PGD)",
                 fontsize=8)
    return fig


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "snn-attack", cfg)
    seed = cfg.seed
    with torch_threads(cfg.threads):
        bar = tqdm(total=cfg.epochs, desc="snn-attack: train", disable=not progress, unit="ep")
        victim, x, y, seconds = build_victim(cfg, seed, lambda: bar.update(1))
        bar.close()
        clean_f, clean_c = victim.predict_float(x), victim.predict_chip(x)
        scales = potential_dependent_scales(victim.model, victim.spikes(x))
        table = attacks(cfg, victim, y, seed)
        m: dict[str, float] = {
            "accuracy_clean_float": float((clean_f == y).float().mean()),
            f"accuracy_clean_{cfg.chip}_int": float((clean_c == y).float().mean()),
            "n_attacked": float(len(y)), "train_seconds": seconds}
        m.update({f"pdsg_scale_layer{k + 1}": s for k, s in enumerate(scales)})
        bar = tqdm(total=len(table) * len(cfg.epsilons), desc="snn-attack: attacks",
                   disable=not progress)
        for name, attack in table.items():
            for eps in cfg.epsilons:
                x_adv = attack(x, eps)
                m[f"success_{name}_eps{eps:g}"] = success_rate(clean_f, victim.predict_float(
                    x_adv), y)
                m[f"transfer_{cfg.chip}_{name}_eps{eps:g}"] = success_rate(
                    clean_c, victim.predict_chip(x_adv), y)
                bar.update(1)
        bar.close()
    m.update(headline(cfg, m))
    text = [f"snn-attack: digits SNN (hidden {list(cfg.hidden)}, T = {cfg.n_steps}, trained with "
            f"{cfg.surrogate}), {len(y)} test images; clean accuracy float "
            f"{100 * m['accuracy_clean_float']:.2f} %, {cfg.chip} integer "
            f"{100 * m[f'accuracy_clean_{cfg.chip}_int']:.2f} %",
            f"EOT over {cfg.eot_samples} rate-code draws per gradient; PGD {cfg.pgd_steps} steps; "
            f"PDSG scales on clean inputs: {', '.join(f'{s:.3g}' for s in scales)} "
            f"(training surrogate scale {victim.model[0].neuron.scale:g})",
            "success rate % (float white box / transferred to the integer model):",
            f"{'attack':>28} " + " ".join(f"{'eps ' + format(e, 'g'):>13}" for e in cfg.epsilons)]
    for name in table:
        row = " ".join(f"{100 * m[f'success_{name}_eps{e:g}']:6.1f}/"
                       f"{100 * m[f'transfer_{cfg.chip}_{name}_eps{e:g}']:<6.1f}"
                       for e in cfg.epsilons)
        text.append(f"{name:>28} {row}")
    text.append("paper (Lun et al., CVPR 2025): PDSG attacks reach up to 100 % success on "
                "ImageNet-scale SNNs; this run: 8x8 digits, one hidden layer, rate-coded input.")
    print("\n".join(text))
    run.write_text("results.txt", "\n".join(text) + "\n")
    run.write_metrics(m)
    run.save_figure(figure(cfg, m, list(table)), "success")
    run.save_network(victim.model, info={"seed": seed, "n_inputs": 64, "n_classes": 10})
    return run.path


__all__ = ["SUMMARY", "Config", "main"]
