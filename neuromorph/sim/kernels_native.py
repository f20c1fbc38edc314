"""Numba kernel of the compiled event loop: many time steps of LIF groups and static synapses.

One call advances the network from ``start`` to at most ``stop`` steps, running Brian2's schedule
(:mod:`neuromorph.sim.network`) for every step with no Python in between:

    groups      v = sum_c M[0, c] X[c] + cst  (the exact LIF step, terms in column order, zero
                entries skipped, the constant column last) unless refractory
                (``step - lastspike < R``); every channel row decays, ``x_k *= M[k, k]``
    thresholds  spike = v > v_threshold and not refractory; lastspike = step; spikes recorded
    synapses    for every projection, every spike of its source (ascending index), every synapse
                of that row (CSR order): ``target += w`` (one weight per synapse, or one for the
                whole projection) in the state (no delay) or in the ring
                slot ``(step + d) mod D``; then every Poisson input adds its step's row of
                drawn ``weight * k`` to its target (in the order added); then every ring slot
                ``step mod D`` is added to the state and cleared; ``v`` of refractory neurons
                is put back (``(unless refractory)`` also holds for ``v_post += w``)
    resets      v = v_reset for the neurons that spiked

Threads: every group is cut into ``T`` contiguous parts (whole blocks of :data:`BLOCK`
neurons) and thread ``t`` owns part ``t`` of every group. A step is one parallel region in which
thread ``t`` first finishes the previous step for its neurons (propagation of all of that step's
spikes onto *its* targets, delivery, restore, reset), then runs this step's state update and
threshold on them. Every state element is written by one thread only, and each target receives
its additions in the serial order (spikes ascending, synapses in CSR order), so the result is
bit-identical for any ``T``. Between regions, one thread merges the parts' spikes (ascending)
and records them. Spike lists are double-buffered by step parity: a thread may start step
``n + 1`` while the other still reads step ``n``'s spikes. Rows must have ascending ``post``
(the CSR order) for ``T > 1``: where each thread's share of a row starts is found once, when the
loop is built (:func:`row_bounds`).

The state update of a group whose ``v`` row reads only ``v`` and at most two channels (every
LIFGroup without an injected current) is one fused, branch-free loop per block that LLVM
vectorises (:func:`_fused_channels`); other groups take the general per-column passes.

The step's functions are inlined into :func:`run_steps` (numba IR inlining): called, each
passed its dozens of arrays (several words each) by value, and that cost ~1 us per step,
as much as the state update of 3000 neurons.

Sums are done in the same order as the numpy path's, except the state update, whose terms are
added in column order (BLAS may order them differently: the two paths agree to rounding, and
the tests check identical spikes). The arrays are shared with the engine's tensors (no copies).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

# group table columns (int64)
G_N, G_K, G_R, G_CLAMP, G_RING_D, G_REC, G_HOLD, G_NC0 = range(8)
# projection table columns (int64)
P_SRC, P_TGT, P_BASE, P_MODE, P_DELAY, P_T0, P_UNIFORM = range(7)
# Poisson input table columns (int64): its draws for step s are row s + I_SHIFT of its buffer
I_GROUP, I_ROW, I_SHIFT = range(3)
MODE_DIRECT, MODE_RING, MODE_RING_PER_SYNAPSE = 0, 1, 2

BLOCK = 512  # neurons per block of the state update (its rows stay in the L1 cache)


@nb.njit(cache=True, nogil=True, inline="always")
def _update_part(X, M, cols0, nc0, cst, y, ls, held, sp, vth, K, R, clamp, hold, step, lo, hi):
    """State update and threshold of neurons ``[lo, hi)`` of one group, block by block; writes
    their spike indices (ascending) to ``sp[lo:]`` and returns how many.

    ``v = sum_t M[0, cols0[t]] X[cols0[t]] + cst`` (``y``: scratch row); ``hold``: ``v`` is not
    written while refractory; ``clamp``: remember ``v`` in ``held`` for the synapses slot."""
    limit = step - R
    count = 0
    fused = _fused_channels(cols0, nc0, K)
    m0, m1, m2 = M[0, 0], M[0, min(1, K - 1)], M[0, min(2, K - 1)]
    a1, a2 = M[min(1, K - 1), min(1, K - 1)], M[min(2, K - 1), min(2, K - 1)]
    for j0 in range(lo, hi, BLOCK):  # block-local views: 0-based loops vectorise (no
        j1 = min(j0 + BLOCK, hi)      # negative-index checks)
        nb_ = j1 - j0
        vb, lb = X[0, j0:j1], ls[j0:j1]
        if clamp:
            held[j0:j1] = vb
        if fused >= 0:
            x1, x2 = X[min(1, K - 1), j0:j1], X[min(2, K - 1), j0:j1]
            if fused == 2:
                spiking = _fused_2(vb, x1, x2, lb, m0, m1, m2, cst, a1, a2, limit, not hold, vth)
            elif fused == 1:
                spiking = _fused_1(vb, x1, lb, m0, m1, cst, a1, limit, not hold, vth)
            else:
                spiking = _fused_0(vb, lb, m0, cst, limit, not hold, vth)
            if spiking:
                count = _spikes_of_block(vb, lb, sp, lo + count, j0, vth, limit, step) - lo
            continue
        yb = y[j0:j1]
        if nc0 == 0:
            yb[:] = 0.0
        else:
            c = cols0[0]
            m = M[0, c]
            row = X[c, j0:j1]
            for j in range(nb_):
                yb[j] = m * row[j]
            for t in range(1, nc0):
                c = cols0[t]
                m = M[0, c]
                row = X[c, j0:j1]
                for j in range(nb_):
                    yb[j] += m * row[j]
        spiking = 0
        for j in range(nb_):
            r = lb[j] > limit
            vn = vb[j] if (r and hold) else yb[j] + cst
            vb[j] = vn
            spiking += (vn > vth) & (not r)
        if spiking:
            count = _spikes_of_block(vb, lb, sp, lo + count, j0, vth, limit, step) - lo
        for k in range(1, K):
            a = M[k, k]
            row = X[k, j0:j1]
            for j in range(nb_):
                row[j] *= a
    return count


@nb.njit(cache=True, nogil=True, inline="always")
def _fused_channels(cols0, nc0, K):
    """``C`` when the ``v`` row is ``v = M[0,0] v + M[0,1] x_1 + ... + M[0,C] x_C + cst`` over
    exactly the ``C = K - 1 <= 2`` decaying channels (every LIFGroup with at most two channels
    and no constant ``I``): the update then runs as one fused, vectorised loop; else -1."""
    C = K - 1
    if C > 2 or nc0 != K:
        return -1
    for t in range(nc0):
        if cols0[t] != t:
            return -1
    return C


# The fused loops: one pass per block over v, its channels and lastspike, no branch (LLVM
# vectorises them). Same sums, in the same order, as the general path: ((m0 v + m1 x1) + m2 x2)
# + cst; ``always``: integrate while refractory (``hold`` off). Returns the block's spike count.
@nb.njit(cache=True, nogil=True, inline="always")
def _fused_2(v, x1, x2, lb, m0, m1, m2, cst, a1, a2, limit, always, vth):
    spiking = 0
    for j in range(v.shape[0]):
        y = m0 * v[j] + m1 * x1[j]
        y = y + m2 * x2[j]
        free = lb[j] <= limit
        vn = y + cst
        vn = vn if (free | always) else v[j]
        v[j] = vn
        spiking += np.int64(free & (vn > vth))
        x1[j] *= a1
        x2[j] *= a2
    return spiking


@nb.njit(cache=True, nogil=True, inline="always")
def _fused_1(v, x1, lb, m0, m1, cst, a1, limit, always, vth):
    spiking = 0
    for j in range(v.shape[0]):
        y = m0 * v[j] + m1 * x1[j]
        free = lb[j] <= limit
        vn = y + cst
        vn = vn if (free | always) else v[j]
        v[j] = vn
        spiking += np.int64(free & (vn > vth))
        x1[j] *= a1
    return spiking


@nb.njit(cache=True, nogil=True, inline="always")
def _fused_0(v, lb, m0, cst, limit, always, vth):
    spiking = 0
    for j in range(v.shape[0]):
        free = lb[j] <= limit
        vn = m0 * v[j] + cst
        vn = vn if (free | always) else v[j]
        v[j] = vn
        spiking += np.int64(free & (vn > vth))
    return spiking


@nb.njit(cache=True, nogil=True)
def _spikes_of_block(vb, lb, sp, at, j0, vth, limit, step):
    """Append the block's spikes (``v > vth``, not refractory) to ``sp[at:]``; returns the new
    end."""
    for j in range(vb.shape[0]):
        if vb[j] > vth and lb[j] <= limit:
            sp[at] = j0 + j
            at += 1
            lb[j] = step
    return at


@intrinsic
def _prefetch(typingctx, arr, idx):
    """``llvm.prefetch`` of the cache line holding ``arr[idx]`` (read, keep in all levels)."""

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@nb.njit(cache=True, nogil=True, inline="always")
def _prefetch_rows(sp, count, bounds, t, post, w, ds, per_weight, per_delay):
    """Ask for every cache line of the rows of this step's spikes before they are read: a row
    (80 synapses: 5 lines of int32 targets) read in turn would wait for each line after the
    other (memory latency, ~100 ns each once the connectivity outgrows the caches); prefetched,
    the lines of all rows are fetched together."""
    for a in range(count):
        i = sp[a]
        q0, q1 = bounds[i, t], bounds[i, t + 1]
        for q in range(q0, q1, 16):  # 16 int32 per 64-byte line
            _prefetch(post, q)
        if per_weight:
            for q in range(q0, q1, 8):
                _prefetch(w, q)
        if per_delay:
            for q in range(q0, q1, 16):
                _prefetch(ds, q)


@nb.njit(cache=True, nogil=True)
def row_bounds(indptr, post, inner):
    """``bounds[i, t]``: the first synapse of row ``i`` onto part ``t`` (targets ``>= inner[t -
    1]``, local indices; rows ascend), ``bounds[i, 0]`` and ``bounds[i, T]`` the row's ends:
    thread ``t`` reads ``[bounds[i, t], bounds[i, t + 1])``. Found once when the loop is built
    and stored beside the row's ends (one cache line per spike); a bisection per spike in the
    loop was a chain of dependent loads."""
    n, T = indptr.shape[0] - 1, inner.shape[0] + 1
    bounds = np.empty((n, T + 1), dtype=np.int64)
    for i in range(n):
        bounds[i, 0], bounds[i, T] = indptr[i], indptr[i + 1]
        for k in range(T - 1):
            q0, q1 = indptr[i], indptr[i + 1]
            while q0 < q1:
                mid = (q0 + q1) >> 1
                if post[mid] < inner[k]:
                    q0 = mid + 1
                else:
                    q1 = mid
            bounds[i, k + 1] = q0
    return bounds


@nb.njit(cache=True, nogil=True, inline="always")
def _finish_part(step, t, gtab, parts, vreset, Xs, lss, helds, sps, rings, counts, pcounts, ptab,
                 rows, posts, weights, dsteps, pins, pbufs):
    """Synapses and resets slots of step ``step`` for the neurons of part ``t`` of every group:
    propagation onto them, Poisson inputs, ring delivery, restore of refractory ``v``, reset."""
    b = step & 1
    for p in range(ptab.shape[0]):
        src, tgt = ptab[p, P_SRC], ptab[p, P_TGT]
        base, mode, d = ptab[p, P_BASE], ptab[p, P_MODE], ptab[p, P_DELAY]
        bounds, post, w, sp = rows[p], posts[p], weights[p], sps[src][b]
        if mode == MODE_DIRECT:
            out = Xs[tgt].reshape(-1)
            off = base
            D, slot = 1, 0
        else:
            ring = rings[tgt]
            out = ring.reshape(-1)
            D, slot = ring.shape[0], ring.shape[1]
            off = ((step + d) % D) * slot + base
        ds = dsteps[p]
        uniform = ptab[p, P_UNIFORM] != 0  # w holds the one weight of every synapse
        w0 = w[0]
        _prefetch_rows(sp, counts[src], bounds, t, post, w, ds, not uniform,
                       mode == MODE_RING_PER_SYNAPSE)
        for a in range(counts[src]):
            i = sp[a]
            q0, q1 = bounds[i, t], bounds[i, t + 1]
            if mode == MODE_RING_PER_SYNAPSE:
                for q in range(q0, q1):
                    out[((step + ds[q]) % D) * slot + base + post[q]] += w0 if uniform else w[q]
            elif uniform:
                for q in range(q0, q1):
                    out[off + post[q]] += w0
            else:
                for q in range(q0, q1):
                    out[off + post[q]] += w[q]
    for q in range(pins.shape[0]):
        g = pins[q, I_GROUP]
        x, drawn = Xs[g][pins[q, I_ROW]], pbufs[q][step + pins[q, I_SHIFT]]
        for j in range(parts[g, t], parts[g, t + 1]):
            x[j] += drawn[j]
    for g in range(gtab.shape[0]):
        lo, hi = parts[g, t], parts[g, t + 1]
        n, X = gtab[g, G_N], Xs[g]
        D = gtab[g, G_RING_D]
        if D > 1:
            row = rings[g][step % D]
            for k in range(gtab[g, G_K]):
                xk = X[k]
                for j in range(lo, hi):
                    xk[j] += row[k * n + j]
                    row[k * n + j] = 0.0
        if gtab[g, G_CLAMP]:  # spikers count as refractory here; the reset follows anyway
            v, ls, held = X[0], lss[g], helds[g]
            limit = step - gtab[g, G_R]
            for j in range(lo, hi):
                if ls[j] > limit:
                    v[j] = held[j]
        v, sp, vr = X[0], sps[g][b], vreset[g]
        first = 0  # part t's spikes follow those of the parts before it in the merged list
        for u in range(t):
            first += pcounts[g, u]
        for a in range(first, first + pcounts[g, t]):
            v[sp[a]] = vr


@nb.njit(cache=True, nogil=True, inline="always")
def _step_part(step, t, head, tail, gtab, parts, vth, vreset, csts, Xs, Ms, cols0, Ys, lss,
               helds, sps, rings, counts, pcounts, ptab, rows, posts, weights, dsteps, pins,
               pbufs):
    """Thread ``t``'s share of one region: finish step ``step - 1`` (``tail``), then the groups
    and thresholds slots of step ``step`` (``head``) on its neurons."""
    if tail:
        _finish_part(step - 1, t, gtab, parts, vreset, Xs, lss, helds, sps, rings, counts,
                     pcounts[(step - 1) & 1], ptab, rows, posts, weights, dsteps, pins, pbufs)
    if head:
        pc = pcounts[step & 1]
        for g in range(gtab.shape[0]):
            pc[g, t] = _update_part(
                Xs[g], Ms[g], cols0[g], gtab[g, G_NC0], csts[g], Ys[g], lss[g], helds[g],
                sps[g][step & 1], vth[g], gtab[g, G_K], gtab[g, G_R], gtab[g, G_CLAMP],
                gtab[g, G_HOLD], step, parts[g, t], parts[g, t + 1])


@nb.njit(cache=True, nogil=True, inline="always")
def _merge_and_record(step, gtab, parts, sps, counts, pcounts, rec_i, rec_s, rec_n):
    """Gather each group's part spikes into one ascending list, then record them."""
    b = step & 1
    T = parts.shape[1] - 1
    for g in range(gtab.shape[0]):
        sp = sps[g][b]
        total = 0
        for t in range(T):
            lo, c = parts[g, t], pcounts[b][g, t]
            if lo != total:
                for a in range(c):
                    sp[total + a] = sp[lo + a]
            total += c
        counts[g] = total
        if gtab[g, G_REC]:
            r0 = rec_n[g]
            ri, rs = rec_i[g], rec_s[g]
            for a in range(total):
                ri[r0 + a] = sp[a]
                rs[r0 + a] = step
            rec_n[g] = r0 + total


