"""phyll-vowels: vowel formants through a physical layer, trained with PhyLL and baselines.

Default: Peterson & Barney (1952), 10 vowels, F0-F3 (embedded in praat-parselmouth), through
the synthetic acoustic cavity. The paper's setting: ``dataset=<hillenbrand CSV>`` and
``system=measured-acoustic`` (the real acoustic layer fitted from its 10 000 measured pairs).
Prints test accuracy (mean +- std over seeds) for PhyLL and every baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuromorph.data.vowels import (
    peterson_barney,
    split_data,
    standardize_nonnegative,
    vowel_csv,
)
from neuromorph.experiments.phyll_config import PhyLLConfig
from neuromorph.experiments.phyll_runner import run_methods_over_seeds

SUMMARY = "vowel formants through an acoustic physical layer: PhyLL vs PAT, backprop, no-physics"


@dataclass
class Config(PhyLLConfig):
    dataset: str = "peterson-barney"  # or a CSV in the Hillenbrand layout (speaker,vowel,...)
    log_features: bool = False  # log-transform formants before standardising
    seeds: int = 3
    epochs: int = 60
    inner_steps: int = 20
    lr: float = 2e-3
    supervised_steps: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check(
            self.dataset == "peterson-barney" or Path(self.dataset).is_file(),
            f"dataset must be 'peterson-barney' or an existing CSV path, got {self.dataset!r}",
        )


def load_dataset(cfg: Config):
    return peterson_barney() if cfg.dataset == "peterson-barney" else vowel_csv(cfg.dataset)


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    data = load_dataset(cfg)

    def split_for(seed: int):
        split = split_data(data, cfg.test_fraction, seed)
        return standardize_nonnegative(split, log=cfg.log_features)

    return run_methods_over_seeds(
        name="phyll-vowels",
        cfg=cfg,
        out_dir=out_dir,
        classes=data.classes,
        split_for=split_for,
        title=f"{Path(cfg.dataset).stem} through {cfg.system}",
        progress=progress,
    )

