"""Training for the analog-drift experiment: float, hardware-aware (HWA) and in situ.

* ``float``: an ``nn.Sequential`` MLP trained by backprop in float, then converted with
  :func:`~neuromorph.hardware_models.crossbar.to_analog` for deployment.
* ``hwa``: the analog twin trained by backprop with weight and output noise injected and the
  DAC/ADC rounding in the loop (straight-through), as in aihwkit's hardware-aware training.
* ``insitu``: the weights trained *on the hardware* by a forward-only rule of the rules library
  (SPSA from :mod:`neuromorph.learning_rules.zeroth_order` by default, or OpenAI-ES from
  :mod:`~neuromorph.learning_rules.evolution`), the same code as the rules matrix: the MLP is a
  :class:`~neuromorph.networks.stack.StackNet` whose maps are
  :class:`~neuromorph.hardware_models.crossbar.in_situ.InSituLinear` layers, so every member
  the rule measures is written onto the devices (programming noise) and read ``t_read`` s
  later. The rule sees nothing but the measured losses; no gradient flows through the hardware.

Every trainer is seeded: the same seed gives the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from neuromorph.hardware_models.crossbar import (
    AnalogLinear,
    TileConfig,
    analog_layers,
    to_analog,
)
from neuromorph.hardware_models.crossbar.device import DeviceModel
from neuromorph.hardware_models.crossbar.in_situ import InSituLinear
from neuromorph.learning_rules.base import make_optimizer
from neuromorph.learning_rules.evolution import EvolutionStrategy
from neuromorph.learning_rules.perturbation import MemberLoss, PopulationRule, member_losses
from neuromorph.learning_rules.zeroth_order import SPSA
from neuromorph.networks.stack import Identity, ReLU, StackNet, Stage


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
    """Set each analog layer's DAC range to the largest input it sees on ``x`` (forward only).

    Covers :class:`AnalogLinear` (twin or programmed) and :class:`InSituLinear` layers.
    """
    seen: dict[int, Tensor] = {}
    layers = [m for m in model.modules() if isinstance(m, AnalogLinear | InSituLinear)]
    hooks = [layer.register_forward_pre_hook(
        lambda mod, args: seen.__setitem__(id(mod), args[0].detach().abs().max()))
        for layer in layers]
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    for layer in layers:
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
    """The in-situ run: ``rule`` from the rules library, its population and step sizes."""

    rule: str = "spsa"  # a key of IN_SITU_RULES
    steps: int = 800
    directions: int = 8  # SPSA perturbation pairs / ES antithetic pairs per step
    c: float = 0.02  # perturbation size (weight units)
    lr: float = 2e-2  # Adam, cosine-annealed to 0 over the steps
    batch: int = 128
    t_read: float = 1.0  # s after each write at which the query reads the devices
    calibrate_every: int = 50  # steps between measured DAC-range updates


RuleFactory = Callable[[StackNet, InSituSettings, int, MemberLoss], PopulationRule]
IN_SITU_RULES: dict[str, RuleFactory] = {
    "spsa": lambda net, s, seed, loss: SPSA(net, perturbations=s.directions, c=s.c, seed=seed,
                                            loss=loss),
    "es": lambda net, s, seed, loss: EvolutionStrategy(net, pairs=s.directions, sigma=s.c,
                                                       seed=seed, loss=loss),
}

Sampler = Callable[[torch.Generator], tuple[Tensor, Tensor]]  # seeded minibatch (x, y)


def optimise_in_situ(net: StackNet, s: InSituSettings, seed: int, sample: Sampler,
                     tick: Callable[[], None], loss: MemberLoss = member_losses,
                     calibrate: Callable[[int], None] = lambda step: None) -> None:
    """``s.steps`` steps of the library rule ``s.rule`` on ``net``, Adam cosine-annealed.

    Each step draws a minibatch with ``sample(generator)`` and lets the rule measure its
    members' ``loss``; ``calibrate(step)`` runs first (e.g. measured DAC ranges); ``tick`` 20
    times over the run.
    """
    if s.rule not in IN_SITU_RULES:
        raise ValueError(f"unknown in-situ rule {s.rule!r}; choose one of {list(IN_SITU_RULES)}")
    rule = IN_SITU_RULES[s.rule](net, s, seed, loss)
    opt = make_optimizer("adam", rule.parameters(), s.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, s.steps))
    gen = torch.Generator().manual_seed(seed)
    for step in range(s.steps):
        calibrate(step)
        x, y = sample(gen)
        rule.train_batch(x, y, opt)
        schedule.step()
        if (step + 1) % max(1, s.steps // 20) == 0:
            tick()


def in_situ_net(model: nn.Sequential, device: DeviceModel, tile: TileConfig, t_read: float,
                seed: int) -> StackNet:
    """``logits = W_2 relu(W_1 x)`` of the ``Linear, ReLU, Linear`` ``model`` as a StackNet
    whose two maps are :class:`InSituLinear` layers on ``device`` (the rules' contract)."""
    lin1, lin2 = model[0], model[2]
    first = Stage(Identity(lin1.in_features), lin1.out_features)
    first.linear = InSituLinear.from_linear(lin1, device, tile, t_read, seed=2 * seed)
    second = Stage(ReLU(lin2.in_features), lin2.out_features)
    second.linear = InSituLinear.from_linear(lin2, device, tile, t_read, seed=2 * seed + 1)
    return StackNet([first, second])


def train_in_situ(model: nn.Sequential, data: Data, device: DeviceModel, s: InSituSettings,
                  tile: TileConfig, seed: int, tick: Callable[[], None]) -> int:
    """Train ``model``'s weights on the hardware with a library rule; return the queries.

    Every loss the rule measures is a forward pass of the network with its weights written
    onto ``device`` and read ``t_read`` s later (:class:`InSituLinear`); the rule sees the
    losses only. Adam (cosine-annealed) applies the rule's ``.grad``. The DAC ranges follow the
    measured layer inputs every ``calibrate_every`` steps (those passes count as queries).
    The trained weights are copied back into ``model``. Queries = network forward passes on
    the hardware (each writes and reads every layer once).
    """
    net = in_situ_net(model, device, tile, s.t_read, seed)

    def sample(gen: torch.Generator) -> tuple[Tensor, Tensor]:
        idx = torch.randint(len(data.y_train), (s.batch,), generator=gen)
        return data.x_train[idx], data.y_train[idx]

    def calibrate(step: int) -> None:
        if step % s.calibrate_every == 0:
            calibrate_input_ranges(net, data.x_train[:512])

    optimise_in_situ(net, s, seed, sample, tick, calibrate=calibrate)
    with torch.no_grad():
        for k, stage in zip((0, 2), net.layers, strict=True):
            model[k].weight.copy_(stage.linear.weight)
            model[k].bias.copy_(stage.linear.bias)
    return net.layers[0].linear.writes


@dataclass
class Recipe:
    """How each method trains: network width, tiles, backprop and in-situ settings."""

    hidden: int = 64
    tile: TileConfig = field(default_factory=TileConfig)  # the deployed hardware
    hwa_tile: TileConfig = field(default_factory=TileConfig)  # tile + training noise (HWA)
    epochs: int = 30
    batch: int = 64
    lr: float = 3e-3
    insitu: InSituSettings = field(default_factory=InSituSettings)


def train_method(method: str, data: Data, recipe: Recipe, device: DeviceModel | None, seed: int,
                 tick: Callable[[], None] = lambda: None,
                 ) -> tuple[nn.Module, nn.Module | None, int]:
    """``(analog model to deploy, float model or None, hardware queries used)``.

    ``device`` is the hardware the in-situ method trains on (unused by the others).
    """
    r = recipe
    n_in, n_out = data.x_train.shape[1], int(data.y_train.max()) + 1
    if method == "float":
        net = backprop(mlp(n_in, r.hidden, n_out, seed), data, r.epochs, r.batch, r.lr, seed,
                       tick)
        analog = to_analog(net, r.tile, seed)
        calibrate_input_ranges(analog, data.x_train)
        return analog, net, 0
    if method == "hwa":
        analog = to_analog(mlp(n_in, r.hidden, n_out, seed), r.hwa_tile, seed)
        calibrate_input_ranges(analog, data.x_train)
        backprop(analog, data, r.epochs, r.batch, r.lr, seed, tick)
        calibrate_input_ranges(analog, data.x_train)
        return _retile(analog, r.tile), None, 0
    if method == "insitu":
        if device is None:
            raise ValueError("the insitu method needs the device it trains on")
        net = mlp(n_in, r.hidden, n_out, seed)
        queries = train_in_situ(net, data, device, r.insitu, r.tile, seed, tick)
        analog = to_analog(net, r.tile, seed)
        calibrate_input_ranges(analog, data.x_train)
        return analog, None, queries
    raise ValueError(f"unknown method {method!r}; choose float, hwa or insitu")


def _retile(model: nn.Module, tile: TileConfig) -> nn.Module:
    """Deploy with the hardware's tile config (no training-noise settings), same weights."""
    for layer in analog_layers(model):
        layer.tile = tile  # the learned DAC range stays in layer.input_range
    return model
