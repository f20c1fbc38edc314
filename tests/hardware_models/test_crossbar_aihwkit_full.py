"""Our PCM model against the full IBM aihwkit's PCMLikeNoiseModel (skipped unless installed).

aihwkit ships as a C++ sdist; build it as docs/analog.md says. Same targets, same times: the
mean and the spread of the read conductance agree within 2 % (measured: 0.34 % at worst). On
the same trained digits MLP, the network accuracy agrees within 0.3 points at every time
(benchmarks/compare_aihwkit_accuracy.py).
"""

import pytest
import torch

pytest.importorskip("aihwkit.inference.noise.pcm")

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (tests/conftest.py)

from benchmarks.compare_aihwkit_pcm import TIMES, ours, theirs  # noqa: E402


@pytest.mark.parametrize("g_us", [2.5, 12.5, 25.0])
def test_pcm_moments_match_aihwkit_at_every_time(g_us: float) -> None:
    for t in TIMES.values():
        a, b = ours(g_us, t, 5000, 0), theirs(g_us, t, 5000, 0)
        assert abs(float(a.mean() / b.mean()) - 1) < 0.02, (g_us, t)
        assert abs(float(a.std() / b.std()) - 1) < 0.02, (g_us, t)


def test_noise_free_network_equals_aihwkit_configured_as_ours() -> None:
    """Before programming, the converted MLP is the same function on both simulators."""
    from torch import nn

    from benchmarks.compare_aihwkit_accuracy import peer_model
    from neuromorph.experiments.analog_drift import Config
    from neuromorph.hardware_models.crossbar import to_analog

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    cfg = Config()
    ours = to_analog(net, cfg.tile()).eval()
    ranges = [1.0, 2.5]
    for layer, r in zip([ours[0], ours[2]], ranges, strict=True):
        layer.input_range.data.fill_(r)
    peer = peer_model(net, ranges, cfg, compensate=True)
    x = torch.rand(256, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = ours(x), peer(x)
    assert (a - b).abs().max() < 1e-5 * a.abs().max()  # float32; the same rounding
    assert a.unique().numel() > 100  # a real spread of ADC codes, not a clipped constant


@pytest.mark.slow
def test_network_accuracy_within_0_3_points_of_aihwkit() -> None:
    """The issue's bar: the digits MLP on PCM, 3 seeds x 50 programmings, every t."""
    from benchmarks.compare_aihwkit_accuracy import BAR_POINTS, compare

    rows = compare(seeds=3, programmings=50)
    assert len(rows) == 10
    for key, row in rows.items():
        assert abs(row["diff"]) <= BAR_POINTS, (key, row)
    assert rows["10y"]["aihwkit"] < rows["1s"]["aihwkit"] - 1.0  # drift is really simulated
