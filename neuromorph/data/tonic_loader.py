"""N-MNIST and SHD through the optional ``tonic`` package, from a user path; never downloads.

``tonic`` is not a neuromorph dependency: install it yourself (``pip install tonic``) and fetch
the data set files with it or by hand. :func:`load_tonic` builds tonic's data set over ``root``
with downloading switched off: if the files are missing it raises :class:`FileNotFoundError`
saying where tonic looked. :class:`TonicRaster` wraps such a data set to yield dense time-major
rasters; :func:`events_to_raster` (no tonic needed) bins one event array:

    channel = p * (H * W) + y * W + x,   step = floor(t / t_max * T)   (events with t >= t_max drop)

with tonic's ``sensor_size = (W, H, P)`` and event fields ``x``, ``y``, ``p`` (absent fields
count as 0) and ``t`` in tonic's unit (microseconds). A sensor with one polarity (``P = 1``)
ignores ``p``: tonic's SHD marks every event ``p = 1`` on its ``(700, 1, 1)`` sensor.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "TONIC_DATASETS",
    "TonicRaster",
    "collate_time_major",
    "events_to_raster",
    "load_tonic",
    "require_tonic",
]


@dataclass(frozen=True)
class TonicSpec:
    """How neuromorph opens one tonic data set: its class name and default time window (us)."""

    class_name: str
    t_max_us: float
    description: str


TONIC_DATASETS: dict[str, TonicSpec] = {
    "nmnist": TonicSpec("NMNIST", 3.0e5, "N-MNIST, 34x34x2 DVS events of MNIST saccades"),
    "shd": TonicSpec("SHD", 1.0e6, "Spiking Heidelberg Digits, 700 cochlea channels"),
}


def require_tonic() -> ModuleType:
    """Import ``tonic`` or raise an ImportError telling how to install it."""
    try:
        return importlib.import_module("tonic")
    except ImportError as exc:
        raise ImportError(
            "the N-MNIST / SHD loaders need the optional package 'tonic', which is not installed; "
            "install it with `pip install tonic` (neuromorph does not depend on it)"
        ) from exc


def load_tonic(name: str, root: str | Path, train: bool = True, **kwargs: Any) -> Any:
    """Open tonic's data set ``name`` ("nmnist" or "shd") stored under ``root``; no download.

    Extra keyword arguments go to the tonic class (e.g. ``first_saccade_only=True``,
    ``transform=...``). Missing files raise :class:`FileNotFoundError`.
    """
    if name not in TONIC_DATASETS:
        raise ValueError(f"unknown tonic data set {name!r}; choose one of {sorted(TONIC_DATASETS)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist; create it and put the "
                                f"{TONIC_DATASETS[name].description} files there")
    tonic = require_tonic()
    base = getattr(tonic.datasets, TONIC_DATASETS[name].class_name)

    def refuse_download(self: Any) -> None:
        where = getattr(self, "location_on_system", root)
        raise FileNotFoundError(
            f"{base.__name__} files not found under {where}; neuromorph never downloads. "
            f"Fetch them yourself (e.g. tonic.datasets.{base.__name__}(save_to='{root}') in a "
            "session where downloading is fine) and pass that folder"
        )

    # Same class name as tonic's, so tonic resolves the same sub-folder of ``root``.
    no_download = type(base.__name__, (base,), {"download": refuse_download})
    return no_download(save_to=str(root), train=train, **kwargs)


def events_to_raster(
    events: np.ndarray,
    sensor_size: tuple[int, ...],
    n_steps: int,
    t_max: float,
    *,
    binary: bool = True,
) -> Tensor:
    """Bin a structured event array into a time-major raster ``[n_steps, P * H * W]`` (float32).

    ``binary=True`` caps each bin at one spike; otherwise bins hold event counts.
    """
    if events.dtype.names is None or "t" not in events.dtype.names:
        raise ValueError("events must be a structured numpy array with a 't' field (tonic format)")
    if n_steps < 1 or t_max <= 0:
        raise ValueError(f"need n_steps >= 1 and t_max > 0, got {n_steps} and {t_max}")
    size = tuple(sensor_size) + (1,) * (3 - len(sensor_size))
    W, H, P = (int(s) for s in size[:3])
    names = events.dtype.names

    def field(f: str) -> np.ndarray:
        return events[f].astype(np.int64) if f in names else np.zeros(len(events), np.int64)

    x, y = field("x"), field("y")
    p = field("p") if P > 1 else np.zeros(len(events), np.int64)
    t = events["t"].astype(np.float64)
    keep = (t >= 0) & (t < t_max)
    if ((x[keep] >= W) | (y[keep] >= H) | (p[keep] >= P) | (x[keep] < 0)).any():
        raise ValueError(f"event coordinates exceed sensor_size {sensor_size} (W, H, P)")
    step = np.floor(t[keep] / t_max * n_steps).astype(np.int64)
    channel = p[keep] * (H * W) + y[keep] * W + x[keep]
    raster = torch.zeros(n_steps * P * H * W, dtype=torch.float32)
    raster.index_add_(
        0, torch.as_tensor(step * (P * H * W) + channel), torch.ones(int(keep.sum()))
    )
    raster = raster.view(n_steps, P * H * W)
    return raster.clamp_(max=1.0) if binary else raster


class TonicRaster(torch.utils.data.Dataset):
    """Wrap an event data set (items ``(events, label)``) to yield ``([T, n], label)`` rasters."""

    def __init__(
        self,
        dataset: Any,
        n_steps: int,
        t_max: float,
        sensor_size: tuple[int, ...] | None = None,
        binary: bool = True,
    ) -> None:
        self.dataset = dataset
        self.n_steps = n_steps
        self.t_max = t_max
        self.binary = binary
        self.sensor_size = tuple(sensor_size or dataset.sensor_size)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        events, label = self.dataset[index]
        raster = events_to_raster(
            events, self.sensor_size, self.n_steps, self.t_max, binary=self.binary
        )
        return raster, int(label)


def collate_time_major(batch: list[tuple[Tensor, int]]) -> tuple[Tensor, Tensor]:
    """Stack ``[(raster [T, n], label), ...]`` into ``([T, B, n], labels [B])`` for a DataLoader."""
    rasters = torch.stack([r for r, _ in batch], dim=1)
    labels = torch.as_tensor([label for _, label in batch], dtype=torch.int64)
    return rasters, labels
