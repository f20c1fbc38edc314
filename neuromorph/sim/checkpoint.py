"""Checkpoint and resume a running network (state, weights, ring buffers, traces, RNG, monitors).

``save_checkpoint(net, path)`` writes everything a run depends on; ``load_checkpoint(net, path)``
restores it into a network built *the same way* (same objects, names, sizes, dt). Continuing
from a checkpoint gives exactly the spikes of an uninterrupted run (tested).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from neuromorph.sim.network import Network

FORMAT = 1


def _layout(net: Network) -> list[tuple[str, str]]:
    return [(o.name, type(o).__name__) for o in net.objects]


def network_state(net: Network) -> dict[str, Any]:
    """Everything needed to resume ``net`` (tensors on the CPU)."""
    net.build()
    net.flush()
    return {
        "format": FORMAT,
        "dt": net.dt,
        "step": net.step,
        "dtype": str(net.dtype),
        "layout": _layout(net),
        "objects": {o.name: _cpu(o.state_dict()) for o in net.objects if hasattr(o, "state_dict")},
        "generators": {k: g.get_state() for k, g in net._generators.items()},
    }


def load_network_state(net: Network, state: dict[str, Any]) -> None:
    """Restore :func:`network_state` output into an identically built ``net``."""
    net.build()
    if state.get("format") != FORMAT:
        raise ValueError(f"unsupported checkpoint format {state.get('format')!r}")
    if abs(state["dt"] - net.dt) > 1e-15 or state["layout"] != _layout(net):
        raise ValueError(
            "the checkpoint belongs to a different network: build the network with the same "
            f"objects, names and dt (checkpoint dt={state['dt']}, layout={state['layout']}; "
            f"this network dt={net.dt}, layout={_layout(net)})")
    for o in net.objects:
        if o.name in state["objects"]:
            o.load_state_dict(_to(state["objects"][o.name], net.device))
    for k, s in state["generators"].items():
        net.generator(k).set_state(s)
    net.step = int(state["step"])


def save_checkpoint(net: Network, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network_state(net), path)
    return path


def load_checkpoint(net: Network, path: str | Path) -> None:
    load_network_state(net, torch.load(Path(path), weights_only=True))


def _cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_cpu(v) for v in obj]
    return obj


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to(v, device) for v in obj]
    return obj


__all__ = ["load_checkpoint", "load_network_state", "network_state", "save_checkpoint"]
