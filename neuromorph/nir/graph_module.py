"""Run an imported NIR graph: a directed graph of time-major layers, possibly with cycles.

Every node holds a layer (``None`` for NIR ``Input`` / ``Output``: pass-through). A node's input
is the **sum** of its predecessors' outputs (NIR edge semantics). Stateful layers (neurons,
delays, spiking containers) keep their own state; any other module is applied to every step.

- **Acyclic graphs** run layer by layer over all ``T`` steps at once (fast).
- **Graphs with cycles** run step by step. The edges that close a cycle (back edges of a
  depth-first search from the inputs) carry the *previous* step's value: in discrete time a
  recurrent input at step ``t`` comes from the spikes of step ``t - 1`` (as snnTorch's
  ``RLeaky`` and :class:`~neuromorph.networks.spiking_layers.RecurrentSpiking` compute).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from neuromorph.networks.neurons import NeuronBase, NeuronOutput
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)
from neuromorph.nir.convention import NIRConversionError
from neuromorph.nir.layers import Delay


def is_stateful(module: nn.Module | None) -> bool:
    """Whether ``module`` takes ``[T, B, ...]`` with a state (else it is applied per step)."""
    return isinstance(module, (NeuronBase, Delay, SpikingLinear, SpikingConv2d, RecurrentSpiking,
                               SpikingSequential, GraphNetwork))


def module_key(name: str) -> str:
    """A ``nn.ModuleDict`` key for a NIR node name (dots are not allowed in module names)."""
    return name.replace(".", "::")


def _schedule(names: list[str], edges: list[tuple[str, str]], inputs: list[str]
              ) -> tuple[list[str], set[tuple[str, str]]]:
    """``(topological order, back edges)``; back edges close cycles (DFS from the inputs)."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succ[a].append(b)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    on_stack: set[str] = set()

    def dfs(n: str) -> None:
        seen.add(n)
        on_stack.add(n)
        for m in succ[n]:
            if m in on_stack:
                back.add((n, m))
            elif m not in seen:
                dfs(m)
        on_stack.discard(n)

    for i in inputs:
        if i not in seen:
            dfs(i)
    unreached = [n for n in names if n not in seen]
    if unreached:
        raise NIRConversionError(
            f"NIR nodes {unreached} cannot be reached from the graph inputs {inputs}; "
            "connect them or remove them"
        )
    indeg = {n: 0 for n in names}
    for a, b in edges:
        if (a, b) not in back:
            indeg[b] += 1
    ready = [n for n in names if indeg[n] == 0]
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succ[n]:
            if (n, m) not in back:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
    return order, back


