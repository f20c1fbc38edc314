"""One interface for every plasticity rule: observe activity, produce the weight change.

A :class:`PlasticityRule` is a functional core plus its parameters::

    dW, state = rule.update(pre, post, weight, modulator=None, state=None)

``weight`` is ``[n_post, n_pre]`` (the ``nn.Linear`` layout); ``dW`` has the same shape and is the
change to *add* to the weight. Rate rules take ``pre [B, n_pre]`` / ``post [B, n_post]`` and
average over the batch; spike rules take time-major spike trains ``[T, B, n]`` (step ``dt``) and
sum every spike pairing over time and batch. A rate rule given ``post=None`` computes its own
post-synaptic response (:meth:`PlasticityRule.response`, e.g. ``W x`` or a soft-max).
``state`` is the rule's own memory (traces, a sliding threshold, an eligibility trace);
``None`` starts it fresh. Three-factor rules (``modulated = True``) need a ``modulator``; a
rule without a third factor refuses one.

:class:`PlasticSynapses` (from :meth:`PlasticityRule.bind`) is the thin stateful shell: it
checks the layer's access once, keeps the rule state between calls and applies ``dW``:

* ``apply="grad"``: ``weight.grad -= dW`` (accumulated, like autograd), so any
  ``torch.optim`` optimiser's ``step()`` moves the weight along ``+dW`` (SGD with ``lr=1``
  applies it exactly);
* ``apply="inplace"``: ``weight += dW`` then the rule's bounds;
* ``apply="none"``: only return ``dW``.

Access: every rule here needs :data:`~neuromorph.access.Access.LOCAL` access (pre/post activity,
traces, a modulator) to the synapses it trains. Binding a rule to a module that offers less
(a forward-only physical system or :class:`~neuromorph.networks.physical.PhysicalLayer`) is an
:class:`~neuromorph.access.AccessError`; train the layer's digital map (``layer.linear``) on the
measured features (``layer.features(h)``) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from neuromorph.access import Access, AccessError
from neuromorph.learning_rules.base import LearningRule

State = Any


def _finite(t: Tensor, name: str, rule: str) -> None:
    if not torch.is_floating_point(t):
        raise TypeError(f"{rule}: {name} must be a floating-point tensor, got {t.dtype}; "
                        f"use {name}.float()")
    if not torch.isfinite(t).all():
        raise ValueError(f"{rule}: {name} contains NaN or inf; check the layer that produced it")


class PlasticityRule(LearningRule):
    """Base of the plasticity rules (see the module docstring for the contract).

    Class attributes a rule sets: ``requires`` (access need), ``modulated`` (needs a third
    factor), ``spiking`` (``True``: spike trains ``[T, B, n]``; ``False``: rates ``[B, n]``;
    ``None``: either), ``uses_activity`` (``False`` for rules that read only the weight).
    """

    requires: ClassVar[Access] = Access.LOCAL
    modulated: ClassVar[bool] = False
    spiking: ClassVar[bool | None] = False
    uses_activity: ClassVar[bool] = True

    def __init__(self, lr: float = 1.0) -> None:
        if not lr >= 0:
            raise ValueError(f"{self.name}: lr must be >= 0, got {lr}")
        self.lr = float(lr)

    # -- what a rule defines -------------------------------------------------------------
    def _update(self, pre: Tensor, post: Tensor, weight: Tensor, modulator: Tensor | None,
                state: State) -> tuple[Tensor, State]:
        raise NotImplementedError

    def response(self, pre: Tensor, weight: Tensor) -> Tensor:
        """The post-synaptic response the rule assumes when ``post`` is not given: ``W x``."""
        if self.spiking:
            raise ValueError(f"{self.name} needs the post-synaptic spike trains; pass post=")
        return pre @ weight.T

    @property
    def bounds(self) -> tuple[float, float] | None:
        """``(w_min, w_max)`` applied after an in-place update, or ``None``."""
        return None

    # -- the functional core ---------------------------------------------------------------
    def update(self, pre: Tensor | None, post: Tensor | None, weight: Tensor,
               modulator: Tensor | float | None = None,
               state: State = None) -> tuple[Tensor, State]:
        """``(dW, new_state)`` for one observation window (``dW`` is to be *added*)."""
        if not isinstance(weight, Tensor) or weight.dim() != 2:
            got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise ValueError(f"{self.name}: weight must be [n_post, n_pre], got {got}")
        w = weight.detach()
        mod = self._check_modulator(modulator, w)
        if self.uses_activity:
            pre, post = self._check_activity(pre, post, w)
        with torch.no_grad():
            return self._update(pre, post, w, mod, state)

    def _check_modulator(self, modulator: Tensor | float | None, w: Tensor) -> Tensor | None:
        if self.modulated and modulator is None:
            raise ValueError(f"{self.name} is a three-factor rule: pass modulator= (a reward, "
                             "reward-prediction error or neuromodulator signal)")
        if not self.modulated and modulator is not None:
            raise ValueError(f"{self.name} takes no modulator; use a three-factor rule "
                             "(RewardSTDP, NeuromodulatedHebb) for a modulated update")
        if modulator is None:
            return None
        m = torch.as_tensor(modulator, dtype=w.dtype, device=w.device)
        _finite(m, "modulator", self.name)
        return m

    def _check_activity(self, pre: Tensor | None, post: Tensor | None,
                        w: Tensor) -> tuple[Tensor, Tensor]:
        if not isinstance(pre, Tensor):
            raise ValueError(f"{self.name}: pre must be a tensor, got {type(pre).__name__}")
        dims = {True: (3,), False: (2,), None: (2, 3)}[self.spiking]
        layout = {3: "spike trains [T, B, n_pre]", 2: "rates [B, n_pre]"}
        if pre.dim() not in dims:
            want = " or ".join(layout[d] for d in dims)
            hint = " (add the time axis: x.unsqueeze(0))" if 3 in dims else ""
            raise ValueError(f"{self.name} expects {want}, got pre of shape "
                             f"{tuple(pre.shape)}{hint}")
        if pre.shape[-1] != w.shape[1]:
            raise ValueError(f"{self.name}: pre has {pre.shape[-1]} neurons but the weight "
                             f"[n_post, n_pre] = {tuple(w.shape)} expects {w.shape[1]}")
        _finite(pre, "pre", self.name)
        pre = pre.to(w.dtype)
        if post is None:
            post = self.response(pre, w)
        if not isinstance(post, Tensor) or post.shape[:-1] != pre.shape[:-1] \
                or post.shape[-1] != w.shape[0]:
            got = tuple(post.shape) if isinstance(post, Tensor) else type(post).__name__
            want = (*pre.shape[:-1], w.shape[0])
            raise ValueError(f"{self.name}: post must have shape {want} (pre's leading axes, "
                             f"n_post = {w.shape[0]}), got {got}")
        _finite(post, "post", self.name)
        return pre, post.to(w.dtype)

    # -- binding to a layer -------------------------------------------------------------------
    def check_layers(self, layers: Iterable[nn.Module]) -> None:
        """Like :meth:`LearningRule.check_layers`, with the fix for physical layers."""
        for layer in layers:
            try:
                super().check_layers([layer])
            except AccessError as err:
                hint = ""
                if hasattr(layer, "linear") and hasattr(layer, "system"):
                    hint = (" A plasticity rule cannot reach the synapses inside the physical "
                            "system; bind it to the layer's digital map instead: "
                            "rule.bind(layer.linear), with pre = layer.features(h).")
                elif hasattr(layer, "queries"):
                    hint = (" A physical system is a black box with nothing a local rule can "
                            "train; train the digital layer after it on its measured output.")
                raise AccessError(f"{err}{hint}") from None

    def bind(self, module: nn.Module, param: str = "weight") -> PlasticSynapses:
        """Attach the rule to ``module.<param>`` (checks the module's access now)."""
        return PlasticSynapses(self, module, param)

    def initial_state(self, weight: Tensor) -> State:
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if isinstance(v, int | float | str | bool))
        return f"{self.name}({fields})"


