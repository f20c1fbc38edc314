"""Fused propagation of static projections on the numpy backend.

Static projections that share a source group and a target buffer (the target group's state, or
its ring buffer) are propagated together: their synapses are merged into one padded row index
over the source neurons, so a step costs one ``take`` of addresses, one of weights and one
``np.add.at`` however many projections there are (Brian2's CUBA has two, E and I, from the same
group). The result is the same sum as propagating them one by one.
"""

from __future__ import annotations

import numpy as np

from neuromorph.sim.events_cpu import Propagator, RowIndex
from neuromorph.sim.projections import Projection


class FusedPropagation:
    """One propagation call for several static projections (see the module docstring)."""

    def __init__(self, projections: list[Projection]) -> None:
        first = projections[0]
        first.ops.require("row_layouts", "fused static propagation")
        self.projections = projections
        self.source_group, self.flat, self.D = first.source_group, first.flat, first.D
        self.slot_size = first.slot_size
        rows, addr = [], []
        for p in projections:
            indptr = p.indptr_full.numpy()
            rows.append(np.repeat(np.arange(indptr.size - 1), np.diff(indptr)))
            addr.append(p.addresses()[:-1])
        row = np.concatenate(rows)
        self.order = np.argsort(row, kind="stable")  # merged synapse k <- concatenated order[k]
        counts = np.bincount(row, minlength=self.source_group.n)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        address = np.concatenate([np.concatenate(addr)[self.order], [0]])
        self.prop = Propagator(RowIndex(indptr), address, first.ring_size)
        if self.order.size < 2**31:
            self.order = self.order.astype(np.int32)
        if self.prop.rows.padded:
            self.prop.address = None  # padded rows read the row-layout addresses only
        for p in projections:  # their synapses live here now: drop their own row layouts
            p.release_layout()

    def prepare_run(self) -> None:
        w = np.concatenate([p.np_w[:-1] for p in self.projections])
        weights = np.concatenate([w[self.order], np.zeros(1, dtype=w.dtype)])
        self.prop.freeze_weights(weights)
        # padded rows read the frozen row-layout copy only; CSR rows read the flat weights
        self.weights = None if self.prop.rows.padded else weights

    def __call__(self, step: int) -> None:
        spikes = self.source_group.spikes
        if not spikes.size:
            return
        prop = self.prop
        if prop.rows.padded and not prop.ring_size:  # the common case, inlined
            np.add.at(self.flat, prop.ell_address[spikes].ravel(),
                      prop.ell_weights[spikes].ravel())
            return
        prop(spikes, self.weights, self.flat, (step % self.D) * self.slot_size)


def fuse_static(projections: list[Projection]) -> tuple[list[FusedPropagation], list[Projection]]:
    """Split into fused groups of >= 2 static numpy projections and the remaining projections."""
    groups: dict[tuple[int, int, int], list[Projection]] = {}
    rest: list[Projection] = []
    for p in projections:
        if not p.ops.row_layouts or p.plasticity is not None or p.spike_delay:
            rest.append(p)
            continue
        key = (id(p.source_group), id(p.target_group), p.ring_size)
        groups.setdefault(key, []).append(p)
    fused = []
    for members in groups.values():
        if len(members) > 1:
            fused.append(FusedPropagation(members))
        else:
            rest.extend(members)
    return fused, [p for p in projections if p in rest]


__all__ = ["FusedPropagation", "fuse_static"]
