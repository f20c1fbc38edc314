"""Substrates: the hardware a rule trains, as the fixed transform of a one-hidden-layer net.

Every substrate builds the same network shape (:func:`build_network`)::

    logits = W_2 F(W_1 x),      F = the substrate's :class:`~neuromorph.networks.stack.Transform`

so a rule meets every substrate through one contract (its ``access``, ``derivative`` and
``twin``). :data:`SUBSTRATES` is the one registry; :func:`register_substrate` adds one (the rules
matrix picks new entries up without edits), and :func:`callable_substrate` turns any callable
``[B, n] -> [B, m]`` (a lab instrument, a numpy function) into one through
:func:`~neuromorph.hardware_models.as_system`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuromorph.hardware_models import as_system, make_system
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage, Transform
from neuromorph.substrates.loihi import LoihiRate, QuantizedLinear
from neuromorph.substrates.physical import SystemTransform
from neuromorph.substrates.spiking import SpikingRate

Builder = Callable[[int, int, dict[str, Any]], Transform]


@dataclass(frozen=True)
class Substrate:
    """A registry entry: ``build(hidden, seed, options) -> Transform`` and its defaults."""

    name: str
    build: Builder
    hidden: int
    note: str
    first_linear: type[nn.Linear] = nn.Linear
    requires_data: bool = False

    def unavailable(self, options: dict[str, Any]) -> str | None:
        """Why this substrate cannot be built here (``None`` when it can)."""
        if self.requires_data and not Path(options.get("data_dir") or "").is_dir():
            return (f"{self.name} needs the measured data directory (set data_dir, e.g. "
                    f"../shared/data/phyll); not found: {options.get('data_dir')!r}")
        return None


def _system(kind: str) -> Builder:
    def build(hidden: int, seed: int, options: dict[str, Any]) -> Transform:
        return SystemTransform(make_system(kind, hidden, hidden, seed=seed))

    return build


def _crossbar(hidden: int, seed: int, options: dict[str, Any]) -> Transform:
    from neuromorph.hardware_models.crossbar import CrossbarSystem
    from neuromorph.substrates.crossbar import CrossbarTransform

    return CrossbarTransform(CrossbarSystem(hidden, hidden, seed=seed, device="pcm"))


def _measured(hidden: int, seed: int, options: dict[str, Any]) -> Transform:
    return SystemTransform(make_system("measured-acoustic", 20, 20, seed=seed,
                                       data_dir=options["data_dir"]))


SUBSTRATES: dict[str, Substrate] = {}


def register_substrate(substrate: Substrate) -> None:
    """Add (or replace) a substrate in :data:`SUBSTRATES`."""
    if not isinstance(substrate, Substrate):
        raise TypeError(f"register_substrate needs a Substrate, got {type(substrate).__name__}")
    SUBSTRATES[substrate.name] = substrate


for _entry in (
    Substrate("digital", lambda h, s, o: ReLU(h), 128, "digital MLP, ReLU (the reference)"),
    Substrate("optical", _system("optical"), 64, "optical scattering layer, [P(z); z]"),
    Substrate("acoustic", _system("acoustic-cavity"), 32, "acoustic cavity, [P(z); z]"),
    Substrate("microwave", _system("microwave"), 64, "microwave metasurface cavity, [P(z); z]"),
    Substrate("measured_acoustic", _measured, 20,
              "acoustic layer fitted from the PhyLL authors' measured pairs, [P(z); z]",
              requires_data=True),
    Substrate("spiking", lambda h, s, o: SpikingRate(h, int(o.get("steps", 8))), 128,
              "LIF rates over 8 steps, hard threshold (surrogate only for gradients)"),
    Substrate("loihi_int", lambda h, s, o: LoihiRate(h, int(o.get("steps", 8))), 128,
              "Loihi 2 integer LIF (bit-accurate), 8-bit weights in", QuantizedLinear),
    Substrate("crossbar_pcm", _crossbar, 64,
              "PCM crossbar (programmed random array, drift, read noise), [relu(C z); z]"),
):
    register_substrate(_entry)


def default_data_dir() -> str:
    """``$NEUROMORPH_PHYLL_DATA`` or ``../shared/data/phyll`` (the measured acoustic pairs)."""
    return os.environ.get("NEUROMORPH_PHYLL_DATA", str(Path("..") / "shared" / "data" / "phyll"))


def build_network(
    name: str, n_in: int, n_classes: int, seed: int = 0, hidden: int | None = None,
    embedding: nn.Module | None = None, **options: Any,
) -> StackNet:
    """``logits = W_2 F(W_1 x)`` on substrate ``name`` (weights seeded by ``seed``)."""
    if name not in SUBSTRATES:
        raise ValueError(f"unknown substrate {name!r}; choose one of {sorted(SUBSTRATES)}")
    sub = SUBSTRATES[name]
    reason = sub.unavailable(options)
    if reason:
        raise ValueError(reason)
    width = int(hidden or sub.hidden)
    torch.manual_seed(seed)
    transform = sub.build(width, seed, options)
    first = Stage(Identity(n_in), transform.n_in)
    if sub.first_linear is not nn.Linear:
        old = first.linear
        first.linear = sub.first_linear(old.in_features, old.out_features)
        first.linear.load_state_dict(old.state_dict())
    net = StackNet([first, Stage(transform, n_classes)], embedding)
    # what models.module_spec records to build the same network again
    net.made_as = dict(substrate=name, n_in=n_in, n_classes=n_classes, seed=seed, hidden=hidden,
                       options=dict(options))
    return net


def callable_substrate(name: str, fn: Callable[..., Any], width: int, concat: bool = True,
                       note: str = "a user callable (as_system)") -> Substrate:
    """Register ``fn: [B, width] -> [B, m]`` (numpy in, array out) as substrate ``name``."""

    def build(hidden: int, seed: int, options: dict[str, Any]) -> Transform:
        return SystemTransform(as_system(fn, n_in=width), concat=concat)

    substrate = Substrate(name, build, width, note)
    register_substrate(substrate)
    return substrate


__all__ = ["SUBSTRATES", "Substrate", "build_network", "callable_substrate",
           "default_data_dir", "register_substrate"]
