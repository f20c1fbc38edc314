"""Evolution strategies and a genetic algorithm: forward-only, population-based.

**OpenAI-ES** (Salimans et al. 2017), ``P`` antithetic pairs ``theta +- sigma E_d``,
``E_d ~ N(0, I)``, fitness ``f = -L`` (minibatch cross-entropy, nats), centred-rank shaping
``u = rank(f) / (2P - 1) - 1/2``::

    g_ascent = 1 / (2 P sigma) sum_d (u_d+ - u_d-) E_d,        .grad = -g_ascent

**EGGROLL** (Sarkar et al. 2025, "Evolution strategies at the hyperscale"): the same, but each
weight matrix ``[m, n]`` moves along ``E = A B^T / sqrt(r)`` with ``A [m, r]``, ``B [n, r]``
Gaussian: a direction holds ``r (m + n)`` floats instead of ``m n``, and the stacked members
apply it as ``(f B) A^T`` without forming ``E``. The update ``sum_d c_d A_d B_d^T`` has rank up
to ``P r``. :meth:`~neuromorph.learning_rules.perturbation.PopulationRule.perturbation_floats`
measures it from the tensors drawn.

**Deep GA** (Such et al. 2017): a population of ``P`` flat weight vectors; per batch, every
member is scored on the batch (one stacked evaluation), the ``parents`` best are kept as
parents, the ``elites`` best survive unchanged, and every other slot is a uniformly chosen
parent plus ``sigma N(0, I)`` (mutation only, no crossover). The net carries the best member.
An explicit update: ``optimizer=None``. The population is stored (``P n`` floats), not encoded
as seed lists as in the paper.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from neuromorph.learning_rules.perturbation import (
    DenseNoise,
    LowRankNoise,
    MemberLoss,
    Noise,
    PopulationRule,
    StageMap,
    call_linear,
    centred_ranks,
    member_losses,
    mix_seed,
    write_grads,
)
from neuromorph.networks.stack import StackNet


def _check(name: str, value: float, low: float = 0.0) -> None:
    if not value > low or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > {low}, got {value}")


class EvolutionStrategy(PopulationRule):
    """Full-rank OpenAI-ES with ``pairs`` antithetic pairs and centred ranks (module doc)."""

    def __init__(self, net: StackNet, pairs: int = 16, sigma: float = 0.02, seed: int = 0,
                 loss: MemberLoss = member_losses) -> None:
        super().__init__(net, seed, loss)
        _check("pairs", pairs)
        _check("sigma", sigma)
        self.pairs, self.sigma = int(pairs), float(sigma)

    def make_noise(self, seed: int) -> Noise:
        return DenseNoise(self.params, self.pairs, seed, "gaussian")

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        noise = self.make_noise(self.next_seed())
        losses = self.antithetic(noise, self.sigma, x, y)
        shaped = centred_ranks(-losses)
        coeffs = (shaped[0::2] - shaped[1::2]) / (2 * self.pairs * self.sigma)
        write_grads(self.params, [-g for g in noise.combine(coeffs)])
        return float(losses.mean())


class EGGROLL(EvolutionStrategy):
    """Low-rank ES: every weight matrix perturbed along ``A B^T / sqrt(rank)`` (module doc)."""

    def __init__(self, net: StackNet, pairs: int = 16, sigma: float = 0.02, rank: int = 4,
                 seed: int = 0, loss: MemberLoss = member_losses) -> None:
        super().__init__(net, pairs, sigma, seed, loss)
        _check("rank", rank)
        self.rank = int(rank)

    def make_noise(self, seed: int) -> Noise:
        return LowRankNoise(self.params, self.pairs, seed, self.rank)


class DeepGA(PopulationRule):
    """Truncation selection, mutation only, elitism; updates the net in place (module doc)."""

    def __init__(self, net: StackNet, population: int = 64, sigma: float = 0.02,
                 parents: int = 10, elites: int = 1, seed: int = 0,
                 loss: MemberLoss = member_losses) -> None:
        super().__init__(net, seed, loss)
        _check("sigma", sigma)
        if not 1 <= elites <= parents <= population:
            raise ValueError("need 1 <= elites <= parents <= population, got "
                             f"elites={elites}, parents={parents}, population={population}")
        self.size, self.sigma = int(population), float(sigma)
        self.parents, self.elites = int(parents), int(elites)
        self.generator = torch.Generator().manual_seed(mix_seed(seed, 0xA5))
        with torch.no_grad():
            theta = parameters_to_vector(self.params)
        self.population = theta.repeat(self.size, 1)
        self.population[1:] += self.sigma * self._randn(self.size - 1, theta.numel())
        self._slices = self._layout()

    def _randn(self, *shape: int) -> Tensor:
        return torch.randn(shape, generator=self.generator)

    def _layout(self) -> list[tuple[int, int]]:
        starts, offset = [], 0
        for p in self.params:
            starts.append((offset, p.numel()))
            offset += p.numel()
        return starts

    def _member_param(self, j: int) -> Tensor:
        start, n = self._slices[j]
        return self.population[:, start:start + n].reshape(self.size, *self.params[j].shape)

    def _stage_map(self) -> StageMap:
        def apply(k: int, linear: nn.Module, f: Tensor) -> Tensor:
            wj, bj = self.index[k]
            w = self._member_param(wj)
            b = None if bj is None else self._member_param(bj)
            if type(linear) is not nn.Linear:
                return torch.stack([
                    call_linear(linear, w[m], None if b is None else b[m],
                                f[0 if f.shape[0] == 1 else m]) for m in range(self.size)])
            out = f.expand(self.size, -1, -1) @ w.transpose(1, 2)
            return out if b is None else out + b.unsqueeze(1)

        return apply

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        raise NotImplementedError(f"{self.name} updates its population in place; call "
                                  "train_batch(x, y, None)")

    def train_batch(self, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer | None = None
                    ) -> float:
        """One generation on the batch; ``optimizer`` is unused (pass ``None``)."""
        self.step += 1
        losses = self.evaluate(x, y, self.size, self._stage_map())
        order = torch.argsort(losses, stable=True)
        parents = self.population[order[: self.parents]]
        pick = torch.randint(0, self.parents, (self.size - self.elites,), generator=self.generator)
        children = parents[pick] + self.sigma * self._randn(len(pick), parents.shape[1])
        self.population = torch.cat([parents[: self.elites], children])
        with torch.no_grad():
            vector_to_parameters(self.population[0].clone(), self.params)
        self.perturbation_bytes = children.numel() * children.element_size()
        self.transient_bytes = self.perturbation_bytes + self.activation_bytes
        return float(losses[order[0]])

    def state_tensors(self) -> list[Tensor]:
        return [self.population]
