"""Experiment configs: typed dataclasses, ``--set key=value`` overrides, clear errors.

Every experiment defines ``Config`` as a dataclass subclassing :class:`ExperimentConfig`.
Overrides arrive as strings and are parsed by the field's annotation (``int``, ``float``,
``bool``, ``str``, ``Literal[...]``, ``tuple[T, ...]``, ``T | None``); an unknown key, a value
of the wrong type, a non-finite float (``lr=inf`` would make training diverge) or an impossible
value raises :class:`ConfigError` naming the key and the valid choices. A key named as a
learning rate or an event rate (``lr``, ``*_lr``, ``*_rate``, ``rate_*``: see
:data:`NON_NEGATIVE_KEY`) must not be negative, in every experiment. A ``device`` key is
checked against the machine (``device=cuda`` without CUDA is a config error, not a crash).
The one-line meaning of each key, shown by ``neuromorph run NAME --help``, is its
``field(metadata={"help": ...})`` when given, else the trailing ``# comment`` on the field's line
(see :func:`describe_fields`), so existing configs document themselves.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import math
import re
import tokenize
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from neuromorph.errors import NeuromorphError


class ConfigError(NeuromorphError, ValueError):
    """A config key, type or value is wrong; the message says what is valid."""


#: keys that are learning rates (``lr``, ``qat_lr``) or event rates in Hz (``max_rate``,
#: ``rate_on``): a negative value ascends the loss or has no meaning, in every experiment
NON_NEGATIVE_KEY = re.compile(r"(^|_)(lr|rate)($|_)")
#: learning-rate keys; a step size above MAX_LR is refused (``lr=1e30`` trains to chance with
#: finite but useless weights, which no NaN check would catch)
LEARNING_RATE_KEY = re.compile(r"(^|_)lr($|_)")
MAX_LR = 100.0


@dataclass
class ExperimentConfig:
    """Fields shared by every experiment."""

    seed: int = 0

    def check(self, ok: bool, message: str) -> None:
        """Raise :class:`ConfigError` with ``message`` unless ``ok`` (use in ``__post_init__``)."""
        if not ok:
            raise ConfigError(f"{type(self).__module__.rsplit('.', 1)[-1]}: {message}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _parse(text: str, annotation: Any, key: str) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null", "") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _parse(text, inner[0], key)
    if origin is Literal:
        if text not in args:
            raise ConfigError(f"{key}={text!r} is not a valid choice; choose one of {list(args)}")
        return text
    if origin in (tuple, list):
        elem = args[0] if args else str
        parts = [p.strip() for p in text.strip("()[]").split(",") if p.strip()]
        values = [_parse(p, elem, key) for p in parts]
        return tuple(values) if origin is tuple else values
    if annotation is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}={text!r} is not a boolean; use true or false")
    if annotation in (int, float, str):
        try:
            value = annotation(text)
        except ValueError:
            raise ConfigError(
                f"{key}={text!r} is not a valid {annotation.__name__}"
            ) from None
        return _finite(value, key)
    raise ConfigError(f"{key}: cannot parse a value of type {annotation}")


def _finite(value: Any, key: str) -> Any:
    """``value`` unchanged unless it is a non-finite float (or holds one): then a ConfigError."""
    items = value if isinstance(value, tuple | list) else (value,)
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(
                f"{key}={item} is not a finite number (training would diverge); "
                f"give a finite value, e.g. --set {key}=0.001"
            )
        if NON_NEGATIVE_KEY.search(key) and isinstance(item, int | float) and item < 0:
            what = "an event rate (Hz)" if "rate" in key.split("_") else "a learning rate"
            raise ConfigError(f"{key}={item} is negative, but {key} is {what}; give a value "
                              f">= 0, e.g. --set {key}={abs(item)}")
        if LEARNING_RATE_KEY.search(key) and isinstance(item, int | float) and item > MAX_LR:
            raise ConfigError(f"{key}={item} is an implausibly large learning rate (training "
                              f"would diverge); give a value <= {MAX_LR:g}, e.g. --set {key}=0.001")
    return value


def _coerce(value: Any, annotation: Any) -> Any:
    """A typed value as its field expects: a list (from YAML / JSON) for a tuple field."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        origin = get_origin(inner[0]) if inner else None
    return tuple(value) if origin is tuple and isinstance(value, list) else value


def _check_device(config: ExperimentConfig) -> None:
    """A ``device`` field must name a torch device this machine has (``auto`` always passes)."""
    device = getattr(config, "device", None)
    if not isinstance(device, str) or device == "auto":
        return
    import torch  # only configs with a device key pay for the import

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"device={device!r} is not a torch device; use cpu, cuda, cuda:0 or auto"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device={device!r} but torch sees no CUDA device on this machine; "
            "use device=cpu (or device=auto)"
        )
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device={device!r} is not supported; use cpu, cuda or auto")


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """Turn ``["a=1", "b=x"]`` into ``{"a": "1", "b": "x"}`` with a clear error on bad syntax."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def build_config(cls: type[ExperimentConfig], overrides: dict[str, Any]) -> ExperimentConfig:
    """Instantiate ``cls`` with string or typed overrides; unknown keys list the valid ones."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in names:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(names)}")
        parsed = _parse(value, hints[key], key) if isinstance(value, str) else _coerce(
            value, hints[key])
        kwargs[key] = _finite(parsed, key)
    try:
        config = cls(**kwargs)
    except TypeError as exc:  # pragma: no cover - dataclass signature mismatch
        raise ConfigError(str(exc)) from None
    _check_device(config)
    return config


@dataclass(frozen=True)
class FieldHelp:
    """One config key as ``--help`` shows it."""

    name: str
    type: str
    default: Any
    help: str


def _type_name(annotation: Any) -> str:
    """A compact, space-free type: ``int``, ``{a,b}`` (a choice), ``float,...``, ``int|None``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "{" + ",".join(map(str, args)) + "}"
    if origin in (tuple, list):
        return f"{_type_name(args[0]) if args else 'str'},..."
    if origin in (typing.Union, types.UnionType):
        return "|".join(_type_name(a) for a in args)
    if isinstance(annotation, type):
        return "None" if annotation is type(None) else annotation.__name__
    return str(annotation).replace("typing.", "").replace(" ", "")


def _trailing_comments(cls: type) -> dict[str, str]:
    """``{field: comment}`` from ``name: T = default  # comment`` lines of ``cls``'s source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    source = inspect.cleandoc("\n" + source) if source[:1].isspace() else source
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    out: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = node.end_lineno or node.lineno
            if line in comments:
                out[node.target.id] = comments[line]
    return out


def describe_fields(cls: type[ExperimentConfig]) -> list[FieldHelp]:
    """Every key of ``cls`` with its type, default and one line of meaning (may be empty)."""
    hints = typing.get_type_hints(cls)
    notes: dict[str, str] = {"seed": "random seed; the same seed gives the same run"}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            notes.update(_trailing_comments(klass))
    rows = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        text = str(f.metadata.get("help", notes.get(f.name, "")))
        rows.append(FieldHelp(f.name, _type_name(hints[f.name]), _plain(default), text))
    return rows
