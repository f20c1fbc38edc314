"""The compiled event loop: a whole run of LIF groups and static synapses in one numba call.

The per-step numpy path (:mod:`neuromorph.sim.network`) spends most of a step in Python and
numpy call overhead (a few dozen calls of ~1-5 us each); a 4000-neuron CUBA step has only
~30 us of arithmetic. :class:`NativeLoop` runs many steps per call through
:func:`neuromorph.sim.kernels_native.run_steps` instead, on the engine's own arrays.

It is used when numba imports and the network has only what the kernel implements (anything
else: the per-step path, same results):

- :class:`~neuromorph.sim.groups.LIFGroup` groups (any channels, refractoriness, delta synapses
  onto ``v``), on the numpy CPU backend, float32 or float64;
- static projections (no plasticity) between them, with shared or per-synapse delays;
- :class:`~neuromorph.sim.poisson_input.PoissonInput` onto them: each keeps drawing its
  counts in torch, a chunk of steps at a time (the same draws as the per-step path), and the
  kernel adds the chunk's rows; a run is cut into calls at the chunk ends;
- :class:`~neuromorph.sim.monitors.SpikeMonitor` on them (groups or subgroups).

Memory: the kernel reads each projection's own CSR arrays (``post`` int32, the weights) and a
per-source table of where each thread's share of the row starts and ends (``T + 1`` int64 per
source neuron, :func:`~neuromorph.sim.kernels_native.row_bounds`): a static synapse costs its
int32 target index and its weight (12 bytes in float64, 8 in float32; per-synapse delays add
4), or its target index alone (4 bytes) while its projection's one shared weight has not been
made into an array. No row layout is built,
and the heap's freed build temporaries go back to the system (:func:`release_freed_memory`).

``NEUROMORPH_NATIVE=0`` in the environment turns the compiled loop off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from neuromorph.sim.network import Network

ENV_SWITCH = "NEUROMORPH_NATIVE"
THREADS_ENV = "NEUROMORPH_THREADS"
NEURONS_PER_THREAD = 8000  # below this, a second thread costs more than it saves


def native_available() -> bool:
    """True when numba imports and ``NEUROMORPH_NATIVE`` is not ``0``."""
    if os.environ.get(ENV_SWITCH, "1").strip() in ("0", "false", "no", "off"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def supported(net: Network) -> bool:
    """Whether every object of ``net`` is one the compiled loop implements (module docstring)."""
    from neuromorph.sim.groups import LIFGroup
    from neuromorph.sim.monitors import SpikeMonitor
    from neuromorph.sim.poisson_input import PoissonInput
    from neuromorph.sim.projections import Projection

    if not net.ops.compiled_loop:
        return False
    for o in net.objects:
        if type(o) is LIFGroup and np.isscalar(getattr(o, "_theta", o.v_threshold)) and \
                channels_decay_alone(o._M):
            continue
        if type(o) is Projection and o.plasticity is None and o.post.dtype == torch.int32 and \
                type(o.source_group) is LIFGroup and type(o.target_group) is LIFGroup:
            continue
        if type(o) in (SpikeMonitor, PoissonInput) and type(o.group) is LIFGroup:
            continue
        return False
    return True


def channels_decay_alone(M: np.ndarray) -> bool:
    """Whether every channel row of an update matrix is ``x_k *= M[k, k]`` (what the kernel
    implements; true for every :class:`~neuromorph.sim.groups.LIFGroup`)."""
    rest = np.array(M[1:], copy=True)
    for k in range(rest.shape[0]):
        rest[k, k + 1] = 0.0
    return not rest.any()


def native_loop(net: Network) -> NativeLoop | None:
    """The compiled loop of a built network, or None when it does not apply (then the caller
    runs the per-step path)."""
    if not supported(net) or not native_available():
        return None
    return NativeLoop(net)


class NativeLoop:
    """Tables and typed lists of one network for :func:`~.kernels_native.run_steps`."""

    def __init__(self, net: Network, threads: int | None = None) -> None:
        from neuromorph.sim.groups import LIFGroup
        from neuromorph.sim.kernels_native import (
            MODE_DIRECT,
            MODE_RING,
            MODE_RING_PER_SYNAPSE,
            row_bounds,
            split_parts,
        )
        from neuromorph.sim.monitors import SpikeMonitor
        from neuromorph.sim.poisson_input import PoissonInput
        from neuromorph.sim.projections import Projection

        net.ops.require("compiled_loop", "the compiled event loop")
        self.net = net
        self.groups = [o for o in net.objects if type(o) is LIFGroup]
        projections = [o for o in net.objects if type(o) is Projection]
        self.monitors = [o for o in net.objects if type(o) is SpikeMonitor]
        gid = {id(g): k for k, g in enumerate(self.groups)}
        recorded = {gid[id(m.group)] for m in self.monitors}
        fdt = self.groups[0]._X.dtype
        self.threads = threads if threads is not None else choose_threads(
            sum(g.n for g in self.groups), projections)
        gtab, X, M, cols0, Y, ls, held, sps, rings = ([] for _ in range(9))
        clamped = {id(p.target_group) for p in projections if p.row == 0}
        for k, g in enumerate(self.groups):
            Mk = np.ascontiguousarray(g._M)
            ring = g.ring.numpy() if g.ring is not None else np.zeros((1, 1), dtype=fdt)
            hold = bool(getattr(g, "clamp_v", True))  # False: integrate while refractory
            clamp = int(g.R > 0 and hold and id(g) in clamped)
            gtab.append([g.n, g.n_targets, g.R, clamp, ring.shape[0] if g.ring is not None
                         else 1, int(k in recorded), int(hold), 0])
            X.append(g._X)
            M.append(Mk)
            cols0.append(np.zeros(Mk.shape[1], dtype=np.int64))  # set per run (_set_columns)
            Y.append(g._Y[0])
            ls.append(g._ls)
            held.append(np.zeros(g.n if clamp else 1, dtype=fdt))
            sps.append(np.zeros((2, g.n), dtype=np.int64))  # by step parity
            rings.append(ring)
        self.gtab = np.array(gtab, dtype=np.int64)
        self.parts = np.stack([split_parts(g.n, self.threads) for g in self.groups])
        self.vth = np.array([g.v_threshold for g in self.groups], dtype=fdt)
        self.vreset = np.array([g.v_reset for g in self.groups], dtype=fdt)
        self.csts = np.zeros(len(self.groups), dtype=fdt)
        self.counts = np.zeros(len(self.groups), dtype=np.int64)
        self.pcounts = np.zeros((2, len(self.groups), self.threads), dtype=np.int64)
        ptab, rows, posts, weights, dsteps = [], [], [], [], []
        no_delays = np.zeros(1, dtype=np.int32)
        for p in projections:
            tg = p.target_group
            ds = p._dsteps
            shared = p.nnz == 0 or ds.stride() == (0,) or bool((ds == ds[0]).all())
            d = int(ds[0]) if p.nnz else 0
            if p.ring_depth <= 1:
                mode = MODE_DIRECT
            else:
                mode = MODE_RING if shared else MODE_RING_PER_SYNAPSE
            ptab.append([gid[id(p.source_group)], gid[id(tg)], p.row * tg.n + p.t0, mode, d,
                         p.t0, 0])
            posts.append(p.post.numpy())
            inner = self.parts[gid[id(tg)], 1:-1] - p.t0  # local targets where parts 1.. start
            rows.append(row_bounds(p.indptr_full.numpy(), posts[-1], inner))
            weights.append(np.zeros(1, dtype=fdt))  # set per run (_set_weights)
            dsteps.append(ds.to(dtype=torch.int32).numpy() if mode == MODE_RING_PER_SYNAPSE
                          else no_delays)
            p.release_layout()  # the kernel reads the CSR arrays: no row layout is kept
        self.projections = projections
        self.ptab = np.array(ptab, dtype=np.int64).reshape(-1, 7)
        cap = max(1 << 16, 4 * max((g.n for g in self.groups), default=1))
        self.rec_i = [np.zeros(cap if k in recorded else 1, dtype=np.int64)
                      for k in range(len(self.groups))]
        self.rec_s = [np.zeros_like(a) for a in self.rec_i]
        self.rec_n = np.zeros(len(self.groups), dtype=np.int64)
        self.lists = [padded(a) for a in (X, M, cols0, Y, ls, held, sps, rings)]
        self.plists = [padded(a) for a in (rows, posts, weights, dsteps)] if ptab else \
            [(np.zeros((1, self.threads + 1), dtype=np.int64),), (np.zeros(1, np.int32),),
             (np.zeros(1, dtype=fdt),), (no_delays,)]
        self.rec_lists = [padded(self.rec_i), padded(self.rec_s)]
        self.inputs = [o for o in net.objects if type(o) is PoissonInput]
        self.pins = np.array([[gid[id(i.group)], i.group.target_row(i.var), 0]
                              for i in self.inputs], dtype=np.int64).reshape(-1, 3)
        self.pbufs = padded([i._buf for i in self.inputs]) if self.inputs else \
            (np.zeros((1, 1), dtype=fdt),)
        self._last = 0  # parity buffer of the spikes of the last step run
        self._set_columns()
        self._set_weights()
        self._call(0, 0)  # compile, or load the compiled kernel from numba's cache, now
        release_freed_memory()

    def _set_columns(self) -> None:
        """Terms of each group's ``v`` row for this run: the constant column (the row of ones)
        goes to ``csts``, and the ``I`` column is left out while ``I`` is zero everywhere (no
        input changes ``I`` during a compiled run; adding ``M * 0`` changes no value)."""
        for k, g in enumerate(self.groups):
            Mk, c = self.lists[1][k], self.lists[2][k]
            i_row, one_row = len(g.rows) - 2, len(g.rows) - 1
            skip = {one_row} | ({i_row} if not g._X[i_row].any() else set())
            if not (g.rows[-1] == "1" and g._X[one_row].min() == g._X[one_row].max() == 1):
                raise RuntimeError(f"{g.name}: the row of ones of the state was changed")
            idx = np.flatnonzero(Mk[0])
            idx = idx[~np.isin(idx, list(skip))]
            self.csts[k] = Mk[0, one_row]
            c[: idx.size] = idx
            self.gtab[k, 7] = idx.size

    def _set_weights(self) -> None:
        """Each projection's weights for this run: its one shared weight while it has no
        per-synapse array (``P_UNIFORM``), else that array (made since, e.g. by a user write)."""
        if not self.projections:
            return
        fdt = self.groups[0]._X.dtype
        weights = []
        for k, p in enumerate(self.projections):
            u = p.uniform_weight
            self.ptab[k, 6] = int(u is not None)
            weights.append(np.full(1, u, dtype=fdt) if u is not None else p.np_w)
        self.plists[2] = padded(weights)

    def _call(self, start: int, stop: int) -> int:
        from neuromorph.sim.kernels_native import run_steps

        reached = run_steps(start, stop, self.gtab, self.parts, self.vth, self.vreset, self.csts,
                            *self.lists, self.counts, self.pcounts, self.ptab, *self.plists,
                            self.pins, self.pbufs, *self.rec_lists, self.rec_n)
        if reached > start:
            self._last = (reached - 1) & 1
        return reached

    def run(self, start: int, stop: int) -> None:
        """Advance the network from step ``start`` to ``stop`` (records go to the monitors)."""
        self._set_columns()
        self._set_weights()
        step = start
        while step < stop:
            reached = self._call(step, self._draw_inputs(step, stop))
            for i in self.inputs:
                i.k += reached - step
            step = reached
            self._flush()
        self._publish_spikes()

    def _draw_inputs(self, step: int, stop: int) -> int:
        """Draw the next chunk of every Poisson input that has used up its draws (at the step
        that needs them, in the order added, as the per-step path does); returns the step where
        the first input runs out, the end of the next call."""
        from neuromorph.sim.kernels_native import I_SHIFT

        for q, i in enumerate(self.inputs):
            if i.k >= i.chunk:
                i._draw()
            stop = min(stop, step + i.chunk - i.k)
            self.pins[q, I_SHIFT] = i.k - step
        return stop

    def _flush(self) -> None:
        """Hand the recorded spikes to the monitors (in time order, local indices)."""
        gid = {id(g): k for k, g in enumerate(self.groups)}
        for m in self.monitors:
            k = gid[id(m.group)]
            n = int(self.rec_n[k])
            if not n:
                continue
            i, s = self.rec_i[k][:n], self.rec_s[k][:n]
            if not m.whole:
                keep = (i >= m.start) & (i < m.stop)
                i, s = i[keep] - m.start, s[keep]
            add_spikes(m, i, s)
        self.rec_n[:] = 0

    def _publish_spikes(self) -> None:
        """Leave each group's ``spikes`` / ``mask`` as the per-step path does after a step."""
        for k, g in enumerate(self.groups):
            g.spikes = self.lists[6][k][self._last, : int(self.counts[k])].copy()
            g._s[...] = False
            g._s[g.spikes] = True


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``; elsewhere nothing).

    Building synapses frees many temporaries (pair keys, sort orders, int64 addresses) that
    glibc keeps mapped; without this the process stays about 30 bytes per synapse larger than
    the arrays it uses."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def rows_ascending(indptr: np.ndarray, post: np.ndarray) -> bool:
    """Whether ``post`` ascends within every CSR row (what a thread's bisection needs)."""
    if post.size < 2:
        return True
    falls = np.flatnonzero(post[1:] < post[:-1]) + 1  # positions where post drops
    return bool(np.isin(falls, indptr).all())


