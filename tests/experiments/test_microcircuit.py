"""The Potjans & Diesmann microcircuit: parameters, scaling recipe, and a tiny end-to-end run."""

import json

import numpy as np
import pytest
import torch

from neuromorph.cli import main
from neuromorph.experiments.microcircuit_params import (
    BG_RATE,
    FULL_MEAN_RATES,
    K_EXT,
    N_FULL,
    PSP_E,
    TAU_SYN,
    full_synapse_numbers,
    psc_per_psp,
    scaled,
)
from neuromorph.sim import LIFGroup, Network, StateMonitor
from neuromorph.sim.poisson_input import PoissonInput


def test_psc_gives_the_published_psp_peak():
    """87.8 pA gives a 0.15 mV PSP: check by integrating the LIF membrane numerically."""
    j = psc_per_psp() * PSP_E
    assert j == pytest.approx(87.81e-12, rel=1e-3)
    t = np.arange(0, 0.05, 1e-7)
    tau_m, c_m = 10e-3, 250e-12
    v = j * tau_m * TAU_SYN / (c_m * (TAU_SYN - tau_m)) * (np.exp(-t / TAU_SYN) -
                                                          np.exp(-t / tau_m))
    assert v.max() == pytest.approx(PSP_E, rel=1e-6)


def test_full_scale_sizes_match_the_paper():
    assert N_FULL.sum() == 77169
    total = full_synapse_numbers().sum()
    assert 2.9e8 < total < 3.1e8  # "~0.3 billion synapses"


def test_down_scaling_preserves_the_mean_input():
    """Mean current of the full model == scaled recurrent + external + DC (NEST's recipe)."""
    full_indeg = full_synapse_numbers() / N_FULL[:, None]
    full = scaled(1.0, 1.0, poisson=True)
    mean_full = TAU_SYN * ((full.psc * full_indeg * FULL_MEAN_RATES).sum(1) +
                           full.psc_ext * K_EXT * BG_RATE)
    for k, poisson in ((0.1, True), (0.1, False), (0.5, True)):
        sc = scaled(0.1, k, poisson)
        indeg = sc.n_syn / sc.n[:, None]
        ext = sc.psc_ext * sc.k_ext * BG_RATE if poisson else 0.0
        mean = TAU_SYN * ((sc.psc * indeg * FULL_MEAN_RATES).sum(1) + ext) + sc.dc
        np.testing.assert_allclose(mean, mean_full, rtol=0.02)


def test_poisson_input_adds_binomial_counts():
    net = Network(dt=1e-4, dtype=torch.float64, seed=1)
    g = net.add(LIFGroup(500, tau_m=1e-2, v_rest=0.0, v_threshold=1e9, v_reset=0.0,
                         channels={"x": 1e-9}))  # x decays to ~0 within a step
    net.add(PoissonInput(g, "x", 300, 80.0, 2.0))
    mon = net.add(StateMonitor(g, "x"))
    net.run(0.2)
    counts = mon["x"][1:] / 2.0
    p = 80.0 * 1e-4
    assert counts.mean() == pytest.approx(300 * p, rel=0.02)
    assert counts.var() == pytest.approx(300 * p * (1 - p), rel=0.05)
    assert np.allclose(counts, np.round(counts))


def test_microcircuit_runs_end_to_end(tmp_path):
    out = tmp_path / "mc"
    argv = ["run", "microcircuit", "--quiet", "--seed", "1", "--out", str(out),
            "--set", "scale=0.02", "--set", "duration=0.2", "--set", "transient=0.1"]
    assert main(argv) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_neurons"] == pytest.approx(0.02 * 77169, abs=8)
    for pop in ("L23E", "L4E", "L5E", "L6I"):
        assert 0.0 <= m[f"rate_{pop}_hz"] < 40.0
        assert f"cv_{pop}" in m
    assert m["rate_L5E_hz"] > m["rate_L23E_hz"]  # the published ordering: L2/3E is the quietest
    for name in ("raster.png", "rates.png", "spikes.npz"):
        assert (out / name).is_file(), name


def test_bad_scale_is_a_clear_error(capsys, tmp_path):
    assert main(["run", "microcircuit", "--set", "scale=2", "--out", str(tmp_path / "a")]) == 2
    assert "scale must be in (0, 1]" in capsys.readouterr().err


def test_a_microcircuit_too_large_for_the_machine_is_refused_in_one_line(capsys, tmp_path,
                                                                        monkeypatch):
    from neuromorph.experiments import microcircuit

    monkeypatch.setattr(microcircuit, "available_memory", lambda: 4 * 2**30)
    out = tmp_path / "full"
    assert main(["run", "microcircuit", "--set", "scale=1.0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "298.9 M synapses) needs about 11.1 GiB" in err and "4.0 GiB available" in err
    assert "--set scale=0.1" in err
    assert not (out / "metrics.json").exists()
    small = microcircuit.Config(scale=0.1)
    microcircuit.check_memory(small, 4 * 2**30)  # 3.0 M synapses: fits
    microcircuit.check_memory(microcircuit.Config(scale=1.0), None)  # unknown: not refused


def test_synapses_come_in_the_stable_csr_order_of_the_draws():
    """The same random stream drawn block by block in NEST's order (target population outer)
    and sorted with numpy's stable lexsort: identical pairs, weights and delays."""
    from neuromorph.experiments.microcircuit import synapses
    from neuromorph.experiments.microcircuit_params import DELAY_REL_SD, PSP_REL_SD

    sc = scaled(0.02, 0.05, poisson=True)
    dt = 1e-4
    got = synapses(sc, dt, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    off = np.concatenate([[0], np.cumsum(sc.n)])
    parts = []
    for i in range(8):
        for j in range(8):
            k = int(sc.n_syn[i, j])
            if k <= 0:
                continue
            pre, post = off[j] + rng.integers(0, sc.n[j], k), off[i] + rng.integers(0, sc.n[i], k)
            mean, d_mean = sc.psc[i, j], sc.delay_mean[j]
            w = rng.normal(mean, abs(mean) * PSP_REL_SD, k)
            while (bad := (w < 0) if mean > 0 else (w > 0)).any():
                w[bad] = rng.normal(mean, abs(mean) * PSP_REL_SD, int(bad.sum()))
            d = rng.normal(d_mean, d_mean * DELAY_REL_SD, k)
            while (bad := d < dt).any():
                d[bad] = rng.normal(d_mean, d_mean * DELAY_REL_SD, int(bad.sum()))
            parts.append((pre, post, w, d))
    want = [np.concatenate(p) for p in zip(*parts, strict=True)]
    order = np.lexsort((want[1], want[0]))
    assert got[0].dtype == got[1].dtype == np.int32 and got[0].size == order.size
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w[order])


def test_hand_over_gives_its_array_once_and_lets_it_go():
    from neuromorph.experiments.microcircuit import HandOver

    values = torch.arange(3.0)
    once = HandOver(values)
    assert once(3, None) is values and once.values is None  # no reference kept
    with pytest.raises(RuntimeError, match="given once"):
        once(3, None)
