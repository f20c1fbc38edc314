"""The Loihi 2 integer model as a substrate: bit-accurate CUBA LIF neurons in the loop.

Each hidden neuron is one Loihi 2 neuron run by :func:`~neuromorph.hardware_models.chips.loihi.
loihi_step` (Lava's bit-accurate arithmetic, all ``int64``). The current ``z`` from the host
arrives as a graded event, quantised to ``z_int = clip(round(Q z), -255, 255)`` with
``Q = 64`` per unit current (a 9-bit signed payload), through an integer weight of 2
(``weight_exp = 0``)::

    u[t] = (2 z_int) << 6                            (du = 4095: no synaptic memory)
    v[t] = rs0(v[t-1] (4096 - dv), 12) + u[t],       dv = round(4096 (1 - beta))
    s[t] = v[t] > (vth << 6),  v[t] = 0 where s[t],  vth = round(2 Q theta)
    F(z) = (1 / steps) sum_t s[t]

So one unit of current is ``128 Q`` integer membrane units and the float equivalent is the
``reset="zero"`` :class:`~neuromorph.substrates.spiking.SpikingRate`, which is this substrate's
twin (for PAT). The substrate itself is forward-only: the chip returns spike counts only.
The stage that feeds it uses :class:`QuantizedLinear` (8-bit weights, Loihi's precision).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuromorph.access import Access
from neuromorph.hardware_models.chips.loihi import LoihiLayer, loihi_step
from neuromorph.networks.stack import Physics, Transform
from neuromorph.substrates.spiking import SpikingRate

_Q = 64
_PAYLOAD = 255


class LoihiRate(Transform):
    """``F(z)`` = spike rate of ``n`` integer Loihi 2 neurons over ``steps`` steps."""

    access = Access.FORWARD_ONLY
    elementwise = True

    def __init__(self, n: int, steps: int = 8, beta: float = 0.9, threshold: float = 1.0) -> None:
        super().__init__(n, n)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta (the membrane decay per step) must lie in [0, 1), got {beta}")
        self.steps, self.beta, self.threshold = int(steps), float(beta), float(threshold)
        ones = torch.ones(n, dtype=torch.int64)
        self.layer = LoihiLayer(
            weight=2 * torch.eye(n, dtype=torch.int64), rec_weight=None, weight_exp=0,
            du=4095 * ones, dv=round(4096 * (1 - beta)) * ones, bias_mant=0 * ones,
            bias_exp=0 * ones, vth=round(2 * _Q * threshold) * ones, spiking=True,
            scale=float(128 * _Q),
        )

    def measure(self, z: Tensor) -> Tensor:
        events = torch.round(z.detach() * _Q).clamp(-_PAYLOAD, _PAYLOAD).to(torch.int64)
        n = self.n_in
        state = (events.new_zeros(z.shape[0], n), events.new_zeros(z.shape[0], n))
        prev = events.new_zeros(z.shape[0], n)
        count = torch.zeros_like(events)
        for _ in range(self.steps):
            s, state = loihi_step(self.layer, events, state, prev)
            count += s
        return count.to(z.dtype) / self.steps

    def twin(self) -> Physics:
        """The float LIF with Loihi's reset to zero and a surrogate gradient."""
        return SpikingRate(self.n_in, self.steps, self.beta, self.threshold, reset="zero")

    def perturb(self, strength: float, generator: torch.Generator) -> None:
        """Threshold drift in integer units: ``vth <- round(vth (1 + strength N(0, 1)))``."""
        noise = torch.randn(self.layer.vth.shape, generator=generator, dtype=torch.float64)
        vth = torch.round(self.layer.vth.double() * (1 + strength * noise))
        self.layer.vth = vth.clamp(1, (1 << 17) - 1).to(torch.int64)


class QuantizedLinear(nn.Linear):
    """``nn.Linear`` whose forward uses 8-bit weights (Loihi: even integers in [-256, 254]).

    ``W_q = q round(W / q)`` with ``q = max|W| / 127`` (per layer); the bias is kept on the
    host. Gradients pass straight through (``dW_q / dW = 1``) for rules that differentiate.
    """

    bits = 8

    def quantized_weight(self) -> Tensor:
        w = self.weight
        q = w.detach().abs().max().clamp(min=1e-12) / (2 ** (self.bits - 1) - 1)
        return w + (torch.round(w / q) * q - w).detach()

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(x, self.quantized_weight(), self.bias)
