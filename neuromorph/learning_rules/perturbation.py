"""Shared machinery of the forward-only rules: seeded perturbations and one stacked evaluation.

A *population* of ``M`` members of a :class:`~neuromorph.networks.stack.StackNet` differs only
in the trainable maps; member ``m`` uses ``theta + s_m E_{d_m}`` (``s_m`` a signed step in the
weights' own units, ``E_d`` direction ``d``). :func:`population_logits` evaluates all members
stage by stage with **one substrate call per stage**: the member inputs are stacked along the
batch (``[M B, width]``), measured once, split, and each member's map applied::

    out_k[m] = W_k^(m) F_k(out_{k-1}[m]),      W_k^(m) = W_k + s_m E_{d_m, k}

While every member still sees the same input (before the first perturbed map) ``F_k`` is
measured once for all. For a plain ``nn.Linear`` the perturbation is added without forming
``W^(m)``: ``f W^(m)T = f W^T + s_m f E^T`` (and for a low-rank ``E = A B^T / sqrt(r)``,
``s_m (f B) A^T / sqrt(r)``); other maps (8-bit ``QuantizedLinear``) are called per member with
``W^(m)`` materialised, so their own forward (e.g. the quantiser) applies.

Noise (:class:`DenseNoise`, :class:`LowRankNoise`) is never stored for the dense case: each
``E_{d, j}`` is drawn again from the seed ``(step seed, d, j)`` when needed (MeZO's trick,
Malladi et al. 2023), so a rule holds no perturbation between the evaluation and the update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access, require_access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.stack import StackNet

_MASK = (1 << 64) - 1
DISTRIBUTIONS = ("gaussian", "rademacher")

StageMap = Callable[[int, nn.Module, Tensor], Tensor]
MemberLoss = Callable[[Tensor, Tensor], Tensor]  # logits [M, B, C], targets -> losses [M]


def mix_seed(*values: int) -> int:
    """A 63-bit seed from integers (splitmix64 finaliser; the same inputs, the same seed)."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (int(v) & _MASK)) & _MASK
        h = (h + 0x9E3779B97F4A7C15) & _MASK
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
        h ^= h >> 31
    return h >> 1


def draw(shape: Sequence[int], seed: int, distribution: str = "gaussian") -> Tensor:
    """Noise of ``shape`` from ``seed``: ``N(0, 1)`` or Rademacher ``+-1`` (both unit variance)."""
    gen = torch.Generator().manual_seed(int(seed))
    if distribution == "gaussian":
        return torch.randn(tuple(shape), generator=gen)
    if distribution == "rademacher":
        return torch.randint(0, 2, tuple(shape), generator=gen).float().mul_(2).sub_(1)
    raise ValueError(f"unknown noise distribution {distribution!r}; choose one of {DISTRIBUTIONS}")


def centred_ranks(fitness: Tensor) -> Tensor:
    """OpenAI-ES fitness shaping: ranks mapped linearly onto ``[-0.5, 0.5]`` (ties by order)."""
    n = fitness.numel()
    if n < 2:
        return torch.zeros_like(fitness)
    ranks = torch.empty_like(fitness)
    ranks[fitness.argsort()] = torch.arange(n, dtype=fitness.dtype)
    return ranks / (n - 1) - 0.5


def stage_params(net: StackNet, params: Sequence[Tensor]) -> list[tuple[int, int | None]]:
    """For every stage, the indices of its map's ``weight`` and ``bias`` in ``params``."""
    index = {id(p): j for j, p in enumerate(params)}
    out = []
    for k, stage in enumerate(net.layers):
        lin = stage.linear
        if id(lin.weight) not in index:
            raise ValueError(f"stage {k}'s weight is not among the rule's parameters")
        out.append((index[id(lin.weight)],
                    None if lin.bias is None else index[id(lin.bias)]))
    return out


