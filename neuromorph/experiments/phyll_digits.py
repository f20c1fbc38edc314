"""phyll-digits: scikit-learn digits through an optical scattering layer, trained with PhyLL.

Pixels in [0, 1] plus 10 label slots drive the SLM (74 channels); the camera reads 74
intensities. Reports PhyLL beside the same network with the physics switched off, linear
readouts, backprop in silico and PAT, so whether the optics helps is measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuromorph.data.digits import sklearn_digits
from neuromorph.data.vowels import Split, split_data
from neuromorph.experiments.phyll_config import PhyLLConfig, check_system
from neuromorph.experiments.phyll_runner import run_methods_over_seeds

SUMMARY = "sklearn digits through an optical scattering layer: PhyLL, physics on vs off"


@dataclass
class Config(PhyLLConfig):
    system: str = "optical"
    width: int = 74  # 10 label slots + 64 pixels
    seeds: int = 3
    epochs: int = 100
    lr: float = 2e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_system(self, min_width=74)  # 10 label slots + 64 pixels


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    data = sklearn_digits()

    def split_for(seed: int) -> Split:
        return split_data(data, cfg.test_fraction, seed)

    return run_methods_over_seeds(
        name="phyll-digits",
        cfg=cfg,
        out_dir=out_dir,
        classes=data.classes,
        split_for=split_for,
        title=f"digits through {cfg.system}",
        progress=progress,
    )
