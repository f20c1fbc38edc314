"""Optional tonic loader: binning, no-download guarantee and the missing-package error."""

import builtins
import sys

import numpy as np
import pytest
import torch

from neuromorph.data.tonic_loader import (
    TonicRaster,
    collate_time_major,
    events_to_raster,
    load_tonic,
    require_tonic,
)

DVS = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])


def test_events_to_raster_by_hand():
    # sensor (W=3, H=2, P=2); channel = p*6 + y*3 + x; 4 steps over t_max = 100 us
    ev = np.array([(0, 0, 0, 0), (2, 1, 30, 1), (2, 1, 30, 1), (1, 0, 99, 0), (1, 1, 100, 0)],
                  dtype=DVS)
    r = events_to_raster(ev, (3, 2, 2), n_steps=4, t_max=100.0)
    assert r.shape == (4, 12)
    expected = torch.zeros(4, 12)
    expected[0, 0] = 1  # t=0
    expected[1, 1 * 6 + 1 * 3 + 2] = 1  # t=30 -> step 1, twice but binary
    expected[3, 1] = 1  # t=99 -> step 3; t=100 is outside the window
    assert torch.equal(r, expected)
    counts = events_to_raster(ev, (3, 2, 2), 4, 100.0, binary=False)
    assert counts[1, 11] == 2 and counts.sum() == 4


def test_events_to_raster_audio_layout_and_errors():
    shd = np.dtype([("t", float), ("x", int), ("p", int)])
    ev = np.array([(0.5e6, 699, 0), (0.1e6, 3, 0)], dtype=shd)
    r = events_to_raster(ev, (700, 1, 1), n_steps=10, t_max=1e6)
    assert r.shape == (10, 700) and r[5, 699] == 1 and r[1, 3] == 1 and r.sum() == 2
    with pytest.raises(ValueError, match="exceed sensor_size"):
        events_to_raster(ev, (600, 1, 1), 10, 1e6)
    with pytest.raises(ValueError, match="'t' field"):
        events_to_raster(np.zeros((3, 2)), (700, 1, 1), 10, 1e6)


def test_raster_dataset_and_collate():
    ev = np.array([(0, 0, 5, 0)], dtype=DVS)

    class Fake:
        sensor_size = (2, 2, 1)

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return ev, i

    ds = TonicRaster(Fake(), n_steps=5, t_max=10.0)
    x, y = collate_time_major([ds[i] for i in range(len(ds))])
    assert x.shape == (5, 3, 4) and y.tolist() == [0, 1, 2]
    assert torch.all(x[2, :, 0] == 1) and x.sum() == 3


def test_missing_tonic_gives_install_hint(monkeypatch):
    real_import = builtins.__import__

    def no_tonic(name, *args, **kwargs):
        if name == "tonic" or name.startswith("tonic."):
            raise ImportError("No module named 'tonic'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "tonic", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_tonic)
    monkeypatch.setattr("importlib.import_module", lambda name: no_tonic(name))
    with pytest.raises(ImportError, match="pip install tonic"):
        require_tonic()


def _write_shd(folder, times: list[np.ndarray], units: list[np.ndarray], labels: list[int]):
    """An SHD file in the layout of the published ``shd_train.h5`` (times in s, unit indices),
    plus the archive name tonic checks for before it would download."""
    h5py = pytest.importorskip("h5py")
    folder.mkdir(parents=True)
    (folder / "shd_train.h5.zip").write_bytes(b"")  # tonic only checks that the archive exists
    with h5py.File(folder / "shd_train.h5", "w") as f:
        vlen_f, vlen_u = h5py.vlen_dtype(np.float32), h5py.vlen_dtype(np.uint16)
        f.create_dataset("spikes/times", data=np.array(times, dtype=object), dtype=vlen_f)
        f.create_dataset("spikes/units", data=np.array(units, dtype=object), dtype=vlen_u)
        f.create_dataset("labels", data=np.array(labels, dtype=np.uint8))
        f.create_dataset("extra/keys", data=np.array([b"null", b"eins"]))
        f.create_dataset("extra/speaker", data=np.zeros(len(labels), dtype=np.uint8))


def test_load_tonic_reads_real_tonic_shd_files_and_never_downloads(tmp_path):
    pytest.importorskip("tonic")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_tonic("shd", tmp_path)  # tonic would download here; ours refuses
    assert not (tmp_path / "SHD" / "shd_train.h5.zip").exists()
    times = [np.array([0.05, 0.5, 0.95], np.float32), np.array([0.25], np.float32)]
    units = [np.array([3, 699, 3], np.uint16), np.array([10], np.uint16)]
    _write_shd(tmp_path / "SHD", times, units, [1, 0])
    ds = load_tonic("shd", tmp_path, train=True)
    assert len(ds) == 2 and ds.sensor_size == (700, 1, 1)
    x, y = collate_time_major([TonicRaster(ds, n_steps=10, t_max=1e6)[i] for i in range(2)])
    assert x.shape == (10, 2, 700) and y.tolist() == [1, 0]
    want = torch.zeros(10, 2, 700)
    want[0, 0, 3] = want[5, 0, 699] = want[9, 0, 3] = want[2, 1, 10] = 1  # floor(t / 0.1 s)
    assert torch.equal(x, want)
    with pytest.raises(ValueError, match="choose one of"):
        load_tonic("cifar", tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tonic("shd", tmp_path / "nowhere")


def test_load_tonic_nmnist_refuses_download_of_missing_files(tmp_path):
    pytest.importorskip("tonic")
    (tmp_path / "NMNIST" / "Train").mkdir(parents=True)  # extracted folder, but no files in it
    with pytest.raises(FileNotFoundError, match=r"NMNIST files not found under .*NMNIST"):
        load_tonic("nmnist", tmp_path, train=True)
