"""Training for the analog-drift experiment: float, hardware-aware (HWA) and in situ.

* ``float``: an ``nn.Sequential`` MLP trained by backprop in float, then converted with
  :func:`~neuromorph.hardware_models.crossbar.to_analog` for deployment.
* ``hwa``: the analog twin trained by backprop with weight and output noise injected and the
  DAC/ADC rounding in the loop (straight-through), as in aihwkit's hardware-aware training.
* ``insitu``: the analog layers trained *on the hardware* by simultaneous perturbation (SPSA;
  Spall 1992) using only measured outputs: each loss is one forward query of the programmed
  crossbar (the perturbed weights are written with programming noise and read at ``t_read``),
  and the rule sees nothing but the loss. No gradient flows through the hardware.
  It is written here (a small, honest loop) because the shared zeroth-order rule
  (``neuromorph.learning_rules.zeroth_order``) was not committed when this was written.

Every trainer is seeded: the same seed gives the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuromorph.hardware_models.crossbar import (
    TileConfig,
    analog_layers,
    program_model,
    read_model_at,
    to_analog,
)
from neuromorph.hardware_models.crossbar.device import DeviceModel


@dataclass
class Data:
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def mlp(n_in: int, hidden: int, n_out: int, seed: int) -> nn.Sequential:
    """``Linear -> ReLU -> Linear`` with a seeded default initialisation."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def calibrate_input_ranges(model: nn.Module, x: Tensor) -> None:
    """Set each analog layer's DAC range to the largest input it sees on ``x`` (forward only)."""
    seen: dict[int, Tensor] = {}
    hooks = [layer.register_forward_pre_hook(
        lambda mod, args: seen.__setitem__(id(mod), args[0].detach().abs().max()))
        for layer in analog_layers(model)]
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    for layer in analog_layers(model):
        layer.input_range.data.fill_(max(float(seen[id(layer)]), 1e-6))


def backprop(model: nn.Module, data: Data, epochs: int, batch: int, lr: float, seed: int,
             tick: Callable[[], None]) -> nn.Module:
    """Adam on cross-entropy over seeded minibatches (the model trains in its train mode)."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    n = len(data.y_train)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        tick()
    model.eval()
    return model


@dataclass
class InSituSettings:
    steps: int = 400
    directions: int = 4  # perturbation pairs averaged per step
    c: float = 0.02  # perturbation size (weight units)
    lr: float = 5e-3
    batch: int = 256
    t_read: float = 1.0  # s after programming at which each query reads the devices


def spsa_in_situ(model: nn.Module, data: Data, device: DeviceModel, s: InSituSettings,
                 seed: int, tick: Callable[[], None]) -> int:
    """Train the analog ``model`` in situ by SPSA; return the number of hardware queries.

    Step: draw Rademacher directions ``d_k``; write ``w +- c d_k``, measure the loss ``L+-``
    of a minibatch on the hardware; ``g = mean_k (L+ - L-) / (2c) d_k``; Adam on ``g``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=s.lr)
    gen = torch.Generator().manual_seed(seed)
    queries = 0

    def measure(x: Tensor, y: Tensor) -> float:
        nonlocal queries
        program_model(model, device, seed * 1_000_003 + queries)
        read_model_at(model, s.t_read, seed + queries, "programmed")
        queries += 1
        with torch.no_grad():
            return float(nn.functional.cross_entropy(model(x), y))

    model.eval()
    for step in range(s.steps):
        idx = torch.randint(len(data.y_train), (s.batch,), generator=gen)
        x, y = data.x_train[idx], data.y_train[idx]
        base = [p.detach().clone() for p in params]
        grads = [torch.zeros_like(p) for p in params]
        for _ in range(s.directions):
            dirs = [torch.randint(0, 2, p.shape, generator=gen).to(p) * 2 - 1 for p in params]
            losses = []
            for sign in (1.0, -1.0):
                with torch.no_grad():
                    for p, b, d in zip(params, base, dirs, strict=True):
                        p.copy_(b + sign * s.c * d)
                losses.append(measure(x, y))
            for g, d in zip(grads, dirs, strict=True):
                g.add_(d, alpha=(losses[0] - losses[1]) / (2 * s.c * s.directions))
        with torch.no_grad():
            for p, b, g in zip(params, base, grads, strict=True):
                p.copy_(b)
                p.grad = g
        opt.step()
        if (step + 1) % max(1, s.steps // 20) == 0:
            tick()
    for layer in analog_layers(model):
        layer.unprogram()
    return queries


def train_method(method: str, data: Data, hidden: int, tile: TileConfig, hwa_tile: TileConfig,
                 epochs: int, batch: int, lr: float, insitu: InSituSettings,
                 insitu_device: DeviceModel, seed: int,
                 tick: Callable[[], None]) -> tuple[nn.Module, nn.Module | None, int]:
    """``(analog model to deploy, float model or None, hardware queries used)``."""
    n_in, n_out = data.x_train.shape[1], int(data.y_train.max()) + 1
    if method == "float":
        net = backprop(mlp(n_in, hidden, n_out, seed), data, epochs, batch, lr, seed, tick)
        analog = to_analog(net, tile, seed)
        calibrate_input_ranges(analog, data.x_train)
        return analog, net, 0
    if method == "hwa":
        analog = to_analog(mlp(n_in, hidden, n_out, seed), hwa_tile, seed)
        calibrate_input_ranges(analog, data.x_train)
        backprop(analog, data, epochs, batch, lr, seed, tick)
        calibrate_input_ranges(analog, data.x_train)
        return _retile(analog, tile), None, 0
    if method == "insitu":
        analog = to_analog(mlp(n_in, hidden, n_out, seed), tile, seed)
        calibrate_input_ranges(analog, data.x_train)
        queries = spsa_in_situ(analog, data, insitu_device, insitu, seed, tick)
        calibrate_input_ranges(analog, data.x_train)
        return analog, None, queries
    raise ValueError(f"unknown method {method!r}; choose float, hwa or insitu")


def _retile(model: nn.Module, tile: TileConfig) -> nn.Module:
    """Deploy with the hardware's tile config (no training-noise settings), same weights."""
    for layer in analog_layers(model):
        layer.tile = tile  # the learned DAC range stays in layer.input_range
    return model
