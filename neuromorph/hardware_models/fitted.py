"""Systems fitted from measured input/output pairs (a data-driven model of real hardware).

``fit_system(inputs, outputs)`` trains a small MLP ``f`` on measured pairs ``(x_i, y_i)`` by
minimising the mean squared error, reports the error on held-out pairs, and returns a
:class:`FittedSystem` that behaves as the hardware did: forward-only, with optional measured
noise (the held-out residual std) added back. Its exact twin is the fitted network itself.

The measured acoustic layer of Momeni et al. (Science 2023) in ``../shared/data/phyll/`` is
loaded by :func:`measured_acoustic_system`; as in the paper, its drive is normalised to unit
L2 norm before it reaches the speakers (``input_norm="l2"``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.nonidealities import AdditiveNoise, NonIdeality

InputNorm = Literal["none", "l2"]


def mlp(n_in: int, n_out: int, hidden: Sequence[int]) -> nn.Sequential:
    """``Linear -> SiLU -> ... -> Linear`` with the given hidden widths."""
    dims = [n_in, *hidden, n_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def normalize_drive(x: Tensor, mode: InputNorm, gain: float) -> Tensor:
    """``"l2"``: ``gain * |x| / ||x||_2`` per row (the paper's speaker drive); ``"none"``: x."""
    if mode == "none":
        return x
    return gain * x.abs() / (x.norm(dim=1, keepdim=True) + 1e-6)


class FittedSystem(PhysicalSystem):
    """A physical system modelled by a network fitted to measurements: ``y = f(norm(x))``."""

    def __init__(
        self,
        model: nn.Module,
        n_in: int,
        n_out: int,
        input_norm: InputNorm = "none",
        drive_gain: float = 1.0,
        nonidealities: Sequence[NonIdeality] = (),
        seed: int = 0,
    ) -> None:
        super().__init__(n_in, n_out, nonidealities, seed)
        if input_norm not in ("none", "l2"):
            raise ValueError(f"input_norm must be 'none' or 'l2', got {input_norm!r}")
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.input_norm: InputNorm = input_norm
        self.drive_gain = float(drive_gain)

    def _physics(self, x: Tensor) -> Tensor:
        return self.model(normalize_drive(x, self.input_norm, self.drive_gain))


@dataclass(frozen=True)
class FitReport:
    """Fit quality on pairs never seen in training (units of the measured outputs)."""

    n_train: int
    n_test: int
    train_rmse: float
    test_rmse: float
    test_relative_error: float  # ||y_hat - y|| / ||y|| over the held-out set
    test_r2: float
    output_std: float

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _check_pairs(inputs: np.ndarray, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(inputs, dtype=np.float32), np.asarray(outputs, dtype=np.float32)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"measured pairs need inputs [N, n_in] and outputs [N, n_out] with the same N; "
            f"got {x.shape} and {y.shape}"
        )
    if x.shape[0] < 10:
        raise ValueError(f"need at least 10 measured pairs to fit a system, got {x.shape[0]}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("measured pairs contain NaN or infinite values; clean the data first")
    return x, y


def fit_system(
    inputs: np.ndarray,
    outputs: np.ndarray,
    hidden: Sequence[int] = (100, 200, 100),
    epochs: int = 60,
    batch_size: int = 256,
    lr: float = 2e-3,
    test_fraction: float = 0.1,
    seed: int = 0,
    add_measured_noise: bool = False,
    input_norm: InputNorm = "none",
    drive_gain: float = 1.0,
) -> tuple[FittedSystem, FitReport]:
    """Fit an MLP to measured pairs; return the system and its held-out error.

    The model is trained on the raw measured drives (what the hardware saw); ``input_norm``
    and ``drive_gain`` describe how the *system* maps a layer's signal to a drive afterwards.
    With ``add_measured_noise`` the system adds Gaussian noise of the held-out residual std.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    x_np, y_np = _check_pairs(inputs, outputs)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(x_np.shape[0], generator=gen)
    n_test = max(1, int(round(test_fraction * x_np.shape[0])))
    x, y = torch.from_numpy(x_np)[order], torch.from_numpy(y_np)[order]
    x_tr, y_tr, x_te, y_te = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    torch.manual_seed(seed)
    model = mlp(x.shape[1], y.shape[1], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = max(1, (x_tr.shape[0] + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    for _ in range(epochs):
        perm = torch.randperm(x_tr.shape[0], generator=gen)
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            loss = nn.functional.mse_loss(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        res_tr = model(x_tr) - y_tr
        res_te = model(x_te) - y_te
        report = FitReport(
            n_train=int(x_tr.shape[0]),
            n_test=int(n_test),
            train_rmse=float(res_tr.pow(2).mean().sqrt()),
            test_rmse=float(res_te.pow(2).mean().sqrt()),
            test_relative_error=float(res_te.norm() / y_te.norm()),
            test_r2=float(1 - res_te.pow(2).sum() / (y_te - y_te.mean(0)).pow(2).sum()),
            output_std=float(y.std()),
        )
    effects = [AdditiveNoise(report.test_rmse)] if add_measured_noise else []
    system = FittedSystem(
        model, x.shape[1], y.shape[1], input_norm, drive_gain, effects, seed=seed
    )
    return system, report


def load_measured_pairs(inputs_csv: str | Path, outputs_csv: str | Path) -> tuple[np.ndarray, ...]:
    """Read two headerless CSVs of equal row count; drop all-zero rows (no measurement)."""
    paths = [Path(inputs_csv), Path(outputs_csv)]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"measured-pairs file not found: {p}")
    x = np.loadtxt(paths[0], delimiter=",", dtype=np.float32, ndmin=2)
    y = np.loadtxt(paths[1], delimiter=",", dtype=np.float32, ndmin=2)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{paths[0]} has {x.shape[0]} rows but {paths[1]} has {y.shape[0]}")
    keep = ~((x == 0).all(1) & (y == 0).all(1))
    return x[keep], y[keep]


def _cache_dir() -> Path:
    root = os.environ.get("NEUROMORPH_CACHE") or Path.home() / ".cache" / "neuromorph"
    return Path(root) / "fitted"


def measured_acoustic_system(
    data_dir: str | Path,
    drive_gain: float = 1.0,
    add_measured_noise: bool = False,
    seed: int = 0,
    epochs: int = 60,
    cache: bool = True,
) -> tuple[FittedSystem, FitReport]:
    """The real acoustic layer (20 speakers -> 20 spectral amplitudes) fitted from its pairs.

    Fits are cached under ``$NEUROMORPH_CACHE`` (default ``~/.cache/neuromorph``) keyed by the
    data's hash and the fit settings; a cache hit skips the fit and gives the same system.
    """
    data_dir = Path(data_dir)
    xin, yout = data_dir / "acoustic_inputs.csv", data_dir / "acoustic_outputs.csv"
    digest = hashlib.sha256(xin.read_bytes() + yout.read_bytes()).hexdigest()[:16]
    path = _cache_dir() / f"acoustic-{digest}-e{epochs}-s{seed}.pt"
    if cache and path.is_file():
        blob = torch.load(path, weights_only=False)
        model, report = blob["model"], FitReport(**blob["report"])
    else:
        x, y = load_measured_pairs(xin, yout)
        fitted, report = fit_system(x, y, epochs=epochs, seed=seed)
        model = fitted.model
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model, "report": report.to_dict()}, path)
    effects = [AdditiveNoise(report.test_rmse)] if add_measured_noise else []
    system = FittedSystem(model, 20, 20, "l2", drive_gain, effects, seed=seed)
    return system, report


def measured_acoustic(
    n_in: int = 20, n_out: int = 20, seed: int = 0, data_dir: str | Path = "", **options: object
) -> FittedSystem:
    """Registry builder for ``"measured-acoustic"``; the fit report is ``system.fit_report``."""
    if (n_in, n_out) != (20, 20):
        raise ValueError(
            f"the measured acoustic layer has 20 speakers and 20 outputs; got n_in={n_in}, "
            f"n_out={n_out} (set the network width to 20)"
        )
    if not data_dir:
        raise ValueError("measured-acoustic needs data_dir (e.g. ../shared/data/phyll)")
    system, report = measured_acoustic_system(data_dir, seed=0, **options)  # type: ignore[arg-type]
    system.reseed(seed)
    system.fit_report = report
    return system
