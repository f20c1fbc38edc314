"""Hand-written Brian2 reference networks (Brian2's own examples, with Brian2 units).

Not part of the package: only the benchmarks here and ``tests/sim/test_brian2_validation.py``
(which puts this folder on ``sys.path``) use it.

These are the peer's scripts as a Brian2 user writes them, independent of :mod:`brian2_bridge`'s
generated equations; tests check that the bridge twin of our network equals them, and the
benchmarks time them. Each returns a :class:`~neuromorph.sim.brian2_bridge.Brian2Network`.

- :func:`driven_lif_brian2`: one LIF neuron with an exponential current synapse driven by
  explicit input spike times.
- :func:`cuba_brian2`: Brian2's CUBA example (Brette et al. 2007, benchmark 2): 4000 LIF
  neurons, 80/20 E/I, p = 0.02, taum 20 ms, taue 5 ms, taui 10 ms, Vt -50 mV, Vr -60 mV,
  El -49 mV, refractory 5 ms, we 1.62 mV, wi -9 mV, exact integration.
- :func:`song2000_brian2`: Brian2's STDP example after Song, Miller & Abbott (2000): Poisson
  inputs (15 Hz) onto one LIF neuron with the linearised conductance input
  ``dv/dt = (ge (Ee - vr) + El - v) / taum``, additive all-to-all STDP, gmax = 0.01.
"""

from __future__ import annotations

import numpy as np

from neuromorph.sim.brian2_bridge import (
    Brian2Network,
    SpikeMonitorView,
    StateMonitorView,
    require_brian2,
    set_target,
)

Pairs = tuple[np.ndarray, np.ndarray]


def driven_lif_brian2(
    indices: np.ndarray, times: np.ndarray, n_inputs: int, weights: np.ndarray, *,
    tau_m: float = 20e-3, tau_syn: float = 5e-3, v_rest: float = -65e-3,
    v_threshold: float = -50e-3, v_reset: float = -65e-3, refractory: float = 2e-3,
    dt: float = 1e-4, target: str = "numpy",
) -> Brian2Network:
    """One LIF neuron, ``dv/dt = (v_rest - v + I_syn)/tau_m``, ``I_syn += w`` on input spikes.

    ``weights`` (volts, ``[n_inputs]``) of the input synapses; monitors ``"v"`` (v, I_syn) and
    ``"spikes"``; objects ``"input"``, ``"neuron"``, ``"syn"``.
    """
    b2 = require_brian2()
    set_target(target)  # construction-time code (connect, seed, rand) runs on it too
    second = b2.second
    eqs = """dv/dt = (v_rest - v + I_syn) / tau_m : volt (unless refractory)
             dI_syn/dt = -I_syn / tau_syn : volt"""
    ns = {"tau_m": tau_m * second, "tau_syn": tau_syn * second, "v_rest": v_rest * b2.volt,
          "v_th": v_threshold * b2.volt, "v_reset": v_reset * b2.volt}
    dtq = dt * second
    inp = b2.SpikeGeneratorGroup(n_inputs, np.asarray(indices), np.asarray(times) * second,
                                 dt=dtq)
    neuron = b2.NeuronGroup(1, eqs, threshold="v > v_th", reset="v = v_reset",
                            refractory=refractory * second, method="exact", namespace=ns, dt=dtq)
    neuron.v = v_rest * b2.volt
    syn = b2.Synapses(inp, neuron, "w : volt", on_pre="I_syn_post += w", dt=dtq)
    syn.connect(i=np.arange(n_inputs), j=np.zeros(n_inputs, dtype=np.int64))
    syn.w = np.asarray(weights) * b2.volt
    vmon = b2.StateMonitor(neuron, ["v", "I_syn"], record=[0])
    spikes = b2.SpikeMonitor(neuron)
    net = b2.Network(inp, neuron, syn, vmon, spikes)
    return Brian2Network(net, dt, {"input": inp, "neuron": neuron, "syn": syn},
                         {"v": StateMonitorView(vmon, ("v", "I_syn")),
                          "spikes": SpikeMonitorView(spikes, 0, 1)}, target=target)


