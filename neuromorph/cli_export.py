"""CLI commands ``neuromorph export MODEL --to nir OUT.nir`` and ``neuromorph inspect FILE.nir``.

``MODEL`` is a run folder (or its ``model.json`` / ``model.pt``): the network is rebuilt from the
spec in ``model.json`` and its state in ``model.pt`` (:mod:`neuromorph.models`), with no
experiment code imported. An event-engine network's folder (a spec graph + weights) is written
straight through :func:`neuromorph.nir.spec_nodes.graph_to_nir` (no module is built); a model
of physical systems (or another spec whose ``no_nir_node`` says why) has no NIR form and is
refused, naming :func:`neuromorph.models.load_model`.
A torch-saved module (``torch.save(net, "net.pt")``) is accepted too; a pickled module can run
code when loaded, so it is refused unless ``--trust-pickle`` says the user wrote it. Nothing
here imports ``torch`` or ``nir`` until a command runs (``neuromorph --help`` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuromorph.errors import NeuromorphError

if TYPE_CHECKING:
    from torch import nn


class ModelLoadError(NeuromorphError, ValueError):
    """``MODEL`` cannot be turned into a network; the message says why and what to pass."""


def _load(path: Path, trust_pickle: bool) -> Any:
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as err:
        if not trust_pickle and "weights_only" in str(err):
            raise ModelLoadError(
                f"{path} holds pickled Python objects (e.g. a whole module), which can run code "
                "when loaded; export a run folder (model.json + model.pt), or pass "
                "--trust-pickle if you saved this file yourself"
            ) from None
        raise ModelLoadError(f"{path} is corrupt or not a torch file ({_first_line(err)}); "
                             "re-save it with torch.save or rerun the experiment") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad model file
        raise ModelLoadError(f"{path} is corrupt or not a torch file ({_first_line(err)}); "
                             "re-save it with torch.save or rerun the experiment") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


@dataclass(frozen=True)
class SavedGraph:
    """A saved event-engine network as NIR takes it: spec graph + weights (numpy)."""

    graph: Any
    weights: dict[str, dict[str, Any]]


#: spec kind -> what in it NIR (a format for spiking and neuromorphic graphs) cannot describe


def _no_nir_form(spec: Any) -> list[Any]:
    """The specs inside ``spec`` that NIR cannot describe (their ``no_nir_node`` says why:
    physical systems, the rules matrix's substrate networks, Diehl & Cook's competitive layer;
    none: ``[]``)."""
    from neuromorph import specs

    if spec.no_nir_node and not isinstance(spec, specs.Channel):  # channels: engine graphs
        return [spec]
    inner = (spec.layers if isinstance(spec, specs.Sequential)
             else spec.nodes.values() if isinstance(spec, specs.Graph)
             else (spec.synapse,) if isinstance(spec, specs.SpikingLinear) else ())
    return [k for s in inner for k in _no_nir_form(s)]


def _load_saved(spec_file: Path) -> nn.Module | SavedGraph:
    from neuromorph.models import ModelFileError as SpecFileError
    from neuromorph.models import is_engine_graph, read_engine_graph, read_spec
    from neuromorph.models import load_model as load_saved

    try:
        spec, _, _ = read_spec(spec_file)
        if is_engine_graph(spec):
            graph, weights, _, _ = read_engine_graph(spec_file)
            return SavedGraph(graph, weights)
        physical = _no_nir_form(spec)
        if physical:
            raise ModelLoadError(
                f"{spec_file} holds a {physical[0].kind} ({physical[0].no_nir_node}), which NIR (a "
                "format for spiking and neuromorphic graphs) cannot describe; reload it in "
                f"Python with neuromorph.models.load_model({str(spec_file.parent)!r})")
        return load_saved(spec_file)[0]
    except SpecFileError as err:
        raise ModelLoadError(str(err)) from None


def load_model(path: str | Path, trust_pickle: bool = False) -> nn.Module | SavedGraph:
    """The network stored at ``path`` (see the module docstring for the accepted forms)."""
    from torch import nn

    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"model {str(path)!r} does not exist")
    spec_file = path / "model.json" if path.is_dir() else path.with_suffix(".json")
    if spec_file.is_file():
        return _load_saved(spec_file)
    if path.is_dir() and sorted((path / "networks").glob("*.json")):
        first = sorted((path / "networks").glob("*.json"))[0]
        raise ModelLoadError(f"{path} holds one trained network per cell in networks/, not one "
                             f"model.json; give one of them, e.g. {first}")
    if path.is_dir():
        raise ModelLoadError(f"{path} holds no model.json: its experiment trains no network "
                             "that can be exported (or the run did not finish); give a run "
                             "folder of snn-digits, phyll-vowels, deploy-digits, ...")
    obj = _load(path, trust_pickle)
    if isinstance(obj, nn.Module):
        return obj.eval()
    raise ModelLoadError(f"{path} holds a {type(obj).__name__} and no {spec_file.name} beside "
                         "it; pass a run folder (or its model.json), or a torch-saved module "
                         "with --trust-pickle")


def _require_nir() -> None:
    """The optional ``nir`` package, or one line saying how to install it."""
    try:
        import nir  # noqa: F401
    except ImportError:
        raise ImportError("NIR files need the optional nir package; install it with "
                          "pip install -c constraints.txt -e '.[nir]'") from None


def _to_nir(model: nn.Module | SavedGraph, out: Path, args: argparse.Namespace) -> str:
    _require_nir()
    if isinstance(model, SavedGraph):
        return _graph_to_nir(model, out, args)
    from neuromorph.nir import export_nir

    shape = None
    if args.input_shape:
        shape = tuple(int(s) for s in str(args.input_shape).split(",") if s.strip())
    graph = export_nir(model, out, input_shape=shape, dt_target=args.dt_target)
    return f"wrote {out} ({len(graph.nodes)} NIR nodes)"


def _graph_to_nir(saved: SavedGraph, out: Path, args: argparse.Namespace) -> str:
    import nir

    from neuromorph.nir.spec_nodes import graph_to_nir

    if args.input_shape or args.dt_target is not None:
        raise ModelLoadError("--input-shape and --dt-target do not apply to an event-engine "
                             "network (its graph fixes every shape, and it is continuous-time "
                             "already); leave them out")
    graph = graph_to_nir(saved.graph, saved.weights)
    nir.write(out, graph)
    return f"wrote {out} ({len(graph.nodes)} NIR nodes, event-engine network)"


#: export format -> writer. The one place export formats are named.
EXPORT_FORMATS: dict[str, Callable[[Any, Path, argparse.Namespace], str]] = {
    "nir": _to_nir,
}


def _fail(message: str) -> int:
    print(f"neuromorph: error: {message}", file=sys.stderr)
    return 2


def export_command(args: argparse.Namespace) -> int:
    """``neuromorph export MODEL --to FORMAT OUT``."""
    try:
        model = load_model(args.model, trust_pickle=getattr(args, "trust_pickle", False))
        print(EXPORT_FORMATS[args.to](model, Path(args.out), args))
    except (ValueError, ImportError, OSError) as err:
        return _fail(str(err))
    return 0


def inspect_command(args: argparse.Namespace) -> int:
    """``neuromorph inspect FILE.nir``: print the readable summary."""
    try:
        path = Path(args.file)
        if path.is_dir():
            found = sorted(p.name for p in path.glob("*.nir"))
            return _fail(f"{path} is a folder; give a .nir file"
                         + (f", e.g. {path / found[0]}" if found else " inside it"))
        _require_nir()
        from neuromorph.nir import summarize

        print(summarize(path))
    except (ValueError, ImportError, OSError) as err:
        return _fail(str(err))
    return 0


def add_subparsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` and ``inspect`` sub-commands to the CLI's sub-parsers."""
    exp = sub.add_parser("export", help="export a trained model (e.g. to a NIR file)")
    exp.add_argument("model", help="a run folder (model.json + model.pt), or a torch-saved module")
    exp.add_argument("--to", required=True, choices=sorted(EXPORT_FORMATS),
                     help="target format")
    exp.add_argument("out", help="output file, e.g. net.nir")
    exp.add_argument("--trust-pickle", action="store_true",
                     help="load a torch-saved module (pickle: runs code; only for your own files)")
    exp.add_argument("--input-shape", default=None, metavar="C,H,W",
                     help="per-sample input shape when the first layer does not fix it")
    exp.add_argument("--dt-target", type=float, default=None, metavar="SECONDS",
                     help="rescale time constants for a simulator with this step "
                          "(snnTorch: 1e-4, Norse: 1e-3)")
    ins = sub.add_parser("inspect", help="summarise a NIR file: nodes, shapes, parameters")
    ins.add_argument("file", help="a .nir file")


__all__ = ["EXPORT_FORMATS", "ModelLoadError", "SavedGraph", "add_subparsers",
           "export_command", "inspect_command", "load_model"]
