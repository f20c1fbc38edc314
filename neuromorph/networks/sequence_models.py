"""Sequence classifiers and character language models built from RWKV or LMU blocks.

``SequenceModel(kind, ...)``: an input stage, ``n_blocks`` blocks of ``kind`` (``"rwkv"``:
:class:`~neuromorph.networks.spiking_rwkv.RWKVBlock`, ``"lmu"``:
:class:`~neuromorph.networks.spiking_lmu.LMUBlock`) and a linear readout, spiking or as the
non-spiking twin (same weights' shapes, LIF replaced by ReLU).

- ``task="classify"``: real input ``x [T, B, n_in]`` -> ``act(W_in x)`` (real input: MACs in
  both forms) -> blocks -> ``W_out`` per step; the class logits are the mean over steps.
  ``analog_input=True`` drops that ``act``: the first block receives the real current ``W_in x``
  (its first matrix then counts MACs, see :meth:`OpCount.matrix`).
- ``task="lm"``: tokens ``[T, B]`` -> embedding row (a one-hot token is one event: ``d``
  operations, counted as synops when spiking and MACs in the twin) -> ``act`` -> blocks ->
  ``W_out`` per step: next-token logits ``[T, B, vocab]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor, nn

from neuromorph.networks.sequence import OpCount, SequenceActivation
from neuromorph.networks.spiking_lmu import LMUBlock
from neuromorph.networks.spiking_rwkv import RWKVBlock

#: block name -> constructor ``(d, d_ffn, spiking=..., generator=..., **options)``.
BLOCKS: dict[str, Callable[..., nn.Module]] = {"rwkv": RWKVBlock, "lmu": LMUBlock}
Task = Literal["classify", "lm"]


class SequenceModel(nn.Module):
    """Input stage, blocks and readout (module docstring). ``n_in`` is the input width
    (``classify``) or the vocabulary size (``lm``)."""

    def __init__(self, kind: str, task: Task, n_in: int, n_out: int, *, d: int = 64,
                 d_ffn: int = 128, n_blocks: int = 1, spiking: bool = True,
                 tau_steps: float = 2.0, surrogate: str = "fast_sigmoid",
                 scale: float | None = None, analog_input: bool = False, seed: int = 0,
                 **block_options: Any) -> None:
        super().__init__()
        if kind not in BLOCKS:
            raise ValueError(f"unknown block {kind!r}; choose one of {sorted(BLOCKS)}")
        if task not in ("classify", "lm"):
            raise ValueError(f"unknown task {task!r}; choose 'classify' or 'lm'")
        if min(n_in, n_out, n_blocks) < 1:
            raise ValueError(f"n_in, n_out, n_blocks must be >= 1, got {n_in}, {n_out}, "
                             f"{n_blocks}")
        #: the constructor arguments, which rebuild this model (its spec in neuromorph.models)
        self.made_as: dict[str, Any] = dict(
            task=task, n_in=n_in, n_out=n_out, d=d, d_ffn=d_ffn, n_blocks=n_blocks,
            spiking=spiking, tau_steps=tau_steps, surrogate=surrogate, scale=scale,
            analog_input=analog_input, seed=seed, **block_options)
        gen = torch.Generator().manual_seed(seed)
        self.kind, self.task, self.spiking, self.d, self.n_in = kind, task, spiking, d, n_in
        self.input = nn.Embedding(n_in, d) if task == "lm" else nn.Linear(n_in, d)
        with torch.no_grad():
            w = self.input.weight
            w.copy_(torch.randn(w.shape, generator=gen) if task == "lm"
                    else (torch.rand(w.shape, generator=gen) * 2 - 1) * n_in ** -0.5 * 2)
        if analog_input and task != "classify":
            raise ValueError("analog_input applies to task='classify' (real-valued samples)")
        self.input_act = (None if analog_input
                          else SequenceActivation(spiking, tau_steps, surrogate, scale))
        self.blocks = nn.ModuleList(
            BLOCKS[kind](d, d_ffn, spiking=spiking, tau_steps=tau_steps, surrogate=surrogate,
                         scale=scale, generator=gen, **block_options) for _ in range(n_blocks))
        self.readout = nn.Linear(d, n_out)
        with torch.no_grad():  # every initial value from ``seed``, none from the global RNG
            for p in (self.readout.weight, self.readout.bias):
                p.uniform_(-(d ** -0.5), d ** -0.5, generator=gen)
            if task == "classify":
                self.input.bias.uniform_(-(n_in ** -0.5), n_in ** -0.5, generator=gen)

    def forward(self, x: Tensor, ops: OpCount | None = None, *, recurrent: bool | None = None
                ) -> Tensor:
        """Per-step readout ``[T, B, n_out]`` (see :meth:`logits` for the task's logits);
        ``recurrent`` picks the blocks' form (``None``: each block's faster one)."""
        if self.task == "lm":
            if x.dim() != 2 or x.dtype != torch.long:
                raise ValueError(f"lm input must be int64 tokens [T, B], got {x.dtype} "
                                 f"{tuple(x.shape)}")
            if ops is not None:
                cost = float(x.numel()) * self.d
                ops.synops, ops.macs = ((ops.synops + cost, ops.macs) if self.spiking
                                        else (ops.synops, ops.macs + cost))
        elif x.dim() != 3 or x.shape[-1] != self.n_in:
            raise ValueError(f"classify input must be [T, B, {self.n_in}], got {tuple(x.shape)}")
        elif ops is not None:
            ops.matrix(x, self.d, spiking=False)  # real-valued samples: MACs in both forms
        if ops is not None:
            ops.samples += x.shape[1]
        h = self.input(x)
        if self.input_act is not None:
            h = self.input_act(h, ops)
        for block in self.blocks:
            h = block(h, ops, recurrent=recurrent)
        if ops is not None:
            ops.matrix(h, self.readout.out_features, self.spiking)
        return self.readout(h)

    def load_twin_weights(self, other: SequenceModel) -> None:
        """Copy every weight of ``other`` (the same architecture, spiking or twin); the LIF
        neurons' fixed constants stay this model's own."""
        fix = "build both with the same kind, task, sizes and block options"
        try:
            missing, unexpected = self.load_state_dict(other.state_dict(), strict=False)
        except RuntimeError as err:  # a shape mismatch
            raise ValueError(f"load_twin_weights: the models differ in shape; {fix}") from err
        wrong = [k for k in [*missing, *unexpected] if ".neuron." not in k]
        if wrong:
            raise ValueError(f"load_twin_weights: the models differ in {wrong[:3]}; {fix}")

    def logits(self, x: Tensor, ops: OpCount | None = None) -> Tensor:
        """``classify``: mean over steps ``[B, n_out]``; ``lm``: per step ``[T, B, vocab]``."""
        out = self(x, ops)
        return out.mean(0) if self.task == "classify" else out


def n_parameters(model: nn.Module) -> int:
    """Trainable parameters (the fixed Legendre matrices are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["BLOCKS", "SequenceModel", "n_parameters"]