class Population:
    """Peak bytes of the stacked activations seen by :func:`population_logits`."""

    def __init__(self) -> None:
        self.activation_bytes = 0

    def note(self, t: Tensor) -> None:
        self.activation_bytes = max(self.activation_bytes, t.numel() * t.element_size())


def population_logits(net: StackNet, x: Tensor, members: int, stage_map: StageMap,
                      tracker: Population | None = None) -> Tensor:
    """Logits ``[M, B, C]`` of ``members`` variants of ``net`` (see the module docstring).

    ``stage_map(k, linear, f)`` maps stacked features ``f`` (``[1, B, n]`` while shared,
    else ``[M, B, n]``) to the members' outputs ``[M, B, m]``. Runs without autograd.
    """
    with torch.no_grad():
        h = x.unsqueeze(0)
        for k, stage in enumerate(net.layers):
            g, b = h.shape[0], h.shape[1]
            f = stage.features(h.reshape(g * b, -1)).reshape(g, b, -1)
            h = stage_map(k, stage.linear, f)
            if h.shape[0] != members:
                raise ValueError(f"stage map returned {h.shape[0]} members, expected {members}")
            if tracker is not None:
                tracker.note(f)
                tracker.note(h)
    return h


def member_losses(logits: Tensor, y: Tensor) -> Tensor:
    """Cross-entropy of each member on the same labels: ``[M, B, C] -> [M]`` (nats)."""
    m, b, c = logits.shape
    per = F.cross_entropy(logits.reshape(m * b, c), y.repeat(m), reduction="none")
    return per.reshape(m, b).mean(dim=1)


def call_linear(linear: nn.Module, weight: Tensor, bias: Tensor | None, f: Tensor) -> Tensor:
    """``linear``'s own forward with ``weight``/``bias`` substituted (e.g. keeps quantisation)."""
    state = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    return torch.func.functional_call(linear, state, (f,))


