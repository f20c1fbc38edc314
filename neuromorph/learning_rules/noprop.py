"""NoProp-DT (Li, Teh & Pascanu, arXiv:2503.24322, 2025): blocks that denoise a label embedding.

Labels are embedded as ``u_y = e_y`` (fixed one-hot, ``C`` dimensions). A cosine schedule
``abar_t = cos^2(pi/2 (1 - t/T + s)/(1 + s))``, ``t = 0..T`` (``abar_0 = 0``: pure noise,
``abar_T ~ 1``: clean) defines ``q(z_t | y) = N(sqrt(abar_t) u_y, (1 - abar_t) I)``.
Block ``t = 1..T`` predicts the clean embedding from the image and the noisier ``z_{t-1}``::

    u_hat_t(z_{t-1}, x) = softmax(block_t([z_{t-1}; x])) U,        U = I_C

and learns alone, from ``z_{t-1} ~ q(z_{t-1} | y)`` drawn fresh (no forward pass through the
earlier blocks, no gradient across blocks)::

    L_t = (eta / 2) (SNR(t) - SNR(t-1)) ||u_hat_t - u_y||^2,     SNR(t) = abar_t / (1 - abar_t)

A linear classifier ``p(y | z_T) = softmax(Q z_T)`` learns ``CE`` on ``z_T ~ q(z_T | y)`` (the
KL term of the paper vanishes: ``abar_0 = 0`` and ``U`` is fixed). Inference runs the reverse
chain from noise, ``z_0 ~ N(0, I)``::

    z_t = a_t u_hat_t(z_{t-1}, x) + b_t z_{t-1} + sqrt(c_t) eps_t,    alpha = abar_{t-1}/abar_t
    a_t = sqrt(abar_t)(1 - alpha)/(1 - abar_{t-1}),  b_t = sqrt(alpha)(1 - abar_t)/(1 - abar_{t-1}),
    c_t = (1 - abar_t)(1 - alpha)/(1 - abar_{t-1})

then ``argmax Q z_T`` (the noise is seeded: the same rule predicts the same labels).

**A block on a StackNet** is a copy of the network's own chain, ``block_t(h) = W^t_L F_L(...
W^t_1 F_1(h))``, with its own digital maps ``W^t_k`` and the *same* transforms ``F_k`` (the
substrate, time-shared by the ``T`` blocks; block ``T`` is the network's own maps). The
noisy label ``z_{t-1}`` enters through the input's ``C`` reserved label slots. Each block is
trained by backprop *inside* the block, that is through ``F``: NoProp needs
``DIFFERENTIABLE`` access of every transform (digital, spiking with its surrogate) and is
refused on forward-only substrates (physical systems, the integer chip).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.stack import StackNet


def cosine_schedule(steps: int, offset: float = 0.008, top: float = 0.9999) -> Tensor:
    """``abar_t`` for ``t = 0..steps`` (float64), increasing from 0 (noise) to ``<= top``."""
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    abar = torch.cos(0.5 * math.pi * (1 - t + offset) / (1 + offset)) ** 2
    abar[0] = 0.0
    return abar.clamp(max=top)


def reverse_coefficients(abar: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(a_t, b_t, c_t)`` for ``t = 1..T`` of ``q(z_t | z_{t-1}, u)`` (module docstring)."""
    prev, cur = abar[:-1], abar[1:]
    alpha = prev / cur
    a = cur.sqrt() * (1 - alpha) / (1 - prev)
    b = alpha.sqrt() * (1 - cur) / (1 - prev)
    c = (1 - cur) * (1 - alpha) / (1 - prev)
    return a, b, c


