"""The config fields shared by the PhyLL experiments, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuromorph.experiments.config import ExperimentConfig
from neuromorph.experiments.phyll_common import METHODS, MethodSettings
from neuromorph.hardware_models import SYSTEMS


def check_system(cfg: ExperimentConfig, min_width: int = 2) -> None:
    """Validate ``cfg.system`` (a registered name) and ``cfg.width`` (>= ``min_width``)."""
    cfg.check(
        cfg.system in SYSTEMS, f"unknown system {cfg.system!r}; choose from {sorted(SYSTEMS)}"
    )
    cfg.check(cfg.width >= min_width, f"width must be >= {min_width}, got {cfg.width}")


@dataclass
class PhyLLConfig(ExperimentConfig):
    system: str = "acoustic-cavity"  # a name in neuromorph.hardware_models.SYSTEMS
    data_dir: str = "../shared/data/phyll"  # measured acoustic pairs (system=measured-acoustic)
    measured_noise: bool = False  # add the fit's held-out residual as noise (measured system)
    width: int = 20  # drive channels of the system = width of every layer
    seeds: int = 5  # runs with seeds seed, seed+1, ...
    system_seed: int = 0  # which simulated device (fixed across runs)
    test_fraction: float = 0.2
    noise: float = 0.0  # relative measurement noise std (multiplicative)
    # training settings of every method: defaults from MethodSettings (defined once, there)
    layers: int = MethodSettings.layers
    epochs: int = MethodSettings.epochs
    inner_steps: int = MethodSettings.inner_steps
    lr: float = MethodSettings.lr
    alpha: float = MethodSettings.alpha
    supervised_steps: int = MethodSettings.supervised_steps  # steps of PAT / backprop
    supervised_lr: float = MethodSettings.supervised_lr
    supervised_batch: int = MethodSettings.supervised_batch  # their minibatch; 0 = full batch
    twin_mismatch: float = MethodSettings.twin_mismatch
    eval_every: int = MethodSettings.eval_every
    methods: tuple[str, ...] = tuple(METHODS)
    threads: int = 1  # torch CPU threads; these small tensors run fastest on one


    def __post_init__(self) -> None:
        check_system(self)
        self.check(self.seeds >= 1, f"seeds must be >= 1, got {self.seeds}")
        self.check(self.layers >= 1, f"layers must be >= 1, got {self.layers}")
        self.check(self.epochs >= 1 and self.supervised_steps >= 1, "epochs and steps must be >= 1")
        self.check(self.supervised_batch >= 0, "supervised_batch must be >= 0 (0 = full)")
        self.check(self.eval_every >= 1, f"eval_every must be >= 1, got {self.eval_every}")
        self.check(self.inner_steps >= 1, f"inner_steps must be >= 1, got {self.inner_steps}")
        self.check(self.lr > 0 and self.supervised_lr > 0, "learning rates must be > 0")
        self.check(self.alpha > 0, f"alpha must be > 0, got {self.alpha}")
        self.check(0 < self.test_fraction < 1, "test_fraction must be in (0, 1)")
        self.check(self.noise >= 0 and self.twin_mismatch >= 0, "noise levels must be >= 0")
        bad = [m for m in self.methods if m not in METHODS]
        self.check(not bad, f"unknown methods {bad}; choose from {list(METHODS)}")
        self.check(bool(self.methods), "methods must not be empty")
        self.check(self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        if self.system == "measured-acoustic":
            self.check(self.width == 20, "the measured acoustic layer needs width=20")
            self.check(
                Path(self.data_dir, "acoustic_inputs.csv").is_file(),
                f"data_dir={self.data_dir!r} has no acoustic_inputs.csv; point it at the "
                "folder with the measured pairs (../shared/data/phyll)",
            )