def cuba_brian2(
    n: int = 4000, *, seed: int = 0, dt: float = 1e-4, excitatory: Pairs | None = None,
    inhibitory: Pairs | None = None, v0: np.ndarray | None = None, target: str = "numpy",
) -> Brian2Network:
    """Brian2's CUBA example (see the module docstring), scaled to ``n`` neurons (80 % E).

    By default Brian2 draws the connectivity (``connect('i < n_e', p=0.02)``) and the initial
    ``v`` (``Vr + rand() * (Vt - Vr)``) with ``brian2.seed(seed)``, as its example does. Pass
    ``excitatory`` / ``inhibitory`` ``(i, j)`` pairs (global indices) and ``v0`` (volts) to use
    given ones instead. Objects ``"P"``, ``"Ce"``, ``"Ci"``; monitor ``"spikes"``.
    """
    b2 = require_brian2()
    set_target(target)  # construction-time code (connect, seed, rand) runs on it too
    ms, mV, second = b2.ms, b2.mV, b2.second
    n_e = int(0.8 * n)
    ns = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV, "Vr": -60 * mV,
          "El": -49 * mV, "we": 60 * 0.27 / 10 * mV, "wi": -20 * 4.5 / 10 * mV, "n_e": n_e}
    eqs = """dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
             dge/dt = -ge / taue : volt
             dgi/dt = -gi / taui : volt"""
    b2.seed(seed)
    dtq = dt * second
    P = b2.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                       method="exact", namespace=ns, dt=dtq)
    if v0 is None:
        P.v = "Vr + rand() * (Vt - Vr)"
    else:
        P.v = np.asarray(v0, dtype=np.float64) * b2.volt
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns, dt=dtq)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns, dt=dtq)
    if excitatory is None:
        Ce.connect("i < n_e", p=0.02)
    else:
        Ce.connect(i=np.asarray(excitatory[0]), j=np.asarray(excitatory[1]))
    if inhibitory is None:
        Ci.connect("i >= n_e", p=0.02)
    else:
        Ci.connect(i=np.asarray(inhibitory[0]), j=np.asarray(inhibitory[1]))
    spikes = b2.SpikeMonitor(P)
    net = b2.Network(P, Ce, Ci, spikes)
    return Brian2Network(net, dt, {"P": P, "Ce": Ce, "Ci": Ci},
                         {"spikes": SpikeMonitorView(spikes, 0, n)}, target=target)


def song2000_brian2(
    n_inputs: int = 1000, rate: float = 15.0, *, seed: int = 0, dt: float = 1e-4,
    input_spikes: tuple[np.ndarray, np.ndarray] | None = None, w0: np.ndarray | None = None,
    target: str = "numpy",
) -> Brian2Network:
    """Brian2's STDP example (Song, Miller & Abbott 2000); see the module docstring.

    Inputs are Brian2's ``PoissonGroup(n_inputs, rate)`` unless ``input_spikes`` ``(indices,
    times)`` are given (then a ``SpikeGeneratorGroup`` replays them). Initial weights
    ``rand() * gmax`` (``brian2.seed(seed)``) unless ``w0`` is given. Objects ``"input"``,
    ``"neuron"``, ``"S"``; monitor ``"post_spikes"``.
    """
    b2 = require_brian2()
    set_target(target)  # construction-time code (connect, seed, rand) runs on it too
    ms, mV, second = b2.ms, b2.mV, b2.second
    gmax = 0.01
    ns = {"taum": 10 * ms, "taupre": 20 * ms, "taupost": 20 * ms, "Ee": 0 * mV, "vt": -54 * mV,
          "vr": -60 * mV, "El": -74 * mV, "taue": 5 * ms, "gmax": gmax,
          "dApre": 0.01 * gmax, "dApost": -0.01 * gmax * 1.05}
    b2.seed(seed)
    dtq = dt * second
    if input_spikes is None:
        inp = b2.PoissonGroup(n_inputs, rates=rate * b2.Hz, dt=dtq)
    else:
        inp = b2.SpikeGeneratorGroup(n_inputs, np.asarray(input_spikes[0]),
                                     np.asarray(input_spikes[1]) * second, dt=dtq)
    eqs = """dv/dt = (ge * (Ee - vr) + El - v) / taum : volt
             dge/dt = -ge / taue : 1"""
    neuron = b2.NeuronGroup(1, eqs, threshold="v > vt", reset="v = vr", method="exact",
                            namespace=ns, dt=dtq)
    S = b2.Synapses(inp, neuron,
                    """w : 1
                       dApre/dt = -Apre / taupre : 1 (event-driven)
                       dApost/dt = -Apost / taupost : 1 (event-driven)""",
                    on_pre="""ge += w
                              Apre += dApre
                              w = clip(w + Apost, 0, gmax)""",
                    on_post="""Apost += dApost
                               w = clip(w + Apre, 0, gmax)""",
                    namespace=ns, dt=dtq)
    S.connect()
    if w0 is None:
        S.w = "rand() * gmax"
    else:
        S.w = np.asarray(w0, dtype=np.float64)
    post = b2.SpikeMonitor(neuron)
    net = b2.Network(inp, neuron, S, post)
    return Brian2Network(net, dt, {"input": inp, "neuron": neuron, "S": S},
                         {"post_spikes": SpikeMonitorView(post, 0, 1)}, target=target)


__all__ = ["cuba_brian2", "driven_lif_brian2", "song2000_brian2"]