class GraphNetwork(nn.Module):
    """A NIR graph as a module: ``forward(x, state=None, *, return_state=False)``.

    ``x`` is ``[T, B, *F]`` for a single input node (or a dict input name -> tensor); the result
    is the output node's tensor (or a dict output name -> tensor when there are several).
    ``node_types`` records each node's NIR type name and ``io_shapes`` the shapes of the
    ``Input`` / ``Output`` nodes, so the graph exports back unchanged.
    """

    def __init__(self, nodes: dict[str, nn.Module | None], edges: Iterable[tuple[str, str]],
                 node_types: dict[str, str], io_shapes: dict[str, tuple[int, ...]]) -> None:
        super().__init__()
        self.node_names = list(nodes)
        self.node_types = dict(node_types)
        self.io_shapes = {k: tuple(v) for k, v in io_shapes.items()}
        self.blocks = nn.ModuleDict({module_key(n): m for n, m in nodes.items() if m is not None})
        self.edges = [(str(a), str(b)) for a, b in edges]
        self.inputs = [n for n in self.node_names if self.node_types[n] == "Input"]
        self.outputs = [n for n in self.node_names if self.node_types[n] == "Output"]
        if not self.inputs or not self.outputs:
            raise NIRConversionError(
                f"a NIR graph needs Input and Output nodes; got inputs {self.inputs}, outputs "
                f"{self.outputs}"
            )
        self.order, self.back_edges = _schedule(self.node_names, self.edges, self.inputs)
        self.preds: dict[str, list[str]] = {n: [] for n in self.node_names}
        for a, b in self.edges:
            self.preds[b].append(a)

    @property
    def cyclic(self) -> bool:
        return bool(self.back_edges)

    def block(self, name: str) -> nn.Module | None:
        key = module_key(name)
        return self.blocks[key] if key in self.blocks else None  # noqa: SIM401 (ModuleDict)

    # ------------------------------------------------------------------ execution
    def _apply(self, name: str, x: Tensor, state: object) -> tuple[Tensor, object]:
        m = self.block(name)
        if m is None:
            return x, None
        try:
            if is_stateful(m):
                out = m(x, state, return_state=True)
                if isinstance(out, NeuronOutput):
                    return out.spikes, out.state
                return out[0], out[1]
            T, B = x.shape[:2]
            y = m(x.reshape(T * B, *x.shape[2:]))
            return y.reshape(T, B, *y.shape[1:]), None
        except (RuntimeError, ValueError, IndexError) as err:
            if isinstance(err, NIRConversionError):
                raise
            raise NIRConversionError(
                f"NIR node {name!r} ({self.node_types.get(name, '?')}, {type(m).__name__}) "
                f"failed on an input of shape {tuple(x.shape)} (time-major [T, B, ...]): {err}"
            ) from err

    def _inputs(self, x: Tensor | dict[str, Tensor]) -> dict[str, Tensor]:
        if isinstance(x, dict):
            missing = [n for n in self.inputs if n not in x]
            if missing:
                raise ValueError(f"missing inputs {missing}; this graph takes {self.inputs}")
            return dict(x)
        if len(self.inputs) != 1:
            raise ValueError(f"this graph has inputs {self.inputs}; pass a dict name -> tensor")
        return {self.inputs[0]: x}

    def forward(self, x: Tensor | dict[str, Tensor], state: dict | None = None, *,
                return_state: bool = False) -> Tensor | dict | tuple:
        feed = self._inputs(x)
        for t in feed.values():
            if not isinstance(t, Tensor) or t.dim() < 3:
                raise ValueError("GraphNetwork expects time-major inputs [T, B, *features]")
        run = self._run_steps if self.cyclic else self._run_layers
        values, states = run(feed, dict(state or {}))
        outs = {n: values[n] for n in self.outputs}
        y: Tensor | dict = outs[self.outputs[0]] if len(outs) == 1 else outs
        return (y, states) if return_state else y

    def _gather(self, name: str, feed: dict[str, Tensor], cur: dict[str, Tensor],
                prev: dict[str, Tensor]) -> Tensor:
        if name in feed:
            return feed[name]
        parts = []
        for p in self.preds[name]:
            src = prev if (p, name) in self.back_edges else cur
            if p in src:
                parts.append(src[p])
        if not parts:
            raise NIRConversionError(f"NIR node {name!r} has no input on the first step; a "
                                     "cycle must be entered from an Input node")
        out = parts[0]
        for q in parts[1:]:
            if q.shape != out.shape:
                raise NIRConversionError(
                    f"NIR node {name!r} sums inputs of different shapes {tuple(out.shape)} and "
                    f"{tuple(q.shape)}; check the shapes of its predecessors {self.preds[name]}"
                )
            out = out + q
        return out

    def _run_layers(self, feed: dict[str, Tensor], states: dict) -> tuple[dict, dict]:
        values: dict[str, Tensor] = {}
        new_states: dict = {}
        for n in self.order:
            values[n], new_states[n] = self._apply(n, self._gather(n, feed, values, {}),
                                                   states.get(n))
        return values, new_states

    def _rest_outputs(self, step_feed: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each back-edge source's output at step ``-1``: the source applied to a zero input
        with a fresh state (a recurrent ``Affine`` thus contributes its bias at step 0, as in
        snnTorch). The input shapes come from one trial step without the back edges."""
        shapes: dict[str, torch.Size] = {}
        with torch.no_grad():
            cur: dict[str, Tensor] = {}
            for n in self.order:
                x = self._gather(n, step_feed, cur, {})
                shapes[n] = x.shape
                cur[n] = self._apply(n, x, None)[0]
        sources = {a for a, _ in self.back_edges}
        like = next(iter(step_feed.values()))
        return {a: self._apply(a, like.new_zeros(shapes[a]), None)[0] for a in sources}

    def _run_steps(self, feed: dict[str, Tensor], states: dict) -> tuple[dict, dict]:
        T = next(iter(feed.values())).shape[0]
        prev: dict[str, Tensor] = dict(states.pop("__prev__", {}))
        if not prev and T:
            prev = self._rest_outputs({k: v[:1] for k, v in feed.items()})
        traces: dict[str, list[Tensor]] = {n: [] for n in self.node_names}
        for t in range(T):
            step_feed = {k: v[t:t + 1] for k, v in feed.items()}
            cur: dict[str, Tensor] = {}
            for n in self.order:
                cur[n], states[n] = self._apply(n, self._gather(n, step_feed, cur, prev),
                                                states.get(n))
                traces[n].append(cur[n])
            prev = cur
        values = {n: torch.cat(v, dim=0) for n, v in traces.items() if v}
        states["__prev__"] = {a: prev[a] for a, _ in self.back_edges}
        return values, states

    def extra_repr(self) -> str:
        return (f"nodes={len(self.node_names)}, edges={len(self.edges)}, "
                f"cyclic={self.cyclic}")


__all__ = ["GraphNetwork", "is_stateful", "module_key"]