def choose_threads(n_neurons: int, projections: list[Any]) -> int:
    """Threads of the compiled loop: ``NEUROMORPH_THREADS`` if set (e.g. ``auto``: one per
    :data:`NEURONS_PER_THREAD` neurons), else 1, up to numba's thread count; 1 when a
    projection's rows are not in CSR order. Results do not depend on the choice. One thread is
    the default: a step is one parallel region, and on a shared, loaded machine a thread that
    waits for the other costs more than the split saves (docs/benchmarks.md)."""
    import numba

    env = os.environ.get(THREADS_ENV, "1").strip().lower()
    wanted = n_neurons // NEURONS_PER_THREAD if env == "auto" else int(env)
    threads = max(1, min(wanted, numba.get_num_threads()))
    if threads > 1 and not all(rows_ascending(p.indptr.numpy(), p.post.numpy())
                               for p in projections):
        return 1
    return threads


def padded(arrays: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """A tuple of the arrays padded (with the first one) to a power-of-two length, so that
    networks of 3 or 4 groups share one compiled kernel (the tuple length is in its type)."""
    size = 1 << max(0, len(arrays) - 1).bit_length()
    return tuple(arrays) + (arrays[0],) * (size - len(arrays))


def add_spikes(monitor: Any, i: np.ndarray, steps: np.ndarray) -> None:
    """Append spikes (local indices, steps; time order) to a numpy-backend SpikeMonitor."""
    monitor.flush()
    monitor._i.append(np.array(i, dtype=np.int64))
    monitor._steps.append(np.array(steps, dtype=np.int64))


__all__ = ["ENV_SWITCH", "THREADS_ENV", "NativeLoop", "add_spikes", "choose_threads",
           "native_available", "native_loop", "padded", "release_freed_memory", "rows_ascending",
           "supported"]
