"""Pair-based STDP on events, with Brian2's ``on_pre`` / ``on_post`` semantics.

Brian2 equivalent of ``STDP(pairing="all_to_all", bounds="additive")`` (its STDP example)::

    Synapses(..., '''w : 1
                     dApre/dt = -Apre / tau_pre : 1 (event-driven)
                     dApost/dt = -Apost / tau_post : 1 (event-driven)''',
             on_pre='''x_post += w
                       Apre += a_pre
                       w = clip(w + Apost, w_min, w_max)''',
             on_post='''Apost += a_post
                        w = clip(w + Apre, w_min, w_max)''')

``pairing="nearest"`` replaces ``Apre += a_pre`` / ``Apost += a_post`` by ``=`` (each spike
pairs only with the nearest spike of the other side). ``bounds="multiplicative"`` applies an
increment ``delta`` as ``w += delta * (w_max - w) / (w_max - w_min)`` when ``delta > 0`` and
``w += delta * (w - w_min) / (w_max - w_min)`` otherwise (soft bounds), then clips.

Traces are kept per neuron (``apre[i]``, ``apost[j]``): for these rules every synapse of neuron
``i`` has the same ``Apre``, so this equals Brian2's per-synapse traces. They decay exactly,
``trace *= exp(-dt / tau)`` once per step at the start of the synapses slot (Brian2 decays its
event-driven traces by ``exp(-(t - lastupdate)/tau)`` when an event arrives: same value).
Within a step the pre pathways run before the post pathways (Brian2 orders them -1 / +1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import Tensor

from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.events_cpu import RowIndex, STDPPathway, csr_ranges

if TYPE_CHECKING:
    from neuromorph.sim.network import Network
    from neuromorph.sim.projections import Projection

PAIRINGS = ("all_to_all", "nearest")
BOUNDS = ("additive", "multiplicative")


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP rule (module docstring). Times in seconds; ``a_*`` in weight units."""

    tau_pre: float
    tau_post: float
    a_pre: float
    a_post: float
    w_max: float
    w_min: float = 0.0
    pairing: Literal["all_to_all", "nearest"] = "all_to_all"
    bounds: Literal["additive", "multiplicative"] = "additive"

    def __post_init__(self) -> None:
        if not (self.tau_pre > 0 and self.tau_post > 0):
            raise ValueError(f"STDP time constants must be > 0 s, got tau_pre={self.tau_pre}, "
                             f"tau_post={self.tau_post}")
        if not self.w_max > self.w_min:
            raise ValueError(f"STDP needs w_max > w_min, got [{self.w_min}, {self.w_max}]")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"unknown pairing {self.pairing!r}; choose one of {list(PAIRINGS)}")
        if self.bounds not in BOUNDS:
            raise ValueError(f"unknown bounds {self.bounds!r}; choose one of {list(BOUNDS)}")

    def bind(self, proj: Projection, net: Network) -> STDPState:
        return STDPState(self, proj, net)


def spike_indices(spikes: Any) -> Tensor:
    """Spiking neuron indices from a backend's spikes (numpy indices/mask or a torch mask)."""
    t = torch.from_numpy(np.ascontiguousarray(spikes)) if isinstance(spikes, np.ndarray) \
        else spikes
    return t.nonzero().flatten() if t.dtype == torch.bool else t.long()


def _ranges(indptr: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
    """``(positions, owner)``: concatenated ``indptr[i]:indptr[i+1]`` over ``idx`` and, for each
    position, the index ``i`` it came from."""
    starts = indptr[idx]
    lens = indptr[idx + 1] - starts
    total = int(lens.sum()) if idx.numel() else 0
    if total == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=indptr.device)
        return empty, empty
    shift = starts - (torch.cumsum(lens, 0) - lens)
    pos = torch.repeat_interleave(shift, lens, output_size=total) + \
        torch.arange(total, device=indptr.device)
    return pos, torch.repeat_interleave(idx, lens, output_size=total)


