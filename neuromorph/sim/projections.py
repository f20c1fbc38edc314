"""Projections: sparse synapses in CSR, current- or conductance-based targets, delays, STDP.

Brian2 equivalent of ``Projection(src, tgt, "ge", conn, weight=w, delay=d)``::

    S = Synapses(src, tgt, 'w : 1', on_pre='ge_post += w', delay=d)
    S.connect(i=proj.pre, j=proj.post); S.w = proj.weights

Each synapse ``s`` (sorted by ``(pre, post)``: the CSR order) has a weight and a delay in steps
``int(delay/dt + 0.5)``. A spike of source ``i`` at step ``n`` adds ``w[s]`` to the target
variable of ``post[s]`` in the synapses slot of step ``n + delay[s]``.

How the effect travels: projections whose delays are all zero add straight into the target
group's state; the others write into the target group's ring buffer ``[D, (1 + C) n]`` at slot
``(n + d) mod D`` (D = longest delay + 1), which the group adds to its state and clears in the
synapses slot of each step. A plastic projection takes one homogeneous delay, applied to the
spikes (Brian2 runs the whole ``on_pre`` - propagation and the pre-synaptic STDP update - at
arrival time, reading the weight then); it keeps the last ``d`` steps of source spikes.
Short-term plasticity (:class:`~neuromorph.sim.short_term.TsodyksMarkram`) is passed the same
way, as ``plasticity=``, and propagates ``w * u * x`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from neuromorph.sim.backend_events import Queue
from neuromorph.sim.connectivity import Connector, FromIndices, csr_indptr, from_indices
from neuromorph.sim.events_cpu import CHUNK, Propagator, RowIndex
from neuromorph.sim.groups import NeuronGroup, SpikeSource, Subgroup, resolve
from neuromorph.sim.plasticity import STDP, STDPState
from neuromorph.sim.plasticity_events import RewardSTDPRule, TripletSTDPRule
from neuromorph.sim.propagators import delay_steps
from neuromorph.sim.short_term import TsodyksMarkram

if TYPE_CHECKING:
    from neuromorph.sim.network import Network

WeightSpec = float | Tensor | Callable[[int, torch.Generator | None], Tensor]


def _values(value: WeightSpec, nnz: int, gen: torch.Generator | None, what: str) -> Tensor:
    """Scalar / array / callable -> a float64 tensor, 0-d (one shared value) or ``[nnz]``,
    checked (finite); an array the caller gave stays its own (not copied when float64)."""
    if callable(value) and not isinstance(value, Tensor):
        value = value(nnz, gen)
    t = torch.as_tensor(np.asarray(value) if not isinstance(value, Tensor) else value,
                        dtype=torch.float64)
    if t.dim() and tuple(t.shape) != (nnz,):
        raise ValueError(f"{what} must be a scalar or have one entry per synapse ({nnz}), got "
                         f"shape {list(t.shape)}")
    if not blockwise_all(t, torch.isfinite):
        raise ValueError(f"{what} contains NaN or inf")
    return t


def blockwise_all(t: Tensor, test: Callable[[Tensor], Tensor]) -> bool:
    """``bool(test(t).all())`` evaluated block by block (``torch.isfinite`` alone makes a
    full-size float temporary)."""
    if t.dim() == 0:
        return bool(test(t))
    return all(bool(test(t[start:start + CHUNK]).all()) for start in range(0, t.numel(), CHUNK))


def _take(values: Tensor, order: Tensor | None, out: Tensor) -> Tensor:
    """``out[:] = values[order]`` (``values`` when ``order`` is None), cast to ``out``'s dtype
    block by block: no full-size temporary besides ``out``."""
    for start in range(0, values.numel(), CHUNK):
        stop = min(start + CHUNK, values.numel())
        out[start:stop] = values[start:stop] if order is None else values[order[start:stop]]
    return out


def _per_synapse(value: WeightSpec, nnz: int, gen: torch.Generator | None, what: str,
                 order: Tensor | None, out: Tensor) -> Tensor:
    """Fill ``out`` (``[nnz]``, float) with a scalar / array / callable; an array given with
    explicit index lists is permuted by ``order`` into the CSR order (a callable's result is in
    CSR order already)."""
    callable_ = callable(value) and not isinstance(value, Tensor)
    t = _values(value, nnz, gen, what)
    if t.dim() == 0:
        return out.fill_(float(t))
    return _take(t, None if callable_ else order, out)


def _delays(value: WeightSpec, nnz: int, gen: torch.Generator | None,
            order: Tensor | None) -> Tensor:
    """The delays in seconds ``[nnz]``: one shared value (also when an array holds one value
    only) as a read-only expanded view, costing no memory per synapse; else a float64 copy in
    the CSR order (kept until the network's ``dt`` turns it into steps, :func:`_delay_steps`)."""
    callable_ = callable(value) and not isinstance(value, Tensor)
    t = _values(value, nnz, gen, "delay")
    if not blockwise_all(t, lambda x: x >= 0):
        raise ValueError("delays must be >= 0 seconds")
    if t.dim() == 0 or nnz == 0 or blockwise_all(t, lambda x: x == t[0]):
        return (t.reshape(-1)[:1] if nnz else torch.zeros(1, dtype=torch.float64)).clone() \
            .reshape(()).expand(nnz)
    return _take(t, None if callable_ else order, torch.empty(nnz, dtype=torch.float64))


def _uniform(weight: WeightSpec) -> float | None:
    """The weight as a number when it is one scalar shared by every synapse, else None."""
    if callable(weight) and not isinstance(weight, Tensor):
        return None
    t = torch.as_tensor(np.asarray(weight) if not isinstance(weight, Tensor) else weight,
                        dtype=torch.float64)
    if t.dim():
        return None
    if not torch.isfinite(t):
        raise ValueError("weight contains NaN or inf")
    return float(t)


def _delay_steps(delay: Tensor, dt: float, slot_size: int) -> Tensor:
    """:func:`delay_steps` of the delays in seconds: int32 while every ring address
    ``step * slot_size + target`` fits in it, else int64; computed once and expanded when the
    delay is one shared value, else block by block (no int64 or float temporaries of full size).
    The delay is monotone in seconds, so the longest delay in steps is that of the longest."""
    n = delay.numel()
    longest = int(delay_steps(delay.max().reshape(1), dt)[0]) if n else 0
    dtype = torch.int32 if (longest + 1) * max(slot_size, 1) < 2**31 else torch.int64
    if n and delay.stride() == (0,):
        return delay_steps(delay[:1], dt).to(dtype).expand(n)
    out = torch.empty(n, dtype=dtype)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        out[start:stop] = delay_steps(delay[start:stop], dt)
    return out


class Projection:
    """Synapses from ``source`` onto variable ``target_var`` of ``target`` (module docstring)."""

    def __init__(
        self, source: SpikeSource | Subgroup, target: NeuronGroup | Subgroup, target_var: str,
        connectivity: Connector | tuple[Tensor, Tensor], *, weight: WeightSpec,
        delay: float | Tensor = 0.0,
        plasticity: STDP | TripletSTDPRule | RewardSTDPRule | TsodyksMarkram | None = None,
        generator: torch.Generator | None = None, seed: int | None = None,
        name: str | None = None,
    ) -> None:
        self.source_group, self.s0, self.s1 = resolve(source)
        self.target_group, self.t0, self.t1 = resolve(target)
        if not isinstance(self.target_group, NeuronGroup):
            raise TypeError(f"a projection targets a neuron group, got "
                            f"{type(self.target_group).__name__}")
        self.target_var, self.name, self.plasticity = target_var, name, plasticity
        self.row = self.target_group.target_row(target_var)
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        if isinstance(connectivity, tuple):
            connectivity = from_indices(*connectivity)
        same = self.source_group is self.target_group
        diag = self.s0 - self.t0 if same else None
        n_pre, n_post = self.s1 - self.s0, self.t1 - self.t0
        order = None  # explicit lists: the permutation into the CSR order (None: in it)
        if isinstance(connectivity, FromIndices):
            pre, post, order = connectivity.unsorted(n_pre, n_post)
        else:
            pre, post = connectivity(n_pre, n_post, generator, diag)
        # local target indices: int32 (half the memory) when they fit; the source indices are
        # not stored (``pre`` rebuilds them from the row pointer on demand)
        self._small = max(n_pre, n_post) < 2**31
        self.nnz = int(post.numel())
        self.post = _take(post, order, torch.empty(self.nnz, dtype=torch.int32 if self._small
                                                   else torch.int64))
        self.indptr = csr_indptr(pre, n_pre)  # (row counts: the order of ``pre`` is irrelevant)
        del pre, post
        # one weight shared by every synapse is kept as a number until the per-synapse array is
        # first asked for (:attr:`w_full`): a compiled run never asks, so a static synapse of a
        # uniform projection stores only its target index
        self._w: Tensor | None = None
        self._np_w: Any = None
        self._w_dtype, self._w_device = torch.float64, torch.device("cpu")
        self._w_uniform = _uniform(weight)
        if self._w_uniform is None:
            self._w = torch.zeros(self.nnz + 1, dtype=torch.float64)
            _per_synapse(weight, self.nnz, generator, "weight", order, self._w[: self.nnz])
        # seconds until the network's dt is known; then per-synapse delays are kept as steps only
        self._delay_s: Tensor | None = _delays(delay, self.nnz, generator, order)
        self._dt = 0.0
        del order
        if plasticity is not None and self.nnz and self._delay_s.stride() != (0,):
            raise ValueError("a plastic projection takes one homogeneous delay; split it into "
                             "several projections or make it static")
        self.built = False
        # numpy backend: (addresses, ring size) until the row layout is first needed
        self._layout: tuple[np.ndarray, int] | None = None
        self._prop: Propagator | None = None
        self._rows: RowIndex | None = None

    # ------------------------------------------------------------------ public state
    @property
    def pre(self) -> Tensor:
        """Local source index of every synapse ``[nnz]`` (CSR order; int32 when it fits),
        rebuilt from :attr:`indptr` on each access: a static synapse stores only its target."""
        rows = torch.arange(self.indptr.numel() - 1, dtype=torch.int32 if self._small
                            else torch.int64)
        return torch.repeat_interleave(rows, torch.diff(self.indptr), output_size=self.nnz)

    @property
    def w_full(self) -> Tensor:
        """The weights ``[nnz + 1]`` (pad weight 0 last), made on first use when one value is
        shared by every synapse."""
        if self._w is None:
            w = torch.full((self.nnz + 1,), self._w_uniform, dtype=self._w_dtype,
                           device=self._w_device)
            w[-1] = 0.0
            self._w = w
        return self._w

    @w_full.setter
    def w_full(self, value: Tensor) -> None:
        self._w, self._np_w = value, None

    @property
    def uniform_weight(self) -> float | None:
        """The weight every synapse shares while no per-synapse array exists, else None."""
        return self._w_uniform if self._w is None else None

    @property
    def np_w(self) -> Any:
        """The backend's view of :attr:`w_full` (kept once made)."""
        if self._np_w is None:
            self._np_w = self.ops.view(self.w_full)
        return self._np_w

    @property
    def weights(self) -> Tensor:
        """Live view ``[nnz]`` of the weights (write in place, e.g. ``proj.weights[:] = w``)."""
        return self.w_full[: self.nnz]

    @property
    def delay(self) -> Tensor:
        """The delay of every synapse in seconds ``[nnz]`` (one shared value: an expanded view).
        Once built, per-synapse delays are kept as whole steps only (4 bytes a synapse) and read
        back as ``steps * dt``, the delays simulated: made on each access."""
        if self._delay_s is not None:
            return self._delay_s
        return self._dsteps.to(torch.float64) * self._dt

    @property
    def delay_steps(self) -> Tensor:
        if not self.built:
            raise RuntimeError("delay_steps are known once the projection is in a Network (dt)")
        return self._dsteps

    def get(self, var: str) -> Tensor:
        if var != "w":
            raise KeyError(f"a projection records only 'w', got {var!r}")
        return self.weights

    # ------------------------------------------------------------------ build
    def _build(self, net: Network) -> None:
        self.ops = net.ops
        self._w_dtype, self._w_device = net.dtype, net.device
        if self._w is not None:
            self.w_full = self._w.to(net.device, net.dtype)
        tg = self.target_group
        self.slot_size = tg.n_targets * tg.n
        self._dsteps = _delay_steps(self.delay, net.dt, self.slot_size)
        self._dt = net.dt
        if self._dsteps.stride() != (0,):
            self._delay_s = None  # per synapse: the steps are what is simulated
        n_src = self.source_group.n
        self.indptr_full = torch.cat([
            torch.zeros(self.s0, dtype=torch.int64), self.indptr,
            torch.full((n_src - self.s1,), self.nnz, dtype=torch.int64)])
        max_d = int(self._dsteps.max()) if self.nnz else 0
        self.spike_delay = max_d if self.plasticity is not None else 0
        self.ring_depth = max_d + 1 if (self.plasticity is None and max_d > 0) else 1
        # into the flat [v, channels] block; needed until _bind only
        self.address: Tensor | None = self.post.to(torch.int64, copy=True).add_(
            self.row * tg.n + self.t0)
        self.stdp: STDPState | Any | None = None  # the bound rule's runtime
        self.built = True

    def _bind(self, net: Network) -> None:
        """Second build stage, once the target's ring depth is known."""
        tg, ops = self.target_group, net.ops
        ring = self.ring_depth > 1
        self.D = tg.ring.shape[0] if ring else 1
        self.kernels = None
        ops.bind_propagation(self, net, ring)
        self.address = None  # the propagator / kernels hold their own copy
        self.queue: Queue | None = ops.spike_queue(self.spike_delay, self.source_group.n,
                                                   net.device) if self.spike_delay else None
        if self.plasticity is not None:
            self.stdp = self.plasticity.bind(self, net)

    # ------------------------------------------------------------------ numpy row layout
    @property
    def prop(self) -> Propagator | None:
        """The numpy propagator (row layout built on first use; None once the projection was
        fused with others, which then hold its synapses)."""
        if self._prop is None and self._layout is not None:
            addr, ring_size = self._layout
            self._rows = RowIndex(self.indptr_full.numpy())
            self._prop = Propagator(self._rows, addr, ring_size)
            self._layout = None
            if self._rows.padded and self.plasticity is None:
                # a static projection in padded rows reads the row-layout addresses only
                self._prop.address = None
        return self._prop

    @property
    def rows(self) -> RowIndex | None:
        """The numpy row index of the synapses (see :attr:`prop`)."""
        _ = self.prop
        return self._rows

    def addresses(self) -> np.ndarray:
        """Flat target address of every synapse (numpy backend, ``[nnz + 1]``, pad last)."""
        if self._layout is not None:
            return self._layout[0]
        if self._prop is None or self._prop.address is None:
            raise RuntimeError("this projection's addresses were released")
        return self._prop.address

    def release_layout(self) -> None:
        """Drop the numpy row layout (its synapses now live in a fused propagation)."""
        self._layout = self._prop = self._rows = None

    def prepare_run(self) -> None:
        """Refresh the backend's cached weights (e.g. a static row layout) before a run."""
        self.ops.prepare_propagation(self)

    # ------------------------------------------------------------------ per step
    def _arrivals(self, step: int) -> Any:
        spikes = self.source_group.spikes
        if self.queue is None:
            return spikes
        return self.queue.swap(step % self.spike_delay, spikes)

    def pre_pathway(self, step: int) -> None:
        """Synapses slot, pre side: propagate arriving spikes, then the STDP pre update."""
        stdp = self.stdp
        if stdp is not None:
            stdp.decay()
        spikes = self._arrivals(step)
        if stdp is not None and stdp.owns_propagation:  # rules that propagate themselves
            stdp.propagate(spikes, step)
            return
        self.ops.propagate(self, spikes, step)
        if stdp is not None:
            stdp.on_pre(spikes)

    def post_pathway(self, step: int) -> None:
        """Synapses slot, post side (plastic projections): the STDP post update."""
        self.stdp.on_post(self.target_group.spikes, step)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"w": self.w_full.clone()}
        if self.queue is not None:
            out["queue"] = self.queue.state()
        if self.stdp is not None:
            out["stdp"] = self.stdp.state_dict()
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.w_full.copy_(state["w"])
        if self.queue is not None:
            self.queue.load(state["queue"])
        if self.stdp is not None:
            self.stdp.load_state_dict(state["stdp"])

    def __repr__(self) -> str:
        return (f"Projection({self.name!r}, {self.nnz} synapses -> {self.target_var}, "
                f"plastic={self.plasticity is not None})")


__all__ = ["Projection", "WeightSpec"]
