"""IDX reader/writer and the MNIST IDX loader, on small files written in the test."""

import gzip
import struct

import numpy as np
import pytest
import torch

from neuromorph.data.idx import load_mnist_idx, read_idx, write_idx


def test_read_hand_written_bytes(tmp_path):
    # 2 x 3 int16 array, big-endian, written byte by byte from the IDX spec
    values = [[1, -2, 300], [4, 5, -32768]]
    raw = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 2, 3)
    raw += struct.pack(">6h", 1, -2, 300, 4, 5, -32768)
    (tmp_path / "a.idx").write_bytes(raw)
    arr = read_idx(tmp_path / "a.idx")
    assert arr.dtype == np.int16 and arr.tolist() == values


CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
         np.float64: 0x0E}


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    arr = (np.arange(24).reshape(2, 3, 4) * 3 - (0 if dtype == np.uint8 else 20)).astype(dtype)
    path = write_idx(tmp_path / f"x.idx{suffix}", arr)
    opener = gzip.open if suffix else open
    with opener(path, "rb") as f:
        head = f.read(16)
    assert head[:4] == bytes([0, 0, CODES[dtype], 3])
    assert struct.unpack(">3I", head[4:16]) == (2, 3, 4)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and np.array_equal(out, arr)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "bad")
    (tmp_path / "trunc").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x00" * 3)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "trunc")
    (tmp_path / "code").write_bytes(bytes([0, 0, 0x42, 1]) + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="type code"):
        read_idx(tmp_path / "code")


def test_load_mnist_idx_from_a_user_folder(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", images)
    write_idx(raw / "t10k-labels-idx1-ubyte", labels)
    x, y = load_mnist_idx(tmp_path, train=False)
    assert x.shape == (5, 28, 28) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.as_tensor(images / 255.0, dtype=torch.float32))
    assert y.tolist() == [3, 1, 4, 1, 5] and y.dtype == torch.int64
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist_idx(tmp_path, train=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist_idx(tmp_path / "nowhere")
