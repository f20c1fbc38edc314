"""analog-drift: digits networks on PCM and ReRAM crossbars, from 1 second to 10 years.

The scikit-learn digits MLP (``64 -> hidden -> 10``) and the spiking digits network of
``snn-digits`` are each trained three ways -- in float,
hardware-aware (HWA: noise injection and converters in the loop) and in situ (a forward-only
rule of the rules library, SPSA by default, measuring only the losses of networks written onto
the crossbar) -- then programmed onto PCM (aihwkit's
published statistical model) and onto multi-level ReRAM, and evaluated at t = 1 s, 1 h, 1 day,
1 year and 10 years after programming, without and with global drift compensation. Bands are
over training seeds x programming instances. Energy, area and latency per inference come from
the ISAAC per-operation constants (:mod:`neuromorph.hardware_models.crossbar.energy`): for the
MLP from its bit-serial DAC codes, for the spiking network from its spikes (one event-driven
read per time step with a spike).

metrics.json: ``accuracy_float`` (the float model, digital), ``accuracy_<method>_<device>_<t>``
and ``accuracy_<method>_<device>_<t>_compensated`` (means over seeds; ``accuracy_snn_<method>_...``
for the spiking network), ``accuracy_<method>_twin`` / ``accuracy_snn_<method>_twin`` (the
trained analog model before programming), plus ``energy_*``, ``latency_*``, ``area_*``
(``..._snn_<method>_<device>`` for the spiking network), ``std_*``, ``insitu_queries`` (MLP)
and ``snn_insitu_queries`` (hardware forward passes of the in-situ training, all seeds).

Saved models (seed ``seed``'s analog twins, before programming): the MLPs ``float``, ``hwa``,
``insitu`` ``.json`` + ``.pt`` (the HWA one also as ``model.json`` + ``model.pt``) and the
spiking networks ``snn_float``, ``snn_hwa``, ``snn_insitu``; each reloads with
``neuromorph.models.load_model`` (``AnalogLinear`` layers, ``Activation`` / spiking neurons).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from neuromorph.data.poisson_digits import digits_split
from neuromorph.experiments.analog_plots import accuracy_vs_time, energy_bars
from neuromorph.experiments.analog_snn import SNN_METHODS, train_snn
from neuromorph.experiments.analog_training import (
    IN_SITU_RULES,
    Data,
    InSituSettings,
    Recipe,
    accuracy,
    train_method,
)
from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.rundir import RunDir
from neuromorph.hardware_models.crossbar import (
    TileConfig,
    inference_cost,
    make_device,
    program_model,
    read_model_at,
)

SUMMARY = (
    "digits MLP and spiking network on PCM / ReRAM crossbars: float vs HWA vs in-situ, "
    "1 s to 10 years")

METHODS = ("float", "hwa", "insitu")
DEVICES = ("pcm", "reram")
TIMES: dict[str, float] = {"1s": 1.0, "1h": 3600.0, "1d": 86400.0, "1y": 3.15576e7,
                           "10y": 3.15576e8}


@dataclass
class Config(ExperimentConfig):
    seeds: int = 3  # training seeds (each also a data split)
    programmings: int = 2  # independent programmings of each trained model per device
    hidden: int = 64
    test_fraction: float = 0.2
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    dac_bits: int = 8
    adc_bits: int = 8
    adc_bound: float = 6.0
    max_tile: int = 256
    wire_resistance: float = 0.0  # ohm per segment; > 0 turns on the exact IR-drop solve
    hwa_weight_noise: float = 0.08
    hwa_output_noise: float = 0.02
    insitu_rule: str = "spsa"  # spsa (learning_rules.zeroth_order) or es (.evolution)
    insitu_steps: int = 800
    insitu_directions: int = 8  # perturbation pairs per step
    insitu_c: float = 0.02  # perturbation size (weight units)
    insitu_lr: float = 1e-2  # Adam, cosine-annealed
    insitu_batch: int = 128
    insitu_device: str = "pcm"
    snn: bool = True  # also the spiking digits network (float, HWA and in situ)
    snn_epochs: int = 10
    snn_insitu_steps: int = 500  # 0 skips the spiking network's in-situ method
    snn_insitu_batch: int = 64  # samples (25-step spike trains) per in-situ step
    snn_insitu_c: float = 0.05  # perturbation size (weight units; hard thresholds need more)

    def __post_init__(self) -> None:
        self.check(self.seeds >= 1 and self.programmings >= 1, "seeds, programmings must be >= 1")
        self.check(self.hidden >= 1 and self.epochs >= 1, "hidden and epochs must be >= 1")
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")
        self.check(self.insitu_steps >= 0 and self.insitu_directions >= 1,
                   "insitu_steps must be >= 0 and insitu_directions >= 1")
        self.check(self.insitu_rule in IN_SITU_RULES, f"insitu_rule must be one of "
                   f"{list(IN_SITU_RULES)}, got {self.insitu_rule!r}")
        self.check(self.insitu_c > 0 and self.insitu_lr > 0 and self.insitu_batch >= 1,
                   "insitu_c and insitu_lr must be > 0 and insitu_batch >= 1")
        self.check(self.snn_insitu_steps >= 0 and self.snn_insitu_batch >= 1,
                   "snn_insitu_steps must be >= 0 and snn_insitu_batch >= 1")
        self.check(self.snn_insitu_c > 0, f"snn_insitu_c must be > 0, got {self.snn_insitu_c}")
        self.check(self.insitu_device in DEVICES,
                   f"insitu_device must be one of {list(DEVICES)}, got {self.insitu_device!r}")
        try:
            self.tile()
        except ValueError as err:
            self.check(False, str(err))

    def tile(self) -> TileConfig:
        return TileConfig(max_inputs=self.max_tile, max_outputs=self.max_tile,
                          dac_bits=self.dac_bits, adc_bits=self.adc_bits,
                          adc_bound=self.adc_bound, wire_resistance=self.wire_resistance)

    def recipe(self) -> Recipe:
        """The training settings of every method, from this config."""
        tile = self.tile()
        return Recipe(
            hidden=self.hidden, tile=tile,
            hwa_tile=replace(tile, weight_noise=self.hwa_weight_noise,
                             output_noise=self.hwa_output_noise),
            epochs=self.epochs, batch=self.batch_size, lr=self.lr,
            insitu=InSituSettings(self.insitu_rule, self.insitu_steps, self.insitu_directions,
                                  self.insitu_c, self.insitu_lr, self.insitu_batch))

    def snn_insitu(self) -> InSituSettings:
        """The spiking network's in-situ run: the MLP's rule, directions and learning rate, its
        own steps, batch and perturbation size."""
        return InSituSettings(self.insitu_rule, self.snn_insitu_steps, self.insitu_directions,
                              self.snn_insitu_c, self.insitu_lr, self.snn_insitu_batch)

    def snn_methods(self) -> list[str]:
        """The spiking network's methods this run trains (none without ``snn``)."""
        return [m for m in SNN_METHODS if self.snn and (m != "insitu" or self.snn_insitu_steps)]