@nb.njit(cache=True, nogil=True, parallel=True)
def run_steps(start, stop, gtab, parts, vth, vreset, csts, Xs, Ms, cols0, Ys, lss, helds, sps,
              rings, counts, pcounts, ptab, rows, posts, weights, dsteps, pins, pbufs, rec_i,
              rec_s, rec_n):
    """Advance from step ``start`` towards ``stop`` with ``T = parts.shape[1] - 1`` threads;
    returns the step reached (earlier than ``stop`` when a spike record buffer could overflow:
    flush and call again). Spikes of the last step are ``sps[g][(reached - 1) & 1]``."""
    T = parts.shape[1] - 1
    G = gtab.shape[0]
    for step in range(start, stop + 1):
        head = step < stop
        for g in range(G):  # stop before a step whose spikes might not fit
            if head and gtab[g, G_REC] and rec_n[g] + gtab[g, G_N] > rec_i[g].shape[0]:
                head = False
        tail = step > start
        if T == 1:
            _step_part(step, 0, head, tail, gtab, parts, vth, vreset, csts, Xs, Ms, cols0, Ys,
                       lss, helds, sps, rings, counts, pcounts, ptab, rows, posts, weights,
                       dsteps, pins, pbufs)
        else:
            for t in nb.prange(T):
                _step_part(step, t, head, tail, gtab, parts, vth, vreset, csts, Xs, Ms, cols0,
                           Ys, lss, helds, sps, rings, counts, pcounts, ptab, rows, posts,
                           weights, dsteps, pins, pbufs)
        if not head:
            return step
        _merge_and_record(step, gtab, parts, sps, counts, pcounts, rec_i, rec_s, rec_n)
    return stop


def split_parts(n: int, threads: int) -> np.ndarray:
    """Bounds ``[threads + 1]`` of ``threads`` contiguous parts of ``n`` neurons (whole blocks)."""
    blocks = -(-n // BLOCK)
    cuts = [min(n, (blocks * t // threads) * BLOCK) for t in range(threads)]
    return np.array(cuts + [n], dtype=np.int64)


__all__ = ["BLOCK", "MODE_DIRECT", "MODE_RING", "MODE_RING_PER_SYNAPSE", "row_bounds",
           "run_steps", "split_parts"]
