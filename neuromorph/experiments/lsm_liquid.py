"""The liquid of ``lsm-digits``: a recurrent E/I LIF network on the event engine, fed with
Poisson-coded digits laid out back to back in time, and its measurements.

Liquid (current-based LIF, :class:`~neuromorph.sim.LIFGroup`; volts, seconds)::

    tau_m dv/dt = v_rest - v + x_e - x_i        tau_e dx_e/dt = -x_e    tau_i dx_i/dt = -x_i
    spike: v > v_threshold -> v = v_reset, refractory 2 ms

``n_exc`` excitatory then ``n_inh`` inhibitory neurons; every neuron receives ``k_rec`` random
recurrent synapses (fixed in-degree, no autapses; 80 % from E cells at ``w_exc * scale``, the
rest from I cells at ``w_inh``, each weight times ``U[0.5, 1.5)``) and every input
channel reaches each neuron with probability ``p_in`` at weight ``w_in``. Sample ``s`` is
presented during ``[s P, s P + t_sample)`` with ``P = t_sample + t_gap``: pixel ``x`` in [0, 1]
fires Bernoulli spikes with probability ``x max_rate dt`` per step.

Branching ratio: :func:`~neuromorph.learning_rules.plasticity.homeostasis.branching_ratio` of the
liquid's population counts in bins of ``bin_time`` during the stimulus windows (the regression
slope of ``n_{k+1}`` on ``n_k``, one regression over all windows, pairs within a window only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuromorph.learning_rules.plasticity.homeostasis import branching_ratio
from neuromorph.sim import (
    Channel,
    LIFGroup,
    Network,
    Projection,
    SpikeMonitor,
    fixed_indegree,
    from_indices,
)
from neuromorph.sim.inputs import SpikeGeneratorGroup
from neuromorph.sim.plasticity_astro import AstroSTDPRule


@dataclass(frozen=True)
class LiquidSpec:
    """Sizes, weights (volts) and timing (seconds) of one liquid."""

    n_exc: int = 400
    n_inh: int = 100
    k_rec: int = 50
    w_exc: float = 2e-3
    w_inh: float = 8e-3
    scale: float = 1.0
    p_in: float = 0.2
    w_in: float = 6e-3
    tau_m: float = 20e-3
    tau_e: float = 5e-3
    tau_i: float = 10e-3
    dt: float = 1e-3
    t_sample: float = 0.1
    t_gap: float = 0.02
    max_rate: float = 200.0

    @property
    def n(self) -> int:
        return self.n_exc + self.n_inh

    @property
    def steps_per_sample(self) -> tuple[int, int]:
        """``(stimulus steps, period steps)``."""
        on = int(round(self.t_sample / self.dt))
        return on, on + int(round(self.t_gap / self.dt))


def input_spikes(x: np.ndarray, spec: LiquidSpec, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(channel, time in s)`` of the Poisson spikes of images ``x [S, 64]`` back to back."""
    on, period = spec.steps_per_sample
    p = np.clip(x, 0.0, 1.0) * spec.max_rate * spec.dt
    fire = rng.random((x.shape[0], on, x.shape[1])) < p[:, None, :]
    s, k, c = np.nonzero(fire)
    steps = s * period + k
    return c.astype(np.int64), (steps + 0.5) * spec.dt


