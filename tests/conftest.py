"""Test set-up: Triton runs in interpreter mode when no CUDA device is present."""

import os

# Decide before anything imports triton: without an NVIDIA device, kernels run interpreted.
if not os.path.exists("/dev/nvidia0"):
    os.environ.setdefault("TRITON_INTERPRET", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "phyll"


@pytest.fixture
def phyll_data() -> Path:
    """The PhyLL reference data beside the checkout (../shared/data/phyll); skip if absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} not found")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _fit_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One cache of fitted systems per test session (fits run once, never in ~/.cache)."""
    os.environ["NEUROMORPH_CACHE"] = str(tmp_path_factory.mktemp("neuromorph-cache"))


@pytest.fixture
def one_thread():
    """Tiny tensors: one torch thread (two threads on a loaded 2-core machine are much slower);
    the previous count is restored afterwards. Use with ``pytest.mark.usefixtures``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _autograd_left_on():
    """A test (or the library under it) that leaves autograd switched off fails here, and is
    put right, instead of silently breaking every gradient test that runs after it."""
    import torch

    yield
    if not torch.is_grad_enabled():
        torch.set_grad_enabled(True)
        pytest.fail("autograd was left switched off (a torch.no_grad() entered and never left)")
