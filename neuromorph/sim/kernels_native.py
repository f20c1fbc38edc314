"""Numba kernel of the compiled event loop: many time steps of LIF groups and static synapses.

One call advances the network from ``start`` to at most ``stop`` steps, running Brian2's schedule
(:mod:`neuromorph.sim.network`) for every step with no Python in between:

    groups      Y_k = sum_c M[k, c] X[c]  (the exact LIF step, terms in column order, zero
                entries of M skipped); channels take Y, v takes Y_0 unless refractory
                (``step - lastspike < R``)
    thresholds  spike = v > v_threshold and not refractory; lastspike = step; spikes recorded
    synapses    for every projection, every spike of its source (ascending index), every synapse
                of that row (CSR order): ``target += w`` in the state (no delay) or in the ring
                slot ``(step + d) mod D``; then every ring slot ``step mod D`` is added to the
                state and cleared; ``v`` of refractory neurons is put back (``(unless
                refractory)`` also holds for ``v_post += w``)
    resets      v = v_reset for the neurons that spiked

Sums are done in the same order as the numpy path's, except the state update, whose terms are
added in column order (BLAS may order them differently: the two paths agree to rounding, and
the tests check identical spikes). The arrays are shared with the engine's tensors (no copies).
"""

from __future__ import annotations

import numba as nb

# group table columns (int64)
G_N, G_K, G_R, G_CLAMP, G_RING_D, G_REC, G_HOLD = range(7)
# projection table columns (int64)
P_SRC, P_TGT, P_BASE, P_MODE, P_DELAY = range(5)
MODE_DIRECT, MODE_RING, MODE_RING_PER_SYNAPSE = 0, 1, 2


BLOCK = 512  # neurons per block of the state update (its rows stay in the L1 cache)


@nb.njit(cache=True, nogil=True)
def _row_sum(out, X, Mk, cols, nc, j0, j1):
    """``out[j - j0] = sum_t Mk[cols[t]] X[cols[t], j]`` over the first ``nc`` columns, in
    order, for ``j0 <= j < j1``."""
    nb_ = j1 - j0
    if nc == 0:
        out[:nb_] = 0.0
        return
    c = cols[0]
    m = Mk[c]
    row = X[c, j0:j1]
    for j in range(nb_):
        out[j] = m * row[j]
    for t in range(1, nc):
        c = cols[t]
        m = Mk[c]
        row = X[c, j0:j1]
        for j in range(nb_):
            out[j] += m * row[j]


@nb.njit(cache=True, nogil=True)
def _update_threshold(X, M, cols, ncols, diag, cst, Y, ls, ref, held, flags, sp, vth, K, R,
                      clamp, hold, step):
    """State update and threshold of one group, block by block; returns its number of spikes
    (their indices, ascending, in ``sp``).

    Row 0 (``v``): ``cols[0, :ncols[0]]`` are its columns other than the constant one, whose
    ``M[0, -1] * 1`` is added last as ``cst``. Rows ``k >= 1`` with ``diag[k]`` are
    ``x_k *= M[k, k]`` in place; the others are full row sums (through ``Y``). ``hold``: ``v``
    is not written while refractory; ``clamp``: remember it in ``held`` for the synapses slot.
    """
    n = X.shape[1]
    v = X[0]
    limit = step - R
    count = 0
    for j0 in range(0, n, BLOCK):
        j1 = min(j0 + BLOCK, n)
        nb_ = j1 - j0
        for k in range(1, K):  # rows reading the old state (none for LIF groups)
            if not diag[k]:
                _row_sum(Y[k, j0:j1], X, M[k], cols[k], ncols[k], j0, j1)
        yb = Y[0, j0:j1]
        _row_sum(yb, X, M[0], cols[0], ncols[0], j0, j1)
        vb, lb, rb, fb = v[j0:j1], ls[j0:j1], ref[j0:j1], flags[j0:j1]
        if clamp:
            held[j0:j1] = vb
        any_spike = False
        for j in range(nb_):
            y = yb[j] + cst
            r = R > 0 and lb[j] > limit
            rb[j] = r
            vn = vb[j] if (r and hold) else y
            vb[j] = vn
            f = vn > vth and not r
            fb[j] = f
            any_spike |= f
        if any_spike:
            for j in range(nb_):
                if fb[j]:
                    sp[count] = j0 + j
                    count += 1
                    lb[j] = step
        for k in range(1, K):
            row = X[k, j0:j1]
            if diag[k]:
                a = M[k, k]
                for j in range(nb_):
                    row[j] *= a
            else:
                row[:] = Y[k, j0:j1]
    return count