def data_split(cfg: Config, seed: int) -> Data:
    """The seed's stratified digits split (``test_fraction`` held out)."""
    split = digits_split(cfg.test_fraction, seed)
    return Data(split.x_train, split.y_train, split.x_test, split.y_test)


def _scorer(data: Data) -> Callable[[torch.nn.Module], float]:
    return lambda model: accuracy(model, data.x_test, data.y_test)


def evaluate_over_time(model: torch.nn.Module, score: Callable[[torch.nn.Module], float],
                       device: str, seed: int, programmings: int) -> dict[str, list[float]]:
    """``score(model)`` at every time, raw and compensated, for each programming instance."""
    out: dict[str, list[float]] = {}
    for k in range(programmings):
        program_model(model, make_device(device), seed=10_000 * seed + k)
        for name, t in TIMES.items():
            for comp, suffix in (("none", ""), ("programmed", "_compensated")):
                read_model_at(model, t, seed=10_000 * seed + k, compensation=comp)
                out.setdefault(f"{name}{suffix}", []).append(score(model))
    return out


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest and never oversubscribes
    try:
        return _main(cfg, out_dir, progress)
    finally:
        torch.set_num_threads(threads)


def _main(cfg: Config, out_dir: Path, progress: bool) -> Path:
    start = time.perf_counter()
    run = RunDir(out_dir, "analog-drift", cfg)
    recipe = cfg.recipe()
    snn_methods = cfg.snn_methods()
    ticks = cfg.seeds * (2 * cfg.epochs + 20 * (cfg.insitu_steps > 0)
                         + sum(20 if m == "insitu" else cfg.snn_epochs for m in snn_methods))
    bar = tqdm(total=ticks, desc="analog-drift", disable=not progress)
    results: dict[str, list[float]] = {}
    float_acc, snn_float, queries, snn_queries, costs, models = [], [], 0, 0, {}, {}
    snn_models: dict[str, torch.nn.Module] = {}
    for seed in range(cfg.seed, cfg.seed + cfg.seeds):
        data = data_split(cfg, seed)
        for method in METHODS:
            if method == "insitu" and cfg.insitu_steps == 0:
                continue
            model, net, q = train_method(method, data, recipe, make_device(cfg.insitu_device),
                                         seed, bar.update)
            queries += q
            if net is not None:
                float_acc.append(accuracy(net, data.x_test, data.y_test))
            results.setdefault(f"{method}_twin", []).append(
                accuracy(model, data.x_test, data.y_test))
            for device in DEVICES:
                accs = evaluate_over_time(model, _scorer(data), device, seed, cfg.programmings)
                for key, values in accs.items():
                    results.setdefault(f"{method}_{device}_{key}", []).extend(values)
                if seed == cfg.seed:
                    costs[(method, device)] = inference_cost(model, data.x_test)
            if seed == cfg.seed:
                models[method] = model
        for method in snn_methods:
            snn = train_snn(method, cfg.snn_epochs, recipe.tile, recipe.hwa_tile, seed,
                            bar.update, cfg.snn_insitu(), make_device(cfg.insitu_device))
            snn_queries += snn.queries
            if snn.digital is not None:
                snn_float.append(snn.digital)
            results.setdefault(f"snn_{method}_twin", []).append(snn.score(snn.model))
            for device in DEVICES:
                accs = evaluate_over_time(snn.model, snn.score, device, seed, cfg.programmings)
                for key, values in accs.items():
                    results.setdefault(f"snn_{method}_{device}_{key}", []).extend(values)
                if seed == cfg.seed:
                    costs[(f"snn_{method}", device)] = inference_cost(
                        snn.model, snn.test_spikes, samples=snn.test_spikes.shape[1],
                        spiking=True)
            if seed == cfg.seed:
                snn_models[f"snn_{method}"] = snn.model
    bar.close()
    metrics: dict[str, float] = {"accuracy_float": float(np.mean(float_acc)),
                                 "std_accuracy_float": float(np.std(float_acc)),
                                 "insitu_queries": float(queries),
                                 "snn_insitu_queries": float(snn_queries)}
    if snn_float:
        metrics["accuracy_snn_float"] = float(np.mean(snn_float))
    for key, values in results.items():
        metrics[f"accuracy_{key}"] = float(np.mean(values))
        metrics[f"std_accuracy_{key}"] = float(np.std(values))
    for (method, device), cost in costs.items():
        metrics[f"energy_per_inference_J_{method}_{device}"] = cost.energy
        for part in ("dac", "array", "adc", "digital"):
            metrics[f"energy_{part}_J_{method}_{device}"] = getattr(cost, part)
        metrics[f"latency_s_{method}_{device}"] = cost.latency
        metrics[f"area_m2_{method}_{device}"] = cost.area
    metrics["runtime_s"] = time.perf_counter() - start
    text = report(cfg, metrics)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    run.save_figure(accuracy_vs_time(results, metrics["accuracy_float"], METHODS, DEVICES,
                                     TIMES), "accuracy_vs_time")
    if cfg.snn:
        run.save_figure(accuracy_vs_time(results, metrics["accuracy_snn_float"],
                                         [f"snn_{m}" for m in snn_methods], DEVICES, TIMES),
                        "snn_accuracy_vs_time")
    run.save_figure(energy_bars(costs), "energy_per_inference")
    for method, model in {**models, **snn_models}.items():  # the twins, not programmed
        task = ("Poisson-coded digits of snn-digits" if method.startswith("snn_")
                else "sklearn digits, 64 -> 10")
        info = {"method": method, "seed": cfg.seed, "task": task,
                "accuracy_twin": results[f"{method}_twin"][0]}  # seed cfg.seed
        run.save_network(model, name=method, info=info)
        if method == "hwa":
            run.save_network(model, name="model", info=info)
    return run.path