class EventSynapses:
    """Row (CSR, = synapse order) and column (CSC) index of a plastic projection, on ``device``:
    ``source`` / ``target`` (full-group index of each synapse), ``col_indptr`` and ``col_syn``
    (synapse ids in column order), ``col_source`` (their sources). Used by every rule on events."""

    def __init__(self, proj: Projection, device: torch.device) -> None:
        target = proj.post + proj.t0
        source = proj.pre + proj.s0
        col_order = torch.sort(target, stable=True).indices
        counts = torch.bincount(target, minlength=proj.target_group.n)
        self.row_indptr = proj.indptr_full.to(device)
        self.source, self.target = source.to(device), target.to(device)
        self.col_indptr = torch.cat([torch.zeros(1, dtype=torch.int64),
                                     torch.cumsum(counts, 0)]).to(device)
        self.col_syn = col_order.to(device)
        self.col_source = source[col_order].to(device)

    def of_sources(self, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(synapse ids, source of each, target of each)`` of the spiking sources ``idx``."""
        syn, src = _ranges(self.row_indptr, idx)
        return syn, src, self.target[syn]

    def of_targets(self, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(synapse ids, target of each, source of each)`` of the spiking targets ``idx``."""
        pos, tgt = _ranges(self.col_indptr, idx)
        return self.col_syn[pos], tgt, self.col_source[pos]


class EventSynapsesNumpy:
    """:class:`EventSynapses` on the host as numpy arrays (the numpy backend's rules on events):
    the same ``of_sources`` / ``of_targets``, with index arrays instead of tensors (a step costs
    a few numpy calls instead of a few dozen torch calls)."""

    def __init__(self, proj: Projection) -> None:
        syn = EventSynapses(proj, torch.device("cpu"))
        self.row_indptr = syn.row_indptr.numpy()
        self.col_indptr = syn.col_indptr.numpy()
        self.source, self.target = syn.source.numpy(), syn.target.numpy()
        self.col_syn, self.col_source = syn.col_syn.numpy(), syn.col_source.numpy()

    @staticmethod
    def _ranges(indptr: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = indptr[idx]
        lens = indptr[idx + 1] - starts
        return csr_ranges(indptr, idx), np.repeat(idx, lens)

    def of_sources(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(synapse ids, source of each, target of each)`` of the spiking sources ``idx``."""
        syn, src = self._ranges(self.row_indptr, idx)
        return syn, src, self.target[syn]

    def of_targets(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(synapse ids, target of each, source of each)`` of the spiking targets ``idx``."""
        pos, tgt = self._ranges(self.col_indptr, idx)
        return self.col_syn[pos], tgt, self.col_source[pos]


class STDPState:
    """Runtime of one plastic projection: per-neuron traces and the column (CSC) index.

    On the numpy backend a trace is stored as ``stored * g`` with a scalar ``g`` that decays
    every step (``g *= exp(-dt/tau)``; the array is renormalised when ``g`` drops below 1e-30),
    so the per-step decay costs nothing; on the torch backend the arrays decay in place.
    """

    def __init__(self, rule: STDP, proj: Projection, net: Network) -> None:
        self.rule, self.proj, self.ops = rule, proj, net.ops
        kw = dict(device=net.device, dtype=net.dtype)
        self.pre_s = torch.zeros(proj.source_group.n, **kw)
        self.post_s = torch.zeros(proj.target_group.n, **kw)
        self.g_pre = self.g_post = 1.0
        self.dec_pre = exact_decay(rule.tau_pre, net.dt, name="tau_pre")
        self.dec_post = exact_decay(rule.tau_post, net.dt, name="tau_post")
        self.mult = rule.bounds == "multiplicative"
        self.nearest = rule.pairing == "nearest"
        # numpy row-layout pathways (lazily decaying traces) where the backend has them; they
        # propagate the arriving spikes themselves, in the same pass as the pre update
        self.row_layouts = self.owns_propagation = self.ops.row_layouts
        syn = EventSynapses(proj, torch.device("cpu") if self.row_layouts else net.device)
        if self.row_layouts:
            pad = np.zeros(1, dtype=np.int64)
            self.pre_path = STDPPathway(proj.rows, np.concatenate([syn.target.numpy(), pad]))
            cols = RowIndex(syn.col_indptr.numpy(), syn.col_syn.numpy())
            self.post_path = STDPPathway(cols, np.concatenate([syn.source.numpy(), pad]))
        else:
            self.syn = syn
        self._pre, self._post = self.ops.view(self.pre_s), self.ops.view(self.post_s)

    @property
    def apre(self) -> torch.Tensor:
        """Pre-synaptic traces ``[n_source_group]`` at the current time."""
        return self.pre_s * self.g_pre

    @property
    def apost(self) -> torch.Tensor:
        """Post-synaptic traces ``[n_target_group]`` at the current time."""
        return self.post_s * self.g_post

    def decay(self) -> None:
        """Advance both traces by one step (start of the synapses slot)."""
        if not self.row_layouts:
            self.pre_s.mul_(self.dec_pre)
            self.post_s.mul_(self.dec_post)
            return
        self.g_pre *= self.dec_pre
        self.g_post *= self.dec_post
        if self.g_pre < 1e-30 or self.g_post < 1e-30:
            self._pre *= self.g_pre
            self._post *= self.g_post
            self.g_pre = self.g_post = 1.0

    def _bump(self, stored: Any, spikes: Any, amount: float) -> None:
        if self.nearest:
            self.ops.fill(stored, spikes, amount)
        else:
            self.ops.add_at(stored, spikes, amount)

    def propagate(self, spikes: np.ndarray, step: int) -> None:
        """Row-layout pre pathway in one pass: ``x_post += w``, ``Apre += a_pre``,
        ``w += Apost`` (``step``: unused; the projection has no ring buffer)."""
        if not spikes.size:
            return
        r, proj, path = self.rule, self.proj, self.pre_path
        flat = proj.flat
        rows, w_all = proj.rows, proj.np_w
        if rows.padded:
            syn, addr, who = rows.ell[spikes], proj.prop.ell_address[spikes], \
                path.ell_partner[spikes]
        else:
            syn = rows.synapses(spikes)
            addr, who = proj.prop.address[syn], path.partner[syn]
        w = w_all[syn]
        np.add.at(flat, addr.ravel(), w.ravel())
        self._bump(self._pre, spikes, r.a_pre / self.g_pre)
        delta = self._post[who]
        delta *= self.g_post
        self._apply(w_all, syn, w, delta)

    def _apply(self, w_all: np.ndarray, syn: np.ndarray, w: np.ndarray,
               delta: np.ndarray) -> None:
        r = self.rule
        if self.mult:
            delta = np.where(delta > 0, delta * (r.w_max - w), delta * (w - r.w_min)) / \
                (r.w_max - r.w_min)
        w += delta
        np.maximum(w, r.w_min, out=w)
        np.minimum(w, r.w_max, out=w)
        w_all[syn] = w
        w_all[-1] = 0.0

    def on_pre(self, spikes: Any) -> None:
        """Torch backend: ``Apre += a_pre; w = bound(w + Apost)`` for the spiking sources."""
        r, proj = self.rule, self.proj
        self._bump(self.pre_s, spikes, r.a_pre)
        proj.kernels.stdp_update(spikes, proj.indptr_full, None, self.syn.target, proj.w_full,
                                 self.post_s, r.w_min, r.w_max, self.mult)

    def on_post(self, spikes: Any, step: int = 0) -> None:
        """``Apost += a_post; w = bound(w + Apre)`` for the synapses onto the spiking targets
        (``step``: the current step, unused by this rule)."""
        r, proj = self.rule, self.proj
        if self.row_layouts:
            if not spikes.size:
                return
            self._bump(self._post, spikes, r.a_post / self.g_post)
            path = self.post_path
            if path.rows.padded:
                syn, who = path.rows.ell[spikes], path.ell_partner[spikes]
            else:
                syn = path.rows.synapses(spikes)
                who = path.partner[syn]
            delta = self._pre[who]
            delta *= self.g_pre
            self._apply(proj.np_w, syn, proj.np_w[syn], delta)
            return
        self._bump(self.post_s, spikes, r.a_post)
        syn = self.syn
        proj.kernels.stdp_update(spikes, syn.col_indptr, syn.col_syn, syn.col_source, proj.w_full,
                                 self.pre_s, r.w_min, r.w_max, self.mult)

    def state_dict(self) -> dict[str, Any]:
        """Stored traces and their scales (so a resumed run is bit-identical)."""
        return {"pre": self.pre_s.clone(), "post": self.post_s.clone(),
                "g_pre": float(self.g_pre), "g_post": float(self.g_post)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pre_s.copy_(state["pre"])
        self.post_s.copy_(state["post"])
        self.g_pre, self.g_post = float(state["g_pre"]), float(state["g_post"])


__all__ = ["BOUNDS", "PAIRINGS", "STDP", "EventSynapses", "EventSynapsesNumpy", "STDPState",
           "spike_indices"]
