"""Knowledge distillation and the time-step schedule of one-timestep SNN training.

Chowdhury, Rathi & Roy, "One Timestep is All You Need: Training Spiking Neural Networks with
Ultra Low Latency" (2021) reach ``T = 1`` by iterative initialisation and retraining: a network
trained at ``T`` steps initialises the network at ``T - 1``, which is retrained, down to one step
(:func:`step_down`). We add a teacher: while stepping down, the student also matches the
class probabilities of the network trained at the starting ``T`` (Hinton, Vinyals & Dean 2015):

    L = (1 - a) CE(z_s, y) + a tau^2 KL( softmax(z_t / tau) || softmax(z_s / tau) )

with student and teacher logits ``z_s``, ``z_t`` ``[B, C]``, labels ``y``, temperature ``tau``
and weight ``a`` in [0, 1]. The ``tau^2`` keeps the soft term's gradient,
``a tau (softmax(z_s / tau) - softmax(z_t / tau))``, on the scale of the hard term's as ``tau``
grows.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["distillation_loss", "step_down"]


def distillation_loss(student: Tensor, teacher: Tensor, targets: Tensor, *,
                      temperature: float = 2.0, alpha: float = 0.5) -> Tensor:
    """The mean over the batch of ``L`` (module docstring); ``teacher`` gets no gradient."""
    if student.dim() != 2 or student.shape != teacher.shape:
        raise ValueError(f"student and teacher logits must both be [B, C], got "
                         f"{tuple(student.shape)} and {tuple(teacher.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    hard = F.cross_entropy(student, targets)
    log_s = F.log_softmax(student / temperature, dim=1)
    log_t = F.log_softmax(teacher.detach() / temperature, dim=1)
    soft = F.kl_div(log_s, log_t, log_target=True, reduction="batchmean")
    return (1.0 - alpha) * hard + alpha * temperature**2 * soft


def step_down(start: int, stop: int = 1) -> list[int]:
    """The step counts a network trained at ``start`` steps is retrained at, in order:
    ``[start - 1, start - 2, ..., stop]``."""
    if not 1 <= stop < start:
        raise ValueError(f"step_down needs 1 <= stop < start, got start={start}, stop={stop}")
    return list(range(start - 1, stop - 1, -1))
