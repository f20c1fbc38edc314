"""Fitting a PCM-like model from a CSV of reads over time; energy per inference by hand."""

import csv

import numpy as np
import pytest
import torch
from torch import nn

from neuromorph.hardware_models.crossbar import PCM, EnergyConstants, PCMParams, TileConfig
from neuromorph.hardware_models.crossbar.convert import program_model, to_analog
from neuromorph.hardware_models.crossbar.device import Programmed
from neuromorph.hardware_models.crossbar.energy import inference_cost
from neuromorph.hardware_models.crossbar.fit import fit_pcm_like
from neuromorph.hardware_models.crossbar.pcm import drift_moments, programming_sigma

TRUE = PCMParams(prog_coeff=(0.4, 2.5, -1.5), drift_mu=(-0.02, 0.03, 0.04, 0.12),
                 drift_sigma=(-0.01, 0.0, 0.006, 0.04), read_q=0.006)
TIMES = [0.0, 60.0, 600.0, 3600.0, 86400.0, 1e6]


def write_measurements(path, n=12_000):
    """Reads of ``n`` devices (10 target levels) from a PCM with known, non-default params."""
    pcm = PCM(TRUE)
    target = torch.linspace(0.1, 1.0, 10, dtype=torch.float64).repeat_interleave(n // 10) * 25e-6
    state = pcm.program(target, torch.Generator().manual_seed(0))
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["device", "g_target", "t", "g"])
        for k, t in enumerate(TIMES):
            g = pcm.read(state, t, torch.Generator().manual_seed(10 + k)).numpy()
            w.writerows(zip(range(n), target.numpy(), [t] * n, g, strict=True))


def test_fit_recovers_the_generating_parameters(tmp_path):
    path = tmp_path / "reads.csv"
    write_measurements(path)
    fit = fit_pcm_like(path)
    x = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64) * 25e-6
    assert torch.allclose(programming_sigma(x, fit), programming_sigma(x, TRUE), rtol=0.05)
    mu_fit, sd_fit = drift_moments(x, fit)
    mu_true, sd_true = drift_moments(x, TRUE)
    assert torch.allclose(mu_fit, mu_true, atol=0.005)
    assert torch.allclose(sd_fit, sd_true, atol=0.004)
    assert fit.read_q == pytest.approx(TRUE.read_q, rel=0.15)
    default = PCMParams()  # the fit must move away from the published defaults
    assert abs(programming_sigma(x, default) - programming_sigma(x, fit)).max() > 1e-7


def test_fit_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("device,g_target,time,g\n0,1e-5,1,1e-5\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['t'\]"):
        fit_pcm_like(bad)
    two = {"device": np.array([0, 0.0]), "g_target": np.array([1e-5, 1e-5]),
           "t": np.array([1.0, 2.0]), "g": np.array([1e-5, 1e-5])}
    with pytest.raises(ValueError, match=">= 3 times"):
        fit_pcm_like(two)


class Perfect:
    """Writes exactly the target and reads it back unchanged (for a hand-checkable energy)."""

    name, g_max = "perfect", 25e-6

    def program(self, g_target, generator):
        return Programmed(g_target, g_target.clone())

    def read(self, state, t, generator):
        return state.g_prog


def hand_layer(dac_bits: int) -> nn.Module:
    """A 4 -> 2 layer written exactly: sum_j (G+ + G-)_ij / 25 uS = 1.5, 1.0, 1.0, 0.25."""
    lin = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -0.5, 0.0, 0.25], [0.5, 0.5, -1.0, 0.0]]))
    model = to_analog(nn.Sequential(lin), TileConfig(dac_bits=dac_bits, adc_bits=8,
                                                     input_range=1.0))
    program_model(model, Perfect(), seed=0)
    return model


def test_energy_per_inference_by_hand():
    model = hand_layer(dac_bits=4)
    x = torch.tensor([[1.0, 0.5, 0.0, -1.0]])
    k = EnergyConstants()
    cost = inference_cost(model, x, k)
    # DAC codes |x| * 7 -> 7, 4 (3.5 rounds to even), 0, 7: on-bits 3, 1, 0, 3 over 4 planes
    # sum_j (G+ + G-)_ij = |w| summed over outputs * 25 uS: 1.5, 1.0, 1.0, 0.25
    ones_weighted = (3 * 1.5 + 1 * 1.0 + 0 * 1.0 + 3 * 0.25) * 25e-6
    assert cost.array == pytest.approx(100e-9 * 0.2**2 * ones_weighted, rel=1e-9)
    assert cost.dac == pytest.approx(4 * 4 * 4e-3 / 1024 * 100e-9, rel=1e-12)
    assert cost.adc == pytest.approx(4 * 2 * 2e-3 / 1.28e9, rel=1e-12)
    assert cost.digital == pytest.approx(4 * 2 * (10e-6 / 1024 * 100e-9 + 0.05e-3 / 1.28e9))
    assert cost.latency == pytest.approx(4 * 100e-9)
    assert cost.energy == pytest.approx(cost.dac + cost.array + cost.adc + cost.digital)


def test_spiking_energy_counts_reads_from_the_spikes_by_hand():
    model = hand_layer(dac_bits=8)
    # one inference of 3 time steps: spikes on rows {0, 3}, then silence, then row {1}
    spikes = torch.tensor([[[1.0, 0, 0, 1]], [[0.0, 0, 0, 0]], [[0.0, 1, 0, 0]]])  # [T, B, n]
    k = EnergyConstants()
    cost = inference_cost(model, spikes, k, samples=1, spiking=True)
    # sum_j (G+ + G-)_ij per row (uS / 25): 1.5, 1.0, 1.0, 0.25; 3 pulses; 2 reads (the silent
    # step is skipped), each converting 2 columns
    assert cost.array == pytest.approx(100e-9 * 0.2**2 * (1.5 + 0.25 + 1.0) * 25e-6, rel=1e-9)
    assert cost.dac == pytest.approx(3 * 4e-3 / 1024 * 100e-9, rel=1e-12)
    assert cost.adc == pytest.approx(2 * 2 * 2e-3 / 1.28e9, rel=1e-12)
    assert cost.digital == pytest.approx(2 * 2 * (10e-6 / 1024 * 100e-9 + 0.05e-3 / 1.28e9))
    assert cost.latency == pytest.approx(3 * 100e-9)  # one read slot per step
    with pytest.raises(ValueError, match="spiking=True needs inputs of 0 or 1"):
        inference_cost(model, spikes * 0.5, k, samples=1, spiking=True)