def report(cfg: Config, m: dict[str, float]) -> str:
    """The table of results.txt: accuracy (%) at each time, raw / compensated."""
    lines = [f"analog-drift: digits MLP 64-{cfg.hidden}-10, {cfg.seeds} seeds x "
             f"{cfg.programmings} programmings; float (digital) "
             f"{100 * m['accuracy_float']:.2f} %",
             f"{'method/device':<16}" + "".join(f"{t:>14}" for t in TIMES)]
    for method in (*METHODS, *(f"snn_{m}" for m in SNN_METHODS)):
        for device in DEVICES:
            key = f"accuracy_{method}_{device}"
            if f"{key}_1s" not in m:
                continue
            cells = "".join(
                f"{100 * m[f'{key}_{t}']:>6.1f} /{100 * m[f'{key}_{t}_compensated']:>6.1f}"
                for t in TIMES)
            lines.append(f"{method + '/' + device:<16}{cells}")
    lines.append("(each cell: uncompensated / globally drift-compensated, %)")
    if "accuracy_snn_float" in m:
        lines.append("spiking digits network, float (digital): "
                     f"{100 * m['accuracy_snn_float']:.2f} %")
    for net, method in (("MLP", "float"), ("spiking network", "snn_float")):
        for device in DEVICES:
            key = f"{method}_{device}"
            if f"energy_per_inference_J_{key}" not in m:
                continue
            parts = ", ".join(f"{part} {m[f'energy_{part}_J_{key}'] * 1e9:.3f}"
                              for part in ("adc", "dac", "array", "digital"))
            lines.append(f"energy per inference, {net} (float weights) on {device}: "
                         f"{m[f'energy_per_inference_J_{key}'] * 1e9:.3f} nJ ({parts} nJ), "
                         f"latency {m[f'latency_s_{key}'] * 1e6:.2f} us")
    lines.append(f"runtime {m['runtime_s']:.0f} s; in-situ hardware queries: MLP "
                 f"{m['insitu_queries']:.0f}, spiking network {m['snn_insitu_queries']:.0f}")
    return "\n".join(lines)
