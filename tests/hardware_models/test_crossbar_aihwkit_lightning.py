"""Peer validation against aihwkit-lightning (IBM), run in the same test.

Our noise-free tile (DAC, per-tile weight scaling, ADC, tiling along the inputs) must equal
``aihwkit_lightning.nn.AnalogLinear`` on the same weights and inputs, and its weight-noise
injection and output noise + ADC must match ours in distribution (two-sample KS tests).
Skipped when aihwkit-lightning is not installed (``pip install aihwkit-lightning==2.1.0``).
"""

import math

import pytest
import torch
from scipy import stats

lightning = pytest.importorskip("aihwkit_lightning")

from aihwkit_lightning.nn import AnalogLinear as PeerLinear  # noqa: E402
from aihwkit_lightning.simulator.configs import (  # noqa: E402
    TorchInferenceRPUConfig,
    WeightNoiseInjectionType,
)

from neuromorph.hardware_models.crossbar import AnalogLinear, TileConfig  # noqa: E402


def peer_config(max_in: int, ir: float, inp_res: float, out_res: float, out_bound: float,
                weight_noise: float = 0.0, out_noise: float = 0.0) -> TorchInferenceRPUConfig:
    cfg = TorchInferenceRPUConfig()
    cfg.mapping.max_input_size = max_in
    cfg.pre_post.input_range.enable = True
    cfg.pre_post.input_range.learn_input_range = False
    cfg.pre_post.input_range.init_value = ir
    cfg.pre_post.input_range.init_from_data = 0
    cfg.forward.inp_res = inp_res
    cfg.forward.out_res = out_res
    cfg.forward.out_bound = out_bound
    cfg.forward.out_noise = out_noise
    if weight_noise > 0:
        cfg.modifier.noise_type = WeightNoiseInjectionType.ADD_NORMAL
        cfg.modifier.std_dev = weight_noise
    return cfg


def pair(n_in: int, n_out: int, tile: TileConfig, peer_cfg: TorchInferenceRPUConfig, seed: int):
    torch.manual_seed(seed)
    lin = torch.nn.Linear(n_in, n_out, bias=True).double()
    ours = AnalogLinear.from_linear(lin, tile).double()
    peer = PeerLinear.from_digital(lin, peer_cfg).double()
    return lin, ours, peer


@pytest.mark.parametrize("n_in, max_in", [(40, 40), (100, 32)])
def test_noise_free_tile_equals_aihwkit_lightning_forward(n_in, max_in):
    ir, bound = 1.5, 8.0
    tile = TileConfig(max_inputs=max_in, max_outputs=1024, dac_bits=8, adc_bits=8,
                      adc_bound=bound, input_range=ir)
    _, ours, peer = pair(n_in, 12, tile, peer_config(max_in, ir, 2**8 - 2, 2**8 - 2, bound), 0)
    ours.eval()
    peer.eval()
    x = torch.randn(64, n_in, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y_ours, y_peer = ours(x), peer(x)
    assert (y_ours - y_peer).abs().max() < 1e-12  # float64, the same rounding everywhere
    assert y_ours.unique().numel() > 100  # a real spread of ADC codes, not a clipped constant


def test_weight_noise_injection_matches_in_distribution():
    n_in, n_out, sigma = 24, 16, 0.07
    tile = TileConfig(max_inputs=1024, dac_bits=0, adc_bits=0, adc_bound=1e9, input_range=1.0,
                      weight_noise=sigma)
    lin, ours, peer = pair(n_in, n_out, tile,
                           peer_config(-1, 1.0, -1, -1, 0.0, weight_noise=sigma), 2)
    ours.train()
    peer.train()
    eye = torch.eye(n_in, dtype=torch.float64)  # column i of the applied weights, per row
    w_t = lin.weight.detach().t()
    noise_ours, noise_peer = [], []
    with torch.no_grad():
        for _ in range(40):
            noise_ours.append((ours(eye) - lin.bias - w_t).flatten())
            noise_peer.append((peer(eye) - lin.bias - w_t).flatten())
    a, b = torch.cat(noise_ours).numpy(), torch.cat(noise_peer).numpy()
    wmax = lin.weight.abs().max().item()
    assert stats.ks_2samp(a, b).pvalue > 0.01
    assert a.std() == pytest.approx(sigma * wmax, rel=0.03)
    assert b.std() == pytest.approx(sigma * wmax, rel=0.03)


def test_output_noise_and_adc_match_in_distribution():
    n_in, n_out, max_in, ir, bound, sigma = 64, 8, 32, 1.0, 4.0, 0.05
    tile = TileConfig(max_inputs=max_in, max_outputs=1024, dac_bits=6, adc_bits=6,
                      adc_bound=bound, input_range=ir, output_noise=sigma)
    # the peer divides its output noise by sqrt(number of input tiles); ours is per tile
    peer_cfg = peer_config(max_in, ir, 2**6 - 2, 2**6 - 2, bound,
                           out_noise=sigma * math.sqrt(n_in // max_in))
    _, ours, peer = pair(n_in, n_out, tile, peer_cfg, 3)
    with torch.no_grad():  # equal per-tile weight scales, so the two noise laws coincide
        w = ours.weight.clone()
        w[:, :max_in] *= 0.9 / w[:, :max_in].abs().max()
        w[:, max_in:] *= 0.9 / w[:, max_in:].abs().max()
        ours.weight.copy_(w)
        peer.weight.copy_(w)
    ours.train()
    peer.train()
    x = torch.rand(1, n_in, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        y_ours = torch.cat([ours(x.expand(500, -1)) for _ in range(4)])
        y_peer = torch.cat([peer(x.expand(500, -1)) for _ in range(4)])
    # compare ADC codes: the same level may differ in the last float bit between the two
    codes_ours, codes_peer = (torch.round(y * 1e9).numpy() for y in (y_ours, y_peer))
    for j in range(n_out):
        assert len(set(codes_ours[:, j])) >= 3  # the noise spans several ADC levels
        assert stats.ks_2samp(codes_ours[:, j], codes_peer[:, j]).pvalue > 1e-3, j
