"""White noise (Brian2's ``xi``) against theory and a hand-written Brian2 run, statistically."""

from __future__ import annotations

import numpy as np
import pytest
import torch

b2 = pytest.importorskip("brian2")

from scipy.stats import ks_2samp  # noqa: E402

from neuromorph.sim import (  # noqa: E402
    LIFGroup,
    Network,
    SpikeMonitor,
    StateMonitor,
    WhiteNoise,
    fixed_probability,
)
from neuromorph.sim.brian2_bridge import set_target  # noqa: E402
from neuromorph.sim.noise import ou_stationary_variance  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SIGMA, TAU, N = 2e-3, 20e-3, 2000


def ours_free_membrane(dt: float, T: float, seed: int = 0) -> np.ndarray:
    """``dv/dt = -v/tau + sigma xi / sqrt(tau)`` (no threshold reached): v samples [K, N]."""
    net = Network(dt=dt, dtype=torch.float64, seed=seed)
    g = net.add(LIFGroup(N, tau_m=TAU, v_rest=0.0, v_threshold=1.0, v_reset=0.0))
    net.add(WhiteNoise(g, SIGMA, TAU))
    every = int(round(10e-3 / dt))
    mon = net.add(StateMonitor(g, "v", every=every))
    net.run(T)
    return mon["v"][int(round(0.1 / 10e-3)):]  # after 5 tau: stationary


def brian2_free_membrane(dt: float, T: float) -> np.ndarray:
    set_target("numpy")
    b2.seed(11)
    G = b2.NeuronGroup(N, "dv/dt = -v / tau + sigma * sqrt(tau) * xi / tau : volt",
                       method="euler", namespace={"tau": TAU * b2.second,
                                                  "sigma": SIGMA * b2.volt},
                       dt=dt * b2.second)
    M = b2.StateMonitor(G, "v", record=True, dt=10 * b2.ms)
    b2.Network(G, M).run(T * b2.second)
    return np.asarray(M.v_[:]).T[10:]


def test_free_membrane_variance_matches_theory_and_brian2() -> None:
    dt, T = 1e-4, 0.4
    ours, theirs = ours_free_membrane(dt, T), brian2_free_membrane(dt, T)
    theory = ou_stationary_variance(SIGMA, TAU)  # sigma^2 / 2
    var, var_b = ours.var(), theirs.var()
    assert abs(var / theory - 1) < 0.03, f"ours {var:.4g} vs theory {theory:.4g} V^2"
    assert abs(var_b / theory - 1) < 0.03, f"Brian2 {var_b:.4g} vs theory {theory:.4g} V^2"
    assert abs(ours.mean()) < 3 * np.sqrt(theory / ours.size) * 10  # mean 0 (correlated samples)
    # the stationary distributions: same law (independent neurons at the last sample)
    assert ks_2samp(ours[-1], theirs[-1]).pvalue > 1e-3


def test_noise_power_does_not_depend_on_dt() -> None:
    theory = ou_stationary_variance(SIGMA, TAU)
    for dt in (2e-4, 5e-5):
        var = ours_free_membrane(dt, 0.3, seed=1).var()
        assert abs(var / theory - 1) < 0.04, f"dt={dt}: {var:.4g} vs {theory:.4g} V^2"


@pytest.mark.filterwarnings("ignore::neuromorph.units.ImplausibleUnitWarning")  # 1 s on purpose
def test_same_seed_same_noise_and_refractory_neurons_get_none() -> None:
    runs = [ours_free_membrane(1e-4, 0.15, seed=3) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    net = Network(dt=1e-4, dtype=torch.float64)
    g = net.add(LIFGroup(50, tau_m=TAU, v_rest=0.0, v_threshold=-1.0, v_reset=0.0,
                         refractory=1.0))  # every neuron spikes at step 0, then is refractory
    net.add(WhiteNoise(g, SIGMA, TAU))
    net.run(0.01)
    assert torch.all(g.v == 0.0)


def brunel_hakim_ours(n: int, c: int, T: float) -> tuple[float, float]:
    """Brunel & Hakim (1999), scaled to ``n`` neurons with ``c`` inputs (J * c kept)."""
    net = Network(dt=1e-4, dtype=torch.float64, seed=2)
    g = net.add(LIFGroup(n, tau_m=20e-3, v_rest=25e-3, v_threshold=20e-3, v_reset=10e-3,
                         refractory=2e-3, integrate_refractory=True, name="g"))
    g.set("v", 10e-3)
    net.add(WhiteNoise(g, 1e-3, 20e-3))
    net.connect(g, g, "v", fixed_probability(c / n), weight=-0.1e-3 * 1000 / c, delay=2e-3)
    sm = net.add(SpikeMonitor(g))
    net.run(T)
    return _rate_cv(sm.i, sm.t, n, T)


def brunel_hakim_brian2(n: int, c: int, T: float) -> tuple[float, float]:
    set_target("numpy")
    b2.seed(5)
    ms, mV = b2.ms, b2.mV
    ns = {"tau": 20 * ms, "muext": 25 * mV, "sigmaext": 1 * mV, "theta": 20 * mV,
          "Vr": 10 * mV, "J": 0.1 * mV * 1000 / c, "p": c / n}
    G = b2.NeuronGroup(n, "dV/dt = (-V + muext + sigmaext * sqrt(tau) * xi) / tau : volt",
                       threshold="V > theta", reset="V = Vr", refractory=2 * ms,
                       method="euler", namespace=ns, dt=0.1 * ms)
    G.V = 10 * mV
    S = b2.Synapses(G, G, on_pre="V += -J", delay=2 * ms, namespace=ns, dt=0.1 * ms)
    S.connect(p=c / n)
    M = b2.SpikeMonitor(G)
    b2.Network(G, S, M).run(T * b2.second)
    return _rate_cv(np.asarray(M.i[:]), np.asarray(M.t_[:]), n, T)


def _rate_cv(i: np.ndarray, t: np.ndarray, n: int, T: float) -> tuple[float, float]:
    keep = t >= 0.05  # drop the synchronous start
    i, t = i[keep], t[keep]
    cvs = [np.diff(np.sort(t[i == k])) for k in np.unique(i)]
    cvs = [d.std() / d.mean() for d in cvs if d.size >= 2]
    return i.size / (n * (T - 0.05)), float(np.mean(cvs))


def test_brunel_hakim_network_rate_and_cv_match_brian2() -> None:
    n, c, T = 2000, 400, 0.4
    r, cv = brunel_hakim_ours(n, c, T)
    r_b, cv_b = brunel_hakim_brian2(n, c, T)
    assert r > 2.0, f"the network must fire, got {r:.2f} Hz"
    assert abs(r / r_b - 1) < 0.10, f"rate ours {r:.2f} Hz vs Brian2 {r_b:.2f} Hz"
    assert abs(cv / cv_b - 1) < 0.15, f"ISI CV ours {cv:.3f} vs Brian2 {cv_b:.3f}"


def test_bad_noise_input_is_a_clear_error() -> None:
    g = LIFGroup(3, tau_m=TAU, v_rest=0.0, v_threshold=1.0, v_reset=0.0)
    with pytest.raises(ValueError, match="tau must be > 0"):
        WhiteNoise(g, SIGMA, 0.0)
    with pytest.raises(ValueError, match="sigma must be a scalar or"):
        WhiteNoise(g, torch.ones(4), TAU)
    with pytest.raises(KeyError, match="no variable"):
        WhiteNoise(g, SIGMA, TAU, var="w")