class Noise:
    """``count`` directions over ``params``; subclasses define how a direction is made.

    ``directions[m]`` / ``scales[m]`` give member ``m``'s direction (``-1``: the centre) and
    its signed step ``s_m`` (weight units). :meth:`combine` returns ``sum_d c_d E_d``.
    """

    def __init__(self, params: Sequence[Tensor], count: int, seed: int) -> None:
        if count < 1:
            raise ValueError(f"need at least one perturbation direction, got {count}")
        self.params, self.count, self.seed = list(params), int(count), int(seed)
        self.peak_floats = 0  # largest noise tensor held at once
        self.held: dict[int, int] = {}  # per parameter: floats of one direction held at once

    # -- subclasses --------------------------------------------------------------------------
    def direction(self, d: int, j: int) -> Tensor:
        """Direction ``d`` of parameter ``j``, materialised (shape of the parameter)."""
        raise NotImplementedError

    def matrix_delta(self, d: int, j: int, f: Tensor) -> Tensor:
        """``f E_{d,j}^T`` for a weight matrix (``f``: ``[G, B, n]``)."""
        return f @ self.direction(d, j).T

    def combine(self, coeffs: Tensor) -> list[Tensor]:
        raise NotImplementedError

    def floats_per_direction(self) -> int:
        """Floats one direction occupies in the form this noise draws it."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def stage_map(self, index: list[tuple[int, int | None]], directions: Sequence[int],
                  scales: Tensor) -> StageMap:
        """The :data:`StageMap` of members ``theta + scales[m] E_{directions[m]}``."""
        dirs = [int(d) for d in directions]
        m_count = len(dirs)

        def apply(k: int, linear: nn.Module, f: Tensor) -> Tensor:
            wj, bj = index[k]
            if type(linear) is not nn.Linear:
                return self._materialised(linear, wj, bj, f, dirs, scales)
            out = F.linear(f, linear.weight, linear.bias).expand(m_count, -1, -1).clone()
            for d in sorted(set(dirs) - {-1}):
                rows = [m for m, dm in enumerate(dirs) if dm == d]
                fd = f if f.shape[0] == 1 else f[rows]
                delta = self.matrix_delta(d, wj, fd)
                if bj is not None:
                    delta = delta + self.direction(d, bj)
                out[rows] += scales[rows].view(-1, 1, 1) * delta
            return out

        return apply

    def _materialised(self, linear: nn.Module, wj: int, bj: int | None, f: Tensor,
                      dirs: list[int], scales: Tensor) -> Tensor:
        outs = []
        for m, d in enumerate(dirs):
            w, b = linear.weight, linear.bias
            if d >= 0:
                w = w + scales[m] * self.direction(d, wj)
                b = None if bj is None else b + scales[m] * self.direction(d, bj)
            outs.append(call_linear(linear, w, b, f[0 if f.shape[0] == 1 else m]))
        return torch.stack(outs)

    def _note(self, t: Tensor, j: int) -> Tensor:
        self.peak_floats = max(self.peak_floats, t.numel())
        self.held[j] = max(self.held.get(j, 0), t.numel())
        return t


class DenseNoise(Noise):
    """Full-rank directions, each entry i.i.d. unit variance, re-drawn from its seed on demand."""

    def __init__(self, params: Sequence[Tensor], count: int, seed: int,
                 distribution: str = "gaussian") -> None:
        super().__init__(params, count, seed)
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown noise distribution {distribution!r}; choose one of "
                             f"{DISTRIBUTIONS}")
        self.distribution = distribution

    def direction(self, d: int, j: int) -> Tensor:
        p = self.params[j]
        return self._note(draw(p.shape, mix_seed(self.seed, d, j), self.distribution).to(p), j)

    def combine(self, coeffs: Tensor) -> list[Tensor]:
        """``sum_d c_d E_d`` per parameter, regenerating each ``E_d`` (nothing was stored)."""
        out = [torch.zeros_like(p) for p in self.params]
        for d in range(self.count):
            c = float(coeffs[d])
            for j, acc in enumerate(out):
                acc.add_(self.direction(d, j), alpha=c)
        return out

    def floats_per_direction(self) -> int:
        return sum(p.numel() for p in self.params)


class LowRankNoise(Noise):
    """EGGROLL directions: a weight ``[m, n]`` moves along ``E = A B^T / sqrt(r)``.

    ``A [m, r]``, ``B [n, r]`` i.i.d. ``N(0, 1)`` (drawn together as one ``[m + n, r]`` tensor
    from the seed ``(step seed, d, j)``), so every entry of ``E`` has unit variance like
    :class:`DenseNoise`, yet a direction holds ``r (m + n)`` floats instead of ``m n``: the
    product ``f E^T = (f B) A^T / sqrt(r)`` never forms ``E``. Vectors (biases) get dense
    Gaussian directions. Like :class:`DenseNoise`, nothing is stored between uses.
    """

    def __init__(self, params: Sequence[Tensor], count: int, seed: int, rank: int) -> None:
        super().__init__(params, count, seed)
        if rank < 1:
            raise ValueError(f"EGGROLL rank must be >= 1, got {rank}")
        self.rank = int(rank)

    def factors(self, d: int, j: int) -> tuple[Tensor, Tensor]:
        """``(A, B)`` of direction ``d`` of weight matrix ``j``."""
        p = self.params[j]
        m, n = p.shape
        ab = self._note(draw((m + n, self.rank), mix_seed(self.seed, d, j)).to(p), j)
        return ab[:m], ab[m:]

    def direction(self, d: int, j: int) -> Tensor:
        p = self.params[j]
        if p.dim() == 2:
            a, b = self.factors(d, j)
            return self._note(a @ b.T / math.sqrt(self.rank), j)  # only maps that need W^(m)
        return self._note(draw(p.shape, mix_seed(self.seed, d, j)).to(p), j)

    def matrix_delta(self, d: int, j: int, f: Tensor) -> Tensor:
        a, b = self.factors(d, j)
        return (f @ b) @ a.T / math.sqrt(self.rank)

    def combine(self, coeffs: Tensor) -> list[Tensor]:
        """``sum_d c_d A_d B_d^T / sqrt(r)`` per matrix (one rank-r update per direction)."""
        out = [torch.zeros_like(p) for p in self.params]
        for d in range(self.count):
            c = float(coeffs[d])
            for j, acc in enumerate(out):
                if acc.dim() == 2:
                    a, b = self.factors(d, j)
                    acc.addmm_(a, b.T, alpha=c / math.sqrt(self.rank))
                else:
                    acc.add_(self.direction(d, j), alpha=c)
        return out

    def floats_per_direction(self) -> int:
        return sum(self.rank * sum(p.shape) if p.dim() == 2 else p.numel() for p in self.params)


def write_grads(params: Sequence[nn.Parameter], grads: Sequence[Tensor]) -> None:
    """``p.grad = g`` (the outside optimiser then steps along ``-g``)."""
    for p, g in zip(params, grads, strict=True):
        p.grad = g.detach().to(p)


class PopulationRule(LearningRule):
    """Base of the forward-only rules: they only measure ``net(x)`` for stacked members.

    Holds the net, its trainable parameters, a seed and a step counter (step ``t`` draws its
    noise from ``mix_seed(seed, t)``); ``predict`` measures the deployed net.
    ``perturbation_bytes`` is the noise held at once during the last update and
    ``activation_bytes`` the stacked activations; their sum is ``transient_bytes``.
    ``loss`` maps members' logits ``[M, B, C]`` and the targets to losses ``[M]``; the default
    is the cross-entropy :func:`member_losses` (any other objective of the outputs, e.g. a
    squared error, may be given).
    """

    requires = Access.FORWARD_ONLY

    def __init__(self, net: StackNet, seed: int, loss: MemberLoss = member_losses) -> None:
        for k, stage in enumerate(net.layers):
            require_access(self.name, self.requires,
                           f"stage {k} ({type(stage.transform).__name__})", stage.access)
        self.net = net
        self.params = net.trainable_parameters()
        self.index = stage_params(net, self.params)
        self.seed, self.step = int(seed), 0
        self.perturbation_bytes = 0
        self.activation_bytes = 0
        self.held_floats: dict[int, int] = {}  # per parameter index, last update
        self.loss = loss

    def parameters(self) -> list[nn.Parameter]:
        return self.params

    def next_seed(self) -> int:
        self.step += 1
        return mix_seed(self.seed, self.step)

    def evaluate(self, x: Tensor, y: Tensor, members: int, stage_map: StageMap) -> Tensor:
        """Losses ``[M]`` of ``members`` variants (one substrate call per stage)."""
        tracker = Population()
        losses = self.loss(population_logits(self.net, x, members, stage_map, tracker), y)
        self.activation_bytes = tracker.activation_bytes
        return losses

    def account(self, noise: Noise) -> None:
        """Record the noise held at once (measured by ``noise``); update ``transient_bytes``."""
        self.held_floats = dict(noise.held)
        self.perturbation_bytes = 4 * int(noise.peak_floats)
        self.transient_bytes = self.perturbation_bytes + self.activation_bytes

    def perturbation_floats(self) -> int:
        """Floats of one member's direction over all parameters (measured, last update)."""
        return sum(self.held_floats.values())

    def antithetic(self, noise: Noise, sigma: float, x: Tensor, y: Tensor) -> Tensor:
        """Losses of ``theta + sigma E_d`` and ``theta - sigma E_d``, interleaved ``[2 P]``."""
        dirs = [d for d in range(noise.count) for _ in range(2)]
        scales = torch.tensor([sigma, -sigma] * noise.count)
        losses = self.evaluate(x, y, len(dirs), noise.stage_map(self.index, dirs, scales))
        self.account(noise)
        return losses

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.net(x).argmax(dim=1)
