"""Event-engine experiments' figures: Brian2's twin drawn beside ours (cuba, stdp-song2000),
weight histograms that do not hide each other, legends and units on every panel."""

import json

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from neuromorph.cli import main
from neuromorph.experiments import cuba, stdp_song2000
from neuromorph.sim import StateMonitor


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _song_run(cfg: stdp_song2000.Config):
    net, proj, post = stdp_song2000.build(cfg)
    wmon = net.add(StateMonitor(proj, "w", record=[0, 1], every=100, name="w_trace"))
    w0 = proj.weights.double().numpy().copy()
    net.run(cfg.duration)
    ours = stdp_song2000.Trajectory(proj.weights.double().numpy(), post.t)
    return w0, ours, wmon


def test_song2000_histograms_are_see_through_steps_on_shared_bins():
    cfg = stdp_song2000.Config(n_inputs=200, duration=1.0, d_a_pre=0.05, seed=1)
    w0, ours, wmon = _song_run(cfg)
    fig = stdp_song2000.weights_figure(cfg, w0, ours, wmon.t, wmon.w)
    hist = fig.axes[1]
    filled = [p for p in hist.patches if p.get_fill()]
    outlines = [p for p in hist.patches if not p.get_fill()]
    assert len(filled) == len(outlines) == 2
    assert all(to_rgba(p.get_facecolor())[3] < 0.5 for p in filled)  # never opaque
    top = outlines[1].get_xy()[1:-1:2, 1][:20]
    np.testing.assert_array_equal(top, np.histogram(ours.w / cfg.g_max, 20, (0, 1))[0])
    assert hist.get_xlabel() == "weight (g_max)"
    assert _legend(hist) == ["initial (n=200)", "final, neuromorph (1 s) (n=200)"]
    assert _legend(fig.axes[2]) == ["synapse 0", "synapse 1"]
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "final w / g_max", "count", "w / g_max", "post rate (Hz, 1 s bins)"]


def test_cuba_figures_label_populations_traces_and_units():
    cfg = cuba.Config(n_neurons=200, p_connect=0.2, duration=0.2, seed=3)
    net, _, spikes, trace = cuba.build(cfg)
    net.run(cfg.duration)
    ours = cuba.Spikes(spikes.i, spikes.t)
    fig = cuba.raster_figure(cfg, ours, trace.t, trace.v)
    raster, rate, v = fig.axes
    assert _legend(raster) == ["excitatory", "inhibitory"]
    assert sum(len(c.get_offsets()) for c in raster.collections) == spikes.i.size
    assert _legend(v) == ["neuron 0", "neuron 1", "neuron 2", "threshold"]
    assert (rate.get_ylabel(), v.get_ylabel(), v.get_xlabel()) == (
        "population\nrate (Hz)", "v (mV)", "time (ms)")
    hist = cuba.rates_figure(cfg, ours).axes
    assert hist[0].get_xlabel() == "firing rate (Hz)" and hist[1].get_ylabel() == "neurons"


def test_cuba_draws_brian2s_twin_beside_ours(tmp_path, capsys):
    pytest.importorskip("brian2")
    out = tmp_path / "cuba"
    argv = ["run", "cuba", "--quiet", "--seed", "3", "--out", str(out), "--set", "n_neurons=400",
            "--set", "p_connect=0.2", "--set", "duration=0.3", "--set", "dtype=float64"]
    assert main(argv) == 0
    m = json.loads((out / "metrics.json").read_text())
    # float64, same synapses and v(0): Brian2 gives our spikes (tests/sim/test_brian2_validation)
    assert m["brian2_mean_rate_hz"] == pytest.approx(m["mean_rate_hz"], rel=1e-6)
    assert m["brian2_isi_cv_mean"] == pytest.approx(m["isi_cv_mean"], rel=1e-6)
    assert "Brian2 twin (same synapses and v(0)" in capsys.readouterr().out
    assert (out / "raster.png").is_file() and (out / "rates_isi_cv.png").is_file()


def test_song2000_brian2_reference_in_the_figure_and_metrics(tmp_path):
    pytest.importorskip("brian2")
    out = tmp_path / "song"
    argv = ["run", "stdp-song2000", "--quiet", "--out", str(out), "--set", "n_inputs=100",
            "--set", "duration=1.0", "--set", "d_a_pre=0.05", "--set", "brian2_reference=true"]
    assert main(argv) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["ks_vs_brian2"] == pytest.approx(0.0, abs=0.02)  # same input spikes, float64
    assert m["brian2_frac_near_zero"] == pytest.approx(m["frac_near_zero"], abs=0.02)
    assert m["brian2_post_rate_hz"] == pytest.approx(m["post_rate_hz"], rel=0.02)


def test_song2000_figure_with_a_reference_has_three_histograms_and_legends():
    cfg = stdp_song2000.Config(n_inputs=100, duration=1.0, d_a_pre=0.05, seed=2)
    w0, ours, wmon = _song_run(cfg)
    theirs = stdp_song2000.Trajectory(ours.w[::-1].copy(), ours.post_spike_times[::2])
    fig = stdp_song2000.weights_figure(cfg, w0, ours, wmon.t, wmon.w, theirs)
    assert _legend(fig.axes[0]) == ["neuromorph", "Brian2"]
    assert _legend(fig.axes[1])[2] == "final, Brian2 (1 s) (n=100)"
    assert _legend(fig.axes[3]) == ["neuromorph", "Brian2"]
    rates = [p for p in fig.axes[3].patches]  # stairs: one per simulator
    np.testing.assert_allclose(rates[1].get_data().values, [ours.post_spike_times[::2].size])


def test_stdp_window_measured_rings_show_the_analytic_line_and_units(tmp_path, monkeypatch):
    from neuromorph.experiments.rundir import RunDir

    figs = {}
    monkeypatch.setattr(RunDir, "save_figure", lambda self, fig, name: figs.setdefault(name, fig))
    argv = ["run", "stdp-window", "--quiet", "--out", str(tmp_path / "w"),
            "--set", "sweep_frequencies=1,20", "--set", "lag_step=10e-3"]
    assert main(argv) == 0
    for ax in figs["window"].axes:
        analytic, _, measured = ax.lines[:3]
        assert ax.get_ylabel() == "weight change per pairing (w_max)"
        assert measured.get_markerfacecolor() == "none"
        assert analytic.get_zorder() > measured.get_zorder()
    assert figs["frequency_dependence"].axes[0].get_ylabel().endswith("pairings (w_max)")