@nb.njit(cache=True, nogil=True)
def run_steps(start, stop, gtab, vth, vreset, csts, Xs, Ms, cols, ncols, diags, Ys, lss, refs,
              helds, flags, sps, rings, counts, ptab, indptrs, posts, weights, dsteps, rec_i,
              rec_s, rec_n):
    """Advance from step ``start`` towards ``stop``; returns the step reached (earlier than
    ``stop`` when a spike record buffer could overflow: flush and call again)."""
    G = gtab.shape[0]
    P = ptab.shape[0]
    for step in range(start, stop):
        for g in range(G):  # stop before a step whose spikes might not fit
            if gtab[g, G_REC] and rec_n[g] + gtab[g, G_N] > rec_i[g].shape[0]:
                return step
        for g in range(G):  # groups + thresholds slots
            counts[g] = _update_threshold(
                Xs[g], Ms[g], cols[g], ncols[g], diags[g], csts[g], Ys[g], lss[g], refs[g],
                helds[g], flags[g], sps[g], vth[g], gtab[g, G_K], gtab[g, G_R],
                gtab[g, G_CLAMP], gtab[g, G_HOLD], step)
            if gtab[g, G_REC]:
                r0 = rec_n[g]
                ri, rs, sp = rec_i[g], rec_s[g], sps[g]
                for a in range(counts[g]):
                    ri[r0 + a] = sp[a]
                    rs[r0 + a] = step
                rec_n[g] = r0 + counts[g]
        for p in range(P):  # synapses slot: propagation
            src, tgt = ptab[p, P_SRC], ptab[p, P_TGT]
            base, mode, d = ptab[p, P_BASE], ptab[p, P_MODE], ptab[p, P_DELAY]
            indptr, post, w, sp = indptrs[p], posts[p], weights[p], sps[src]
            if mode == MODE_DIRECT:
                flat = Xs[tgt].reshape(-1)
                for a in range(counts[src]):
                    i = sp[a]
                    for q in range(indptr[i], indptr[i + 1]):
                        flat[base + post[q]] += w[q]
            else:
                ring = rings[tgt]
                D = ring.shape[0]
                rflat = ring.reshape(-1)
                slot = ring.shape[1]
                ds = dsteps[p]
                for a in range(counts[src]):
                    i = sp[a]
                    for q in range(indptr[i], indptr[i + 1]):
                        dd = ds[q] if mode == MODE_RING_PER_SYNAPSE else d
                        rflat[((step + dd) % D) * slot + base + post[q]] += w[q]
        for g in range(G):  # delivery of this step's ring slot, then (unless refractory)
            D = gtab[g, G_RING_D]
            X = Xs[g]
            n = gtab[g, G_N]
            if D > 1:
                ring = rings[g]
                s = step % D
                flat = X.reshape(-1)
                for e in range(ring.shape[1]):
                    flat[e] += ring[s, e]
                    ring[s, e] = 0.0
            if gtab[g, G_CLAMP]:
                ref, held = refs[g], helds[g]
                for j in range(n):
                    if ref[j]:
                        X[0, j] = held[j]
        for g in range(G):  # resets slot
            X, sp, vr = Xs[g], sps[g], vreset[g]
            for a in range(counts[g]):
                X[0, sp[a]] = vr
    return stop


__all__ = ["MODE_DIRECT", "MODE_RING", "MODE_RING_PER_SYNAPSE", "run_steps"]
