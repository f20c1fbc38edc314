"""A spiking Legendre Memory Unit block (LMUFormer-style, Liu et al. 2024) and its twin.

**Legendre delay system** (Voelker, Kajic & Eliasmith 2019): ``q`` memory states ``m(t)``
follow ``theta dm/dt = A' m + B' u`` (``theta`` the window, in seconds or steps), i.e.
``dm/dt = A m + B u`` with ::

    A[i, j] = (2i + 1) / theta * (-1             if i < j
                                  (-1)^(i-j+1)   if i >= j)
    B[i]    = (2i + 1) (-1)^i / theta

and the window is read back through the shifted Legendre polynomials
``P~_i(r) = P_i(2r - 1)``: ``u(t - r theta) ~= sum_i P~_i(r) m_i(t)`` for ``0 <= r <= 1``
(:func:`legendre_decoder`). The transfer function ``C (sI - A)^-1 B`` with ``C = P~(1)`` is the
Pade ``[q-1 / q]`` approximant of the delay ``e^{-theta s}``. Discretised by zero-order hold
(:func:`discretize_zoh`): ``m_t = Abar m_{t-1} + Bbar u_t``, ``Abar = e^{A dt}``,
``Bbar = A^-1 (Abar - I) B``.

**Block** (input ``x [T, B, d]``: spikes or the twin's ReLU outputs; ``act`` a LIF along the
sequence or ReLU, :class:`~neuromorph.networks.sequence.SequenceActivation`)::

    u = act(W_u x)                              d -> d_u channels
    m = Legendre memory of each channel of u    [T, B, d_u, q], parallel (a causal
                                                convolution with Abar^n Bbar) or recurrent
    h = act(x + W_m act(g * [m, -m]))           signed memory as ON/OFF pairs, gain g
    out = act(h + W_2 act(W_1 h))               channel MLP

LMUFormer drops the LMU's hidden-state feedback so the memory trains in parallel; so does this
block. The ON/OFF pair lets a spiking neuron carry the memory's sign; in the twin
``relu(m) - relu(-m) = m`` keeps it exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.polynomial import legendre
from torch import Tensor, nn

from neuromorph.networks.sequence import (
    OpCount,
    SequenceActivation,
    check_sequence,
    counted_read,
)


def legendre_state_space(order: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous-time ``(A [q, q], B [q])`` of the Legendre delay system (module docstring);
    ``theta`` in the unit of time of the simulation (s, or steps)."""
    if order < 1 or not theta > 0:
        raise ValueError(f"need order >= 1 and theta > 0, got order={order}, theta={theta}")
    i = np.arange(order)[:, None]
    j = np.arange(order)[None, :]
    sign = np.where(i < j, -1.0, (-1.0) ** (i - j + 1))
    A = (2 * i + 1) * sign / theta
    B = (2 * np.arange(order) + 1) * (-1.0) ** np.arange(order) / theta
    return A, B


