"""MNIST-style IDX files from a user path (plain or ``.gz``); nothing is downloaded.

IDX format (LeCun): a 4-byte magic ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the data in row-major order, big-endian. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["IDX_TYPES", "load_mnist_idx", "read_idx", "write_idx"]

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Accepted file names for the MNIST (and Fashion-MNIST) IDX files, in search order.
_MNIST_NAMES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _open(path: Path) -> bytes:
    with path.open("rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return f.read()


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a numpy array of its native shape."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist")
    raw = _open(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4]!r}, expected 00 00 ..)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise ValueError(
            f"{path}: unknown IDX type code 0x{code:02X}; valid: "
            + ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header ({len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_TYPES[code]
    count = int(np.prod(shape)) if ndim else 1
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"{path}: expected {count * dtype.itemsize} data bytes for shape {shape}, "
            f"found {len(raw) - header}; the file is truncated or corrupt"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (a ``.gz`` suffix compresses it); returns the path."""
    path = Path(path)
    arr = np.asarray(array)
    codes = {v.newbyteorder("=").str: k for k, v in IDX_TYPES.items()}
    key = arr.dtype.newbyteorder("=").str
    if key not in codes:
        raise TypeError(f"cannot store dtype {arr.dtype} in IDX; use one of uint8, int8, int16, "
                        "int32, float32, float64")
    code = codes[key]
    payload = (
        bytes([0, 0, code, arr.ndim])
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + arr.astype(IDX_TYPES[code]).tobytes()
    )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(payload)
    return path


def _find(root: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")
    candidates = [stem, stem + ".gz", dotted, dotted + ".gz"]
    for name in candidates:
        for folder in (root, root / "raw", root / "MNIST" / "raw"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(
        f"no {stem}[.gz] under {root} (also looked in raw/ and MNIST/raw/); download the MNIST "
        "IDX files yourself and pass the folder that holds them"
    )


def load_mnist_idx(root: str | Path, train: bool = True) -> tuple[Tensor, Tensor]:
    """Load MNIST from the IDX files in ``root``: images ``[N, 28, 28]`` float32 in [0, 1], labels.

    Looks for ``train-images-idx3-ubyte`` / ``t10k-...`` (optionally ``.gz``, or with ``.idx``
    instead of ``-idx``) in ``root``, ``root/raw`` or ``root/MNIST/raw``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"MNIST folder {root} does not exist")
    img_name, lab_name = _MNIST_NAMES["train" if train else "test"]
    images = read_idx(_find(root, img_name))
    labels = read_idx(_find(root, lab_name))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST images {images.shape} and labels {labels.shape} do not match "
            "(expected [N, H, W] and [N])"
        )
    x = torch.as_tensor(images.astype(np.float32) / 255.0)
    y = torch.as_tensor(labels.astype(np.int64))
    return x, y