def write_grad(weight: Tensor, dw: Tensor) -> None:
    """``weight.grad -= dW`` so that an optimiser step moves the weight along ``+dW``."""
    if weight.grad is None:
        weight.grad = (-dw).to(weight.dtype).clone()
    else:
        weight.grad.sub_(dw.to(weight.grad.dtype))


def apply_inplace(weight: Tensor, dw: Tensor) -> None:
    with torch.no_grad():
        weight.add_(dw.to(weight.dtype))


#: how a weight change is applied; the one place the ``apply=`` option is dispatched.
APPLY: dict[str, Callable[[Tensor, Tensor], None]] = {
    "grad": write_grad,
    "inplace": apply_inplace,
    "none": lambda weight, dw: None,
}


class PlasticSynapses:
    """A rule bound to one weight tensor; keeps the rule state between observations."""

    def __init__(self, rule: PlasticityRule, module: nn.Module, param: str = "weight") -> None:
        rule.check_layers([module])
        weight = getattr(module, param, None)
        if not isinstance(weight, Tensor) or weight.dim() != 2:
            raise ValueError(f"{type(module).__name__}.{param} must be a 2-D weight tensor "
                             f"[n_post, n_pre], got {type(weight).__name__}")
        self.rule, self.module, self.param = rule, module, param
        self.state: State = None

    @property
    def weight(self) -> Tensor:
        return getattr(self.module, self.param)

    def observe(self, pre: Tensor | None, post: Tensor | None = None,
                modulator: Tensor | float | None = None, *, apply: str = "grad") -> Tensor:
        """Compute ``dW`` from this window of activity, apply it as asked, return it."""
        if apply not in APPLY:
            raise ValueError(f"unknown apply={apply!r}; choose one of {sorted(APPLY)}")
        dw, self.state = self.rule.update(pre, post, self.weight, modulator, self.state)
        APPLY[apply](self.weight, dw)
        if apply == "inplace":
            self.clamp_()
        return dw

    def clamp_(self) -> None:
        """Clip the weight to the rule's bounds (after an optimiser step, call this yourself)."""
        bounds = self.rule.bounds
        if bounds is not None:
            with torch.no_grad():
                self.weight.clamp_(*bounds)

    def reset_state(self) -> None:
        self.state = None


__all__ = ["APPLY", "PlasticSynapses", "PlasticityRule", "State", "apply_inplace", "write_grad"]