def discretize_zoh(A: np.ndarray, B: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Zero-order hold: ``Abar = e^{A dt}``, ``Bbar = int_0^dt e^{A s} ds B`` (one matrix
    exponential of the augmented system ``[[A, B], [0, 0]] dt``)."""
    q = A.shape[0]
    aug = np.zeros((q + 1, q + 1))
    aug[:q, :q], aug[:q, q] = A * dt, B * dt
    expm = torch.linalg.matrix_exp(torch.as_tensor(aug, dtype=torch.float64)).numpy()
    return expm[:q, :q], expm[:q, q]


def legendre_decoder(order: int, r: np.ndarray) -> np.ndarray:
    """``P~_i(r) = P_i(2r - 1)`` as ``[len(r), q]``: ``u(t - r theta) ~= decoder @ m(t)``."""
    return np.stack([legendre.legval(2 * np.asarray(r) - 1, np.eye(order)[i])
                     for i in range(order)], -1)


class LegendreMemory(nn.Module):
    """The discrete Legendre memory of ``channels`` independent inputs (dt = 1 step)."""

    def __init__(self, order: int, theta_steps: float) -> None:
        super().__init__()
        A, B = discretize_zoh(*legendre_state_space(order, theta_steps), dt=1.0)
        self.order = order
        self.register_buffer("A_bar", torch.as_tensor(A, dtype=torch.float32))
        self.register_buffer("B_bar", torch.as_tensor(B, dtype=torch.float32))

    def impulse_response(self, steps: int) -> Tensor:
        """``H[n] = Abar^n Bbar`` for ``n < steps``: ``[steps, q]``."""
        h = [self.B_bar.double()]
        A = self.A_bar.double()
        for _ in range(steps - 1):
            h.append(A @ h[-1])
        return torch.stack(h).to(self.B_bar.dtype)

    def forward(self, u: Tensor, *, recurrent: bool = False) -> Tensor:
        """``u [T, B, C]`` -> ``m [T, B, C, q]`` with ``m_t = Abar m_{t-1} + Bbar u_t``."""
        if recurrent:
            m = u.new_zeros(*u.shape[1:], self.order)
            out = []
            for ut in u:
                m = m @ self.A_bar.T + ut[..., None] * self.B_bar
                out.append(m)
            return torch.stack(out)
        T = u.shape[0]
        h = self.impulse_response(T)
        lag = torch.arange(T)[:, None] - torch.arange(T)[None, :]
        kernel = torch.where((lag >= 0)[..., None], h[lag.clamp(min=0)], 0.0)  # [T, T, q]
        return torch.einsum("tjq,jbc->tbcq", kernel.to(u), u)


class LMUBlock(nn.Module):
    """One LMU block of width ``d``: ``d_u`` memory channels of ``order`` Legendre states over
    ``theta_steps`` steps, channel MLP of width ``d_ffn``."""

    def __init__(self, d: int, d_ffn: int, *, spiking: bool, d_u: int = 8, order: int = 8,
                 theta_steps: float = 40.0, tau_steps: float = 2.0,
                 surrogate: str = "fast_sigmoid", scale: float | None = None,
                 generator: torch.Generator | None = None,
                 memory_gain: float = 4.0) -> None:
        super().__init__()
        if min(d, d_ffn, d_u, order) < 1:
            raise ValueError(f"LMUBlock: d, d_ffn, d_u, order must be >= 1, got {d}, {d_ffn}, "
                             f"{d_u}, {order}")
        self.d, self.d_u, self.spiking = d, d_u, spiking
        self.memory = LegendreMemory(order, theta_steps)
        self.lin = nn.ModuleDict({
            "encode": nn.Linear(d, d_u, bias=False),
            "memory": nn.Linear(2 * d_u * order, d, bias=False),
            "ffn_in": nn.Linear(d, d_ffn, bias=False),
            "ffn_out": nn.Linear(d_ffn, d, bias=False),
        })
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        for layer in self.lin.values():
            bound = layer.in_features ** -0.5
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=gen)
        self.gain = nn.Parameter(torch.full((d_u, order), float(memory_gain)))
        self.act = nn.ModuleList(SequenceActivation(spiking, tau_steps, surrogate, scale)
                                 for _ in range(5))

    def _read(self, x: Tensor, name: str, ops: OpCount | None) -> Tensor:
        return counted_read(self.lin[name], x, ops, self.spiking)

    def forward(self, x: Tensor, ops: OpCount | None = None, *, recurrent: bool | None = None
                ) -> Tensor:
        """``x [T, B, d]`` -> ``[T, B, d]``; ``recurrent`` runs the memory step by step
        (``None``: the parallel convolution)."""
        recurrent = False if recurrent is None else recurrent
        check_sequence(x, self.d, "LMUBlock")
        u = self.act[0](self._read(x, "encode", ops), ops)
        m = self.memory(u, recurrent=recurrent) * self.gain
        if ops is not None:
            q = self.memory.order
            ops.matrix(u, q, self.spiking)  # Bbar u_t: each channel feeds its q states
            ops.macs += float(m.numel()) * q  # Abar m_{t-1}: real state, q x q per channel
            ops.elementwise(m)  # the gain
        signed = torch.cat([m, -m], -1).flatten(2)
        h = self.act[2](x + self._read(self.act[1](signed, ops), "memory", ops), ops)
        f = self.act[3](self._read(h, "ffn_in", ops), ops)
        return self.act[4](h + self._read(f, "ffn_out", ops), ops)


__all__ = ["LMUBlock", "LegendreMemory", "discretize_zoh", "legendre_decoder",
           "legendre_state_space"]
