"""Experiment configs: typed dataclasses, ``--set key=value`` overrides, clear errors.

Every experiment defines ``Config`` as a dataclass subclassing :class:`ExperimentConfig`.
Overrides arrive as strings and are parsed by the field's annotation (``int``, ``float``,
``bool``, ``str``, ``Literal[...]``, ``tuple[T, ...]``, ``T | None``); an unknown key, a value
of the wrong type or an impossible value raises :class:`ConfigError` naming the valid choices.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin


class ConfigError(ValueError):
    """A config key, type or value is wrong; the message says what is valid."""


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
            return annotation(text)
        except ValueError:
            raise ConfigError(
                f"{key}={text!r} is not a valid {annotation.__name__}"
            ) from None
    raise ConfigError(f"{key}: cannot parse a value of type {annotation}")


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
        kwargs[key] = _parse(value, hints[key], key) if isinstance(value, str) else value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # pragma: no cover - dataclass signature mismatch
        raise ConfigError(str(exc)) from None
