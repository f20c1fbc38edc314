"""Run a set of PhyLL methods over several seeds and write the run directory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from neuromorph.data.vowels import Split
from neuromorph.errors import RunDirError
from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.phyll_common import (
    METHODS,
    MethodResult,
    MethodSettings,
    Task,
    summarize,
    table,
)
from neuromorph.experiments.plots import learning_curves, loss_curves
from neuromorph.experiments.run_results import advance_when_resumed
from neuromorph.experiments.rundir import RunDir
from neuromorph.hardware_models import make_system
from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.nonidealities import MultiplicativeNoise
from neuromorph.models import build_module, module_spec
from neuromorph.networks.physical import PhysicalNetwork
from neuromorph.plot import confusion_matrix
from neuromorph.specs import spec_from_dict

SYSTEM_OPTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "measured-acoustic": lambda cfg: {
        "data_dir": cfg.data_dir,
        "add_measured_noise": cfg.measured_noise,
    },
}


def system_factory(cfg: Any, run_seed: int) -> Callable[[], PhysicalSystem]:
    """A fresh copy of the configured device (same hardware every call, noise seeded by run)."""
    options = SYSTEM_OPTIONS.get(cfg.system, lambda _: {})(cfg)

    def build() -> PhysicalSystem:
        system = make_system(cfg.system, cfg.width, cfg.width, seed=cfg.system_seed, **options)
        if cfg.noise > 0:
            system.nonidealities.append(MultiplicativeNoise(cfg.noise))
        system.reseed(run_seed)
        return system

    return build


def settings_from(cfg: Any) -> MethodSettings:
    names = MethodSettings.__dataclass_fields__
    return MethodSettings(**{k: getattr(cfg, k) for k in names if hasattr(cfg, k)})


def run_methods_over_seeds(
    name: str,
    cfg: ExperimentConfig,
    out_dir: Path,
    classes: Sequence[str],
    split_for: Callable[[int], Split],
    title: str,
    progress: bool = True,
) -> Path:
    """Train every method in ``cfg.methods`` for ``cfg.seeds`` seeds; write metrics and plots."""
    run = RunDir(out_dir, name, cfg)
    torch.set_num_threads(cfg.threads)
    settings = settings_from(cfg)
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    results: dict[str, list[MethodResult]] = {m: [] for m in cfg.methods}
    bar = tqdm(
        total=len(seeds) * len(cfg.methods) * settings.epochs,
        desc=name,
        disable=not progress,
        unit="ep",
    )

    def train_methods(seed: int) -> dict[str, Any]:
        split = split_for(seed)
        task = Task.from_arrays(
            split.x_train, split.y_train, split.x_test, split.y_test, len(classes), cfg.width
        )
        factory = system_factory(cfg, seed)
        out = {}
        for method in cfg.methods:
            bar.set_postfix_str(f"seed {seed} {method}")
            result = METHODS[method](factory, task, settings, seed, bar.update)
            trained[(seed, method)] = result.model  # this run's live network, kept for model.pt
            out[method] = _to_saved(result)
        return out

    skip = advance_when_resumed(bar, len(cfg.methods) * settings.epochs)
    trained: dict[tuple[int, str], Any] = {}
    for seed, saved in zip(seeds, run.seed_results(seeds, train_methods, on_done=skip),
                           strict=True):
        for method in cfg.methods:
            results[method].append(_from_saved(saved[method], trained.get((seed, method))))
    split = split_for(seeds[-1])
    report = getattr(system_factory(cfg, seeds[-1])(), "fit_report", None)
    extra = {} if report is None else {
        f"system_fit_{k}": v for k, v in report.to_dict().items()}
    bar.close()
    metrics = summarize(results)
    metrics.update(extra)
    if "phyll" in results:
        metrics["test_accuracy"] = metrics["phyll_test_accuracy_mean"]
    text = table(results)
    header = f"{name}: {title}; {len(seeds)} seed(s), {len(split.y_test)} test samples"
    print(header)
    print(text)
    if extra:
        print(f"system fit on held-out measured pairs: R^2 = {extra['system_fit_test_r2']:.4f}, "
              f"RMSE = {extra['system_fit_test_rmse']:.4f}")
    run.write_text("results.txt", header + "\n" + text + "\n")
    run.write_metrics(metrics)
    _plots(run, results, split, classes, title)
    return run.path


def _to_saved(result: MethodResult) -> dict[str, Any]:
    """A method's result as plain data (``torch.load(weights_only=True)`` reads it back)."""
    model = result.model
    return {
        "test_accuracy": result.test_accuracy, "train_accuracy": result.train_accuracy,
        "queries": int(result.queries), "curve": [list(p) for p in result.curve],
        "losses": result.losses, "predictions": result.predictions,
        "state_dict": model.state_dict() if isinstance(model, torch.nn.Module) else model,
        "spec": module_spec(model).to_dict() if isinstance(model, PhysicalNetwork) else None,
    }


def _from_saved(saved: dict[str, Any], model: Any = None) -> MethodResult:
    """The saved result; ``model`` is the trained network when this process trained it, else
    ``{"state_dict", "spec"}`` (a seed finished before a resume: rebuilt when it is saved)."""
    return MethodResult(
        saved["test_accuracy"], saved["train_accuracy"], saved["queries"],
        [tuple(p) for p in saved["curve"]], saved["losses"], saved["predictions"],
        model if model is not None else {"state_dict": saved["state_dict"],
                                         "spec": saved.get("spec")},
    )


def _trained_network(result: MethodResult) -> torch.nn.Module:
    """The trained network of a result: the module itself, or (a seed finished before a
    resume) rebuilt from the spec and state its seed file holds."""
    if isinstance(result.model, torch.nn.Module):
        return result.model
    saved = dict(result.model)
    if saved.get("spec") is None:
        raise RunDirError("a resumed seed was saved by an older neuromorph without its network "
                          "spec; rerun with --overwrite")
    net = build_module(spec_from_dict(saved["spec"]), dt=1.0)
    net.load_state_dict(saved["state_dict"])
    return net


def _plots(
    run: RunDir, results: dict[str, list[MethodResult]], split: Split,
    classes: Sequence[str], title: str,
) -> None:
    curves = {m: [r.curve for r in runs] for m, runs in results.items() if runs[0].curve}
    if curves:  # methods without a curve (linear readouts) are baselines: their final accuracy
        baselines = {m: [r.test_accuracy for r in runs] for m, runs in results.items()
                     if m not in curves}
        fig = learning_curves(curves, xlabel="training progress (%)", title=title,
                              baselines=baselines)
        run.save_figure(fig, "learning_curves")
    if "phyll" in results:
        losses = [r.losses for r in results["phyll"]]
        run.save_figure(loss_curves(losses, title="PhyLL layer losses"), "phyll_loss")
        # the last seed's split is what ``split`` holds; recompute predictions' truth from it
        last = results["phyll"][-1]
        run.save_figure(
            confusion_matrix(
                np.asarray(split.y_test), np.asarray(last.predictions), classes,
                title="PhyLL confusion (last seed)",
            ),
            "confusion_matrix",
        )
        run.save_network(_trained_network(last), info={"classes": list(classes)})
