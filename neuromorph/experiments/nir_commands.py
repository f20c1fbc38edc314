"""CLI commands ``neuromorph export MODEL --to nir OUT.nir`` and ``neuromorph inspect FILE.nir``.

``MODEL`` is either a torch-saved neuromorph module (``torch.save(net, "net.pt")``) or the
``model.pt`` of an experiment run directory (a dict with ``state_dict`` and ``config``; the
network is rebuilt with the experiment's ``build_network``, the experiment name is read from the
``config.yaml`` beside it). Files are loaded with ``torch.load(weights_only=True)``: a pickled
module can run code when loaded, so it is refused unless ``--trust-pickle`` says the user wrote it.
Nothing here imports ``torch`` or ``nir`` until a command runs (``neuromorph --help`` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from neuromorph.errors import NeuromorphError

if TYPE_CHECKING:
    from torch import nn


class ModelLoadError(NeuromorphError, ValueError):
    """``MODEL`` cannot be turned into a network; the message says why and what to pass."""


def _experiment_name(saved: dict, path: Path) -> str:
    if "experiment" in saved:
        return str(saved["experiment"])
    cfg = path.parent / "config.yaml"
    if not cfg.is_file():
        raise ModelLoadError(
            f"{path} holds a state dict but {cfg} (which names the experiment) is missing; "
            "export from inside the run directory, or torch.save the module and pass "
            "--trust-pickle"
        )
    meta = yaml.safe_load(cfg.read_text()) or {}
    if "experiment" not in meta:
        raise ModelLoadError(f"{cfg} does not name the experiment (no 'experiment' key)")
    return str(meta["experiment"])


def _spiking_builder(config_cls: type) -> Callable | None:
    """The shared spiking-MLP builder when the experiment's Config is an ``SNNConfig``."""
    try:
        from neuromorph.experiments.snn_common import SNNConfig, build_network
    except ImportError:  # pragma: no cover - experiments refactored
        return None
    return build_network if issubclass(config_cls, SNNConfig) else None


def _rebuild(saved: dict, path: Path) -> nn.Module:
    from neuromorph import experiments
    from neuromorph.experiments.config import build_config

    name = _experiment_name(saved, path)
    module = experiments.load(name)
    build = getattr(module, "build_network", None) or _spiking_builder(module.Config)
    missing = [k for k in ("config", "n_inputs", "n_classes") if k not in saved]
    if build is None or missing:
        raise ModelLoadError(
            f"cannot rebuild the network of experiment {name!r} from {path}"
            + (f" (missing keys {missing})" if missing else " (it has no build_network)")
            + "; torch.save the trained module and export it with --trust-pickle"
        )
    fields = {f for f in module.Config.__dataclass_fields__}
    cfg = build_config(module.Config, {k: v for k, v in saved["config"].items() if k in fields})
    net = build(cfg, int(saved["n_inputs"]), int(saved["n_classes"]))
    net.load_state_dict(saved["state_dict"])
    return net


def _load(path: Path, trust_pickle: bool) -> Any:
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as err:
        if not trust_pickle and "weights_only" in str(err):
            raise ModelLoadError(
                f"{path} holds pickled Python objects (e.g. a whole module), which can run code "
                "when loaded; export a run's model.pt, or pass --trust-pickle if you saved this "
                "file yourself"
            ) from None
        raise ModelLoadError(f"{path} is corrupt or not a torch file ({_first_line(err)}); "
                             "re-save it with torch.save or rerun the experiment") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad model file
        raise ModelLoadError(f"{path} is corrupt or not a torch file ({_first_line(err)}); "
                             "re-save it with torch.save or rerun the experiment") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


def load_model(path: str | Path, trust_pickle: bool = False) -> nn.Module:
    """The network stored at ``path`` (see the module docstring for the two accepted forms)."""
    from torch import nn

    path = Path(path)
    if path.is_dir():
        hint = path / "model.pt"
        raise ModelLoadError(f"{path} is a folder; give the model file"
                             + (f", e.g. {hint}" if hint.is_file() else ""))
    if not path.is_file():
        raise ModelLoadError(f"model file {str(path)!r} does not exist")
    obj = _load(path, trust_pickle)
    if isinstance(obj, nn.Module):
        return obj.eval()
    if isinstance(obj, dict) and "state_dict" in obj:
        return _rebuild(obj, path).eval()
    if isinstance(obj, dict) and (path.parent / "config.yaml").is_file():
        name = (yaml.safe_load((path.parent / "config.yaml").read_text()) or {}).get(
            "experiment", "this")
        raise ModelLoadError(
            f"{path} is the model.pt of a {name} run, which stores {sorted(obj)[:4]} rather "
            "than a network; only runs that train a spiking network (snn-digits, snn-randman, "
            "deploy-digits) export to NIR")
    raise ModelLoadError(f"{path} holds a {type(obj).__name__}, not a network; pass a run's "
                         "model.pt or a torch-saved module")


def _to_nir(model: nn.Module, out: Path, args: argparse.Namespace) -> str:
    from neuromorph.nir import export_nir

    shape = None
    if args.input_shape:
        shape = tuple(int(s) for s in str(args.input_shape).split(",") if s.strip())
    graph = export_nir(model, out, input_shape=shape, dt_target=args.dt_target)
    return f"wrote {out} ({len(graph.nodes)} NIR nodes)"


#: export format -> writer. The one place export formats are named.
EXPORT_FORMATS: dict[str, Callable[[nn.Module, Path, argparse.Namespace], str]] = {
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
        from neuromorph.nir import summarize

        print(summarize(path))
    except (ValueError, ImportError, OSError) as err:
        return _fail(str(err))
    return 0


def add_subparsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` and ``inspect`` sub-commands to the CLI's sub-parsers."""
    exp = sub.add_parser("export", help="export a trained model (e.g. to a NIR file)")
    exp.add_argument("model", help="model.pt of a run directory, or a torch-saved module")
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


__all__ = ["EXPORT_FORMATS", "ModelLoadError", "add_subparsers", "export_command",
           "inspect_command", "load_model"]