class NoPropDT(LearningRule):
    """Discrete-time NoProp on a StackNet: ``steps`` denoising blocks (module docstring)."""

    requires = Access.DIFFERENTIABLE

    def __init__(self, net: StackNet, seed: int = 0, steps: int = 10, eta: float = 0.1) -> None:
        if not isinstance(net, StackNet):
            raise TypeError(f"{self.name} trains a StackNet, got {type(net).__name__}")
        for k, stage in enumerate(net.layers):
            if stage.access < self.requires:
                raise AccessError(
                    f"{self.name} needs differentiable access: each block backpropagates "
                    f"through the substrate, but stage {k} ({type(stage.transform).__name__}) "
                    f"offers only {stage.access.label()} access. Use a differentiable "
                    "substrate (digital, spiking), or a rule that only measures the substrate "
                    "(dfa, drtp, mono_forward, cafo)."
                )
        if steps < 1:
            raise ValueError(f"steps (the number of blocks T) must be >= 1, got {steps}")
        if not eta > 0:
            raise ValueError(f"eta (the denoising loss weight) must be > 0, got {eta}")
        c = net.n_classes
        if net.n_in <= c:
            raise ValueError(f"the input needs {c} reserved label slots in front of the "
                             f"features; it has only {net.n_in} columns")
        self.net, self.steps, self.eta, self.seed = net, int(steps), float(eta), int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        self.blocks = [self._copy_maps(gen) for _ in range(self.steps - 1)]
        self.blocks.append([stage.linear for stage in net.layers])
        self.classifier = nn.Linear(c, c)
        with torch.no_grad():
            self.classifier.weight.copy_(torch.eye(c))
            self.classifier.bias.zero_()
        self.embedding = torch.eye(c)
        self.abar = cosine_schedule(self.steps)
        snr = self.abar / (1 - self.abar)
        self.weights = (0.5 * self.eta * (snr[1:] - snr[:-1])).float()
        self._gen = torch.Generator().manual_seed(self.seed + 1)

    def _copy_maps(self, gen: torch.Generator) -> list[nn.Linear]:
        """Fresh digital maps shaped like the network's, seeded (PyTorch's default range)."""
        maps = []
        for stage in self.net.layers:
            old = stage.linear
            new = type(old)(old.in_features, old.out_features, bias=old.bias is not None)
            bound = 1.0 / math.sqrt(old.in_features)
            with torch.no_grad():
                for p in new.parameters():
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
            maps.append(new)
        return maps

    # -- the blocks ----------------------------------------------------------------------------
    def _inputs(self, x: Tensor, z: Tensor) -> Tensor:
        c = self.net.n_classes
        return torch.cat([z.to(x.dtype), x[:, c:]], dim=1)

    def run_blocks(self, inputs: Tensor, which: list[int]) -> Tensor:
        """Logits ``[len(which), B, C]`` of blocks ``which`` on ``inputs`` ``[len(which), B, n]``.

        One substrate call per stage serves all the blocks (the transform acts sample by
        sample, so no gradient passes between blocks); the digital maps run as one batched
        matmul.
        """
        hs = inputs
        for k, stage in enumerate(self.net.layers):
            n_blocks, batch = hs.shape[:2]
            feats = stage.transform(hs.reshape(n_blocks * batch, -1)).reshape(n_blocks, batch, -1)
            hs = _apply_maps([self.blocks[t][k] for t in which], feats)
        return hs

    def denoised(self, logits: Tensor) -> Tensor:
        """``u_hat = softmax(logits) U``."""
        return torch.softmax(logits, dim=-1) @ self.embedding

    def sample_q(self, t: int, y: Tensor, gen: torch.Generator) -> Tensor:
        """``z_t ~ q(z_t | y) = N(sqrt(abar_t) u_y, (1 - abar_t) I)``."""
        u = self.embedding[y]
        noise = torch.randn(u.shape, generator=gen)
        return float(self.abar[t].sqrt()) * u + float((1 - self.abar[t]).sqrt()) * noise

    # -- the optimiser contract ----------------------------------------------------------------
    def parameters(self) -> list[nn.Parameter]:
        own = [p for maps in self.blocks[:-1] for m in maps for p in m.parameters()]
        return self.net.trainable_parameters() + own + list(self.classifier.parameters())

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        u = self.embedding[y]
        which = list(range(self.steps))
        inputs = torch.stack([self._inputs(x, self.sample_q(t, y, self._gen)) for t in which])
        outs = self.run_blocks(inputs, which)
        sq_err = ((self.denoised(outs) - u) ** 2).sum(dim=2).mean(dim=1)  # [T]
        loss = (self.weights * sq_err).sum()
        loss = loss + F.cross_entropy(self.classifier(self.sample_q(self.steps, y, self._gen)), y)
        loss.backward()
        self.transient_bytes = inputs.numel() * inputs.element_size()
        return float(loss.detach())

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """The reverse chain from ``z_0 ~ N(0, I)`` (seeded), then ``argmax Q z_T``."""
        gen = torch.Generator().manual_seed(self.seed + 2)
        a, b, c = (v.float() for v in reverse_coefficients(self.abar))
        z = torch.randn(x.shape[0], self.net.n_classes, generator=gen)
        for t in range(self.steps):
            (logits,) = self.run_blocks(self._inputs(x, z).unsqueeze(0), [t])
            noise = torch.randn(z.shape, generator=gen)
            z = a[t] * self.denoised(logits) + b[t] * z + c[t].sqrt() * noise
        return self.classifier(z).argmax(dim=1)

    def state_tensors(self) -> list[Tensor]:
        own = [p for maps in self.blocks[:-1] for m in maps for p in m.parameters()]
        return own + list(self.classifier.parameters()) + [self.embedding, self.abar]


def _apply_maps(maps: list[nn.Linear], h: Tensor) -> Tensor:
    """``h[t] W_t^T + b_t`` for every block ``t`` (one batched matmul for plain ``nn.Linear``)."""
    if all(type(m) is nn.Linear and m.bias is not None for m in maps):
        w = torch.stack([m.weight for m in maps])
        b = torch.stack([m.bias for m in maps]).unsqueeze(1)
        return torch.baddbmm(b, h, w.transpose(1, 2))
    return torch.stack([m(ht) for m, ht in zip(maps, h, strict=True)])


__all__ = ["NoPropDT", "cosine_schedule", "reverse_coefficients"]
