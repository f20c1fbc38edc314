"""Counter-current learning (Kao & Hariharan, NeurIPS 2024) on a :class:`StackNet`.

Two networks run anti-parallel. The forward network is the StackNet, ``out_k = W_k F_k(out_{k-1})``;
the feedback network carries the *targets* down, starting from the one-hot code of every class
(``c_{L-1} = I_C``) through its own trainable maps ``G_k`` and activation ``phi`` (ELU, the
paper's choice)::

    c_k = phi(G_k c_{k+1}),     c_k in R^{C x n_k}  (one row per class, width of out_k)

Every forward stage ``k < L-1`` is trained by a layer-local similarity loss against the feedback
signal of the same depth, and the last stage by cross-entropy (the paper's classification
loss, with ``lambda`` its ``loss_scale``)::

    L_k = lambda / (C B) || out_k c_k^T - onehot(y) ||_F^2,    L_{L-1} = CE(out_{L-1}, y)

Inputs to every map are detached (``sg``): ``L_k`` moves only ``W_k`` (through ``out_k``) and
``G_k`` (through ``c_k``), so the two networks teach each other layer by layer and nothing is
back-propagated across a stage. The paper aligns post-activation states; here the aligned
forward state is the stage output ``out_k`` -- the substrate's *input* -- because aligning
``F_k(out_k)`` would need ``F_k``'s derivative.

**Access.** Of the substrate ``F`` only measured features ``F(out_{k-1})`` are used (they are
the inputs of ``W_k``): ``FORWARD_ONLY``, so the rule runs on dense physical systems too.
Cost per update: ``B`` queries per substrate (one forward pass); memory: the feedback maps
(``sum_k n_k n_{k+1}`` floats) and ``C x n_k`` signals.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from neuromorph.access import Access, require_access
from neuromorph.learning_rules.base import LearningRule
from neuromorph.networks.stack import StackNet


class CounterCurrent(LearningRule):
    """Counter-current learning: a label-driven feedback network and layer-local losses."""

    requires = Access.FORWARD_ONLY

    def __init__(self, net: StackNet, seed: int = 0, loss_scale: float = 1.0) -> None:
        for k, stage in enumerate(net.layers):
            require_access(self.name, self.requires,
                           f"stage {k} ({type(stage.transform).__name__})", stage.access)
        if len(net.layers) < 2:
            raise ValueError("counter-current learning needs >= 2 stages (a hidden layer to "
                             "align); build the net with a substrate stage")
        if not loss_scale > 0 or math.isinf(loss_scale):
            raise ValueError(f"loss_scale must be a finite number > 0, got {loss_scale}")
        self.net, self.loss_scale = net, float(loss_scale)
        widths = [stage.n_out for stage in net.layers]
        gen = torch.Generator().manual_seed(int(seed))
        self.feedback = nn.ModuleList()
        for k in range(len(widths) - 1):  # G_k: c_{k+1} (width n_{k+1}) -> c_k (width n_k)
            g = nn.Linear(widths[k + 1], widths[k], bias=False)
            bound = 1.0 / math.sqrt(widths[k + 1])
            with torch.no_grad():
                g.weight.uniform_(-bound, bound, generator=gen)
            self.feedback.append(g)

    def parameters(self) -> list[nn.Parameter]:
        return self.net.trainable_parameters() + list(self.feedback.parameters())

    def state_tensors(self) -> list[Tensor]:
        return list(self.feedback.parameters())

    def signals(self) -> list[Tensor]:
        """Feedback signals ``[c_0, ..., c_{L-1}]`` (each map's input detached)."""
        c_top = torch.eye(self.net.n_classes)
        out = [c_top]
        for g in reversed(self.feedback):
            out.insert(0, nnf.elu(g(out[0].detach())))
        return out

    def compute_grads(self, x: Tensor, y: Tensor) -> float:
        outs, h = [], x
        for stage in self.net.layers:
            with torch.no_grad():
                f = stage.features(h)  # measured, never differentiated
            out = stage.linear(f)
            outs.append(out)
            h = out.detach()
        signals = self.signals()
        target = nnf.one_hot(y, self.net.n_classes).to(x.dtype)
        loss = nnf.cross_entropy(outs[-1], y)
        for out, c in zip(outs[:-1], signals[:-1], strict=True):
            loss = loss + self.loss_scale * nnf.mse_loss(out @ c.T, target)
        loss.backward()
        self.transient_bytes = sum(t.numel() * t.element_size() for t in outs + signals)
        return float(nnf.cross_entropy(outs[-1].detach(), y))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.net(x).argmax(dim=1)


__all__ = ["CounterCurrent"]