def recurrent_weights(spec: LiquidSpec, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pre, post, w)`` of the recurrent synapses (signed: inhibitory weights < 0), seeded."""
    g = torch.Generator().manual_seed(seed)
    pre, post = fixed_indegree(spec.k_rec, allow_self=False)(spec.n, spec.n, g, 0)
    pre, post = pre.numpy(), post.numpy()
    # fixed in-degree over all cells gives ~80 % E sources (n_exc / n) per target
    jitter = 0.5 + torch.rand(pre.size, generator=g, dtype=torch.float64).numpy()
    w = np.where(pre < spec.n_exc, spec.w_exc * spec.scale, -spec.w_inh) * jitter
    return pre, post, w


def input_synapses(spec: LiquidSpec, n_in: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed + 7)
    hit = g.random((n_in, spec.n)) < spec.p_in
    pre, post = np.nonzero(hit)
    return pre, post


@dataclass
class LiquidRun:
    """Spikes of a liquid over a sequence of samples, the projections of E->E and input
    weights, and the engine network that ran (to save it)."""

    steps: np.ndarray
    neurons: np.ndarray
    n_samples: int
    ee: Projection
    astro_history: list[tuple[float, float, float]]
    network: Network | None = None
    input_proj: Projection | None = None


def run_liquid(x: np.ndarray, spec: LiquidSpec, seed: int, *, w_ee: np.ndarray | None = None,
               rule: AstroSTDPRule | None = None, input_seed: int = 0,
               w_in: np.ndarray | None = None, rule_in: AstroSTDPRule | None = None
               ) -> LiquidRun:
    """Simulate the liquid on images ``x [S, 64]``; ``w_ee`` / ``w_in`` replace the E->E /
    input weights (a trained liquid); ``rule`` / ``rule_in`` make the E->E / input synapses
    astrocyte-plastic."""
    net = Network(dt=spec.dt, seed=seed, backend="numpy")
    liq = net.add(LIFGroup(spec.n, tau_m=spec.tau_m, v_rest=0.0, v_threshold=20e-3, v_reset=0.0,
                           refractory=2e-3, channels={"xe": Channel(spec.tau_e),
                                                      "xi": Channel(spec.tau_i, scale=-1.0)},
                           name="liquid"))
    ch, t = input_spikes(x, spec, np.random.default_rng(input_seed))
    src = net.add(SpikeGeneratorGroup(x.shape[1], ch, t, name="input"))
    ip, iq = input_synapses(spec, x.shape[1], seed)
    if w_in is None and rule_in is not None:
        w_in = np.full(ip.size, spec.w_in)
    proj_in = net.add(Projection(src, liq, "xe", from_indices(ip, iq), name="in",
                                 weight=spec.w_in if w_in is None else torch.as_tensor(w_in),
                                 plasticity=rule_in))
    pre, post, w = recurrent_weights(spec, seed)
    ne = spec.n_exc
    ee = (pre < ne) & (post < ne)
    w_e = w[ee] if w_ee is None else w_ee
    proj_ee = Projection(liq[:ne], liq[:ne], "xe", from_indices(pre[ee], post[ee]),
                         weight=torch.as_tensor(w_e), delay=spec.dt, plasticity=rule, name="ee")
    net.add(proj_ee)
    for name, mask, var in (("ei", (pre < ne) & (post >= ne), "xe"),
                            ("ie", pre >= ne, "xi")):
        net.add(Projection(liq, liq, var, from_indices(pre[mask], post[mask]),
                           weight=torch.as_tensor(np.abs(w[mask])), delay=spec.dt, name=name))
    mon = net.add(SpikeMonitor(liq, name="spikes"))
    _, period = spec.steps_per_sample
    net.run(x.shape[0] * period * spec.dt)
    plastic = proj_ee if rule is not None else proj_in if rule_in is not None else None
    hist = plastic.stdp.astro.history if plastic is not None else []  # the first astrocyte
    return LiquidRun(mon.steps, mon.i, x.shape[0], proj_ee, hist, net, proj_in)


def spike_counts(run: LiquidRun, spec: LiquidSpec, n_bins: int) -> np.ndarray:
    """Features ``[S, n_bins * n]``: each neuron's spikes in ``n_bins`` equal slices of the
    stimulus window (and the gap after it, where the liquid's memory still speaks)."""
    _, period = spec.steps_per_sample
    s, k = np.divmod(run.steps, period)
    b = np.minimum(k * n_bins // period, n_bins - 1)
    flat = (s * n_bins + b) * spec.n + run.neurons
    counts = np.bincount(flat, minlength=run.n_samples * n_bins * spec.n)
    return counts.reshape(run.n_samples, n_bins * spec.n).astype(np.float64)


def _stimulus_counts(run: LiquidRun, spec: LiquidSpec, bin_time: float) -> np.ndarray:
    """``[samples, bins]`` population spike counts in ``bin_time`` bins of each stimulus window."""
    on, period = spec.steps_per_sample
    bs = max(1, int(round(bin_time / spec.dt)))
    nb = on // bs
    s, k = np.divmod(run.steps, period)
    keep = k < nb * bs
    flat = s[keep] * nb + k[keep] // bs
    return np.bincount(flat, minlength=run.n_samples * nb).reshape(run.n_samples, nb)


def liquid_branching(run: LiquidRun, spec: LiquidSpec, bin_time: float = 4e-3) -> float:
    """Branching ratio of the liquid during the stimulus windows (module docstring)."""
    return branching_ratio(torch.as_tensor(_stimulus_counts(run, spec, bin_time).T))


def branching_over_run(run: LiquidRun, spec: LiquidSpec, chunk: int = 100,
                       bin_time: float = 4e-3) -> np.ndarray:
    """``[chunks, 2]``: (time of the chunk's end in s, branching ratio of the liquid over the
    stimulus windows of its ``chunk`` samples), e.g. over a learning run."""
    counts = _stimulus_counts(run, spec, bin_time)
    _, period = spec.steps_per_sample
    rows = []
    for a in range(0, run.n_samples - chunk + 1, chunk):
        rows.append(((a + chunk) * period * spec.dt,
                     branching_ratio(torch.as_tensor(counts[a:a + chunk].T))))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def rate_hz(run: LiquidRun, spec: LiquidSpec) -> float:
    """Mean firing rate of the liquid neurons over the whole run (Hz)."""
    _, period = spec.steps_per_sample
    return float(run.steps.size / (spec.n * run.n_samples * period * spec.dt))
