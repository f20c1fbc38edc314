"""Saved models: ``NAME.json`` (the spec) beside ``NAME.pt`` (the trained state), nothing else.

``NAME.json``::

    {"format": "neuromorph-model", "version": 1, "dt": 0.001, "spec": {...}, "info": {...}}

``spec`` is :meth:`neuromorph.specs.Spec.to_dict` of the network, ``dt`` the step (s) its
spiking layers run at (``null`` when it has none), ``info`` free-form JSON (classes, seed ...).
``NAME.pt`` is the module's ``state_dict``: tensors only, so it loads with
``torch.load(weights_only=True)`` and no code runs while loading. :func:`load_model` rebuilds the
module from the spec (:func:`neuromorph.models.spec_modules.build_module`), so no experiment
code is needed to reload or export a trained model. An event-engine network is saved the same
way with its spec graph as ``spec`` and its weights as the state
(:mod:`neuromorph.models.engine_file`); :func:`load_model` reloads both kinds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from neuromorph.errors import NeuromorphError
from neuromorph.models.spec_modules import build_module, module_spec
from neuromorph.networks.neurons import NeuronBase
from neuromorph.specs import Spec, spec_from_dict

if TYPE_CHECKING:
    from neuromorph.sim.network import Network

FORMAT, VERSION = "neuromorph-model", 1


class ModelFileError(NeuromorphError, ValueError):
    """A saved model cannot be read or rebuilt; the message names the file and the fix."""


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def module_dt(module: nn.Module) -> float | None:
    """The step (s) of the module's spiking layers, ``None`` when it has none; layers with
    different steps raise (a saved model has one ``dt``)."""
    steps = {float(m.dt) for m in module.modules() if isinstance(m, NeuronBase)}
    if len(steps) > 1:
        raise ModelFileError(f"the model's layers run at different steps {sorted(steps)} s; "
                             "a saved model has one dt")
    return steps.pop() if steps else None


def save_model(folder: str | Path, module: nn.Module, *, dt: float | None = None,
               name: str = "model", info: dict[str, Any] | None = None) -> Path:
    """Write the files ``folder/NAME.json`` and ``folder/NAME.pt`` and return the json path.

    ``dt`` defaults to the step of the spiking layers of the module (:func:`module_dt`)."""
    dt = module_dt(module) if dt is None else float(dt)
    spec = module_spec(module)
    doc = {"format": FORMAT, "version": VERSION, "dt": dt, "spec": spec.to_dict(),
           "info": info or {}}
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    return write_model_files(Path(folder), name, doc, state)


def write_model_files(folder: Path, name: str, doc: dict[str, Any], state: Any) -> Path:
    """Write ``doc`` as ``NAME.json`` and ``state`` (tensors in dicts) as ``NAME.pt``, each
    atomically, the state first (a json file always has its state beside it)."""
    text = json.dumps(doc, indent=1)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)  # NAME may hold a subfolder
    _atomic(folder / f"{name}.pt", lambda p: torch.save(state, p))
    json_path = folder / f"{name}.json"
    _atomic(json_path, lambda p: p.write_text(text))
    return json_path


def read_spec(path: str | Path) -> tuple[Spec, float | None, dict[str, Any]]:
    """``(spec, dt, info)`` of a saved model's json file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not a readable model spec ({err}); rerun the "
                             "experiment to write it again") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a neuromorph model spec (no "
                             f"'format': '{FORMAT}')")
    if doc.get("version") != VERSION:
        raise ModelFileError(f"{path} has model format version {doc.get('version')}; this "
                             f"neuromorph reads version {VERSION}")
    try:
        spec = spec_from_dict(doc["spec"])
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: bad spec ({err})") from None
    return spec, doc.get("dt"), dict(doc.get("info") or {})


def model_paths(path: str | Path) -> tuple[Path, Path]:
    """``(json, pt)`` for a run folder, a ``NAME.json`` or a ``NAME.pt``."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.json"
    stem = path.name.removesuffix(".json").removesuffix(".pt")  # NAME may itself hold dots
    return path.with_name(f"{stem}.json"), path.with_name(f"{stem}.pt")


def read_state(json_path: Path, pt_path: Path) -> Any:
    """The tensors of ``NAME.pt`` (``weights_only``: no code runs); one-line errors."""
    try:
        return torch.load(pt_path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{pt_path} (the trained state beside {json_path.name}) is "
                             "missing") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise ModelFileError(f"{pt_path} is corrupt or not a state dict ({first}); rerun the "
                             "experiment") from None


def load_model(path: str | Path) -> tuple[nn.Module | Network, dict[str, Any]]:
    """The saved model and its ``info``: a module (eval mode, trained state loaded), or, for a
    saved event-engine network, the engine :class:`~neuromorph.sim.Network` built again
    (:func:`neuromorph.models.engine_file.load_engine_network`)."""
    json_path, pt_path = model_paths(path)
    if not json_path.is_file():
        raise ModelFileError(f"{json_path} does not exist; a run folder holds model.json only "
                             "when its experiment trains a model")
    spec, dt, info = read_spec(json_path)
    from neuromorph.models.engine_file import is_engine_graph, load_engine_network

    if is_engine_graph(spec):
        return load_engine_network(json_path)
    module = build_module(spec, dt if dt is not None else 1.0)
    state = read_state(json_path, pt_path)
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0][:200]
        raise ModelFileError(f"{pt_path} does not fit the spec in {json_path.name} ({first})"
                             ) from None
    return module.eval(), info


__all__ = ["FORMAT", "VERSION", "ModelFileError", "load_model", "model_paths", "module_dt",
           "read_spec", "read_state", "save_model", "write_model_files"]
