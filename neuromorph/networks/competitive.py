"""Competitive layer of conductance-based neurons with labelled votes (Diehl & Cook 2015).

``n_out`` excitatory :class:`~neuromorph.networks.neurons.CondLIF` neurons receive ``n_in``
input spike trains through non-negative weights ``W [n_out, n_in]`` (conductance increments in
units of the leak conductance), each has an adaptive threshold offset ``theta`` (V), and every
spike inhibits all *other* neurons in the next step (spec
:class:`~neuromorph.specs.containers.CompetitiveLayer`)::

    x_e[t] = W s_in[t],    x_i[t]_j = w_inh * sum_{k != j} s[t-1]_k
    s[t]   = cond_lif_step(x_e[t], x_i[t], threshold = v_threshold + theta)

A digit image (intensities in [0, 1]) is presented as Bernoulli trains of ``max_rate`` Hz per
unit intensity for ``n_steps`` steps of ``dt`` (s), with the rate raised by ``rate_step`` Hz and
the image shown again while it evokes fewer than ``min_spikes`` spikes. After training, each
neuron is labelled with the class it responds to most (:meth:`CompetitiveLayer.assign_labels`)
and an image goes to the class whose neurons fire most on average
(:meth:`CompetitiveLayer.vote`).

``W``, ``theta`` and ``labels`` are buffers (trained by a local rule, not by gradients), so the
``state_dict`` beside the spec restores the trained layer. The neuron's parameters enter the
step as the spec's numbers (double precision), as the Diehl & Cook experiment computes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import torch
from torch import Tensor, nn

from neuromorph import specs
from neuromorph.networks.encoders import rate_encode
from neuromorph.networks.neurons import CondLIF, CondLIFParams, cond_lif_step

#: ``(spikes [B, n_out], theta) -> theta``: a threshold rule applied after every step
ThresholdRule = Callable[[Tensor, Tensor], Tensor]


def _step_params(neuron: specs.CondLIF, dtype: torch.dtype) -> CondLIFParams:
    """The step parameters of ``neuron``: numbers stay numbers, per-neuron tuples become
    tensors of ``dtype``."""
    values = {name: torch.tensor(v, dtype=dtype) if isinstance(v, tuple) else v
              for name, v in ((n, getattr(neuron, n)) for n, _ in neuron.params)}
    return CondLIFParams(**values, refractory=neuron.refractory, options=neuron.options)


class CompetitiveLayer(nn.Module):
    """Diehl & Cook's competitive layer (module docstring): ``forward(spikes_in [T, B, n_in])``
    returns the layer's spikes ``[T, B, n_out]``; :meth:`classify` turns images into classes."""

    SPEC = specs.CompetitiveLayer

    def __init__(self, n_in: int, n_out: int, *, dt: float, neuron: specs.CondLIF | None = None,
                 **presentation: Any) -> None:
        """``neuron``: the :class:`~neuromorph.specs.neurons.CondLIF` spec (default: Diehl &
        Cook's excitatory neuron); ``presentation``: the spec's other fields (``w_inh``,
        ``n_classes``, ``n_steps``, ``max_rate`` (Hz), ``rate_step`` (Hz), ``min_spikes``,
        ``max_retries``). ``dt`` (s): the step."""
        super().__init__()
        spec = specs.CompetitiveLayer(n_in, n_out, neuron or specs.CondLIF(), **presentation)
        self.neuron = CondLIF.from_spec(spec.neuron, dt=dt)
        #: the spec's fields other than the neuron (fixed at construction)
        self._fixed = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name != "neuron"}
        self.n_in, self.n_out, self.n_classes = spec.n_in, spec.n_out, spec.n_classes
        self.register_buffer("weight", torch.zeros(n_out, n_in))
        self.register_buffer("theta", torch.zeros(n_out))
        self.register_buffer("labels", torch.full((n_out,), -1, dtype=torch.long))

    @property
    def dt(self) -> float:
        """The step (s)."""
        return self.neuron.dt

    @property
    def spec(self) -> specs.CompetitiveLayer:
        """This layer as a :class:`~neuromorph.specs.containers.CompetitiveLayer` spec."""
        return specs.CompetitiveLayer(**self._fixed, neuron=self.neuron.spec)

    @classmethod
    def from_spec(cls, spec: specs.CompetitiveLayer, *, dt: float) -> CompetitiveLayer:
        """The (untrained) layer that runs ``spec`` with step ``dt`` (s)."""
        rest = {f.name: getattr(spec, f.name) for f in fields(spec)
                if f.name not in ("n_in", "n_out")}
        return cls(spec.n_in, spec.n_out, dt=dt, **rest)

    # ------------------------------------------------------------------ dynamics
    def run(self, spikes_in: Tensor, *, adapt: ThresholdRule | None = None
            ) -> tuple[Tensor, Tensor]:
        """Spikes ``[T, B, n_out]`` for input spikes ``spikes_in [T, B, n_in]``, and ``theta``
        after the run: fixed unless ``adapt`` updates it after every step (training). The
        layer's ``theta`` buffer is left as it was."""
        if spikes_in.dim() != 3 or spikes_in.shape[2] != self.n_in:
            raise ValueError(f"spikes_in has shape {tuple(spikes_in.shape)}; expected "
                             f"[T, B, {self.n_in}] (time-major input spikes)")
        # [T, B, n_out]: every step's input conductance (spikes are 0/1: exact in any dtype)
        drive = spikes_in.to(self.weight.dtype) @ self.weight.T
        params = _step_params(self.neuron.spec, drive.dtype)
        coefficients = params.coefficients(self.dt)
        w_inh = self._fixed["w_inh"]
        state, s = None, torch.zeros_like(drive[0])  # [B, n_out], the weights' dtype
        out = torch.empty_like(drive)
        theta = self.theta
        for t in range(spikes_in.shape[0]):
            inhibition = w_inh * (s.sum(1, keepdim=True) - s)  # from every *other* neuron
            s, state = cond_lif_step(drive[t], state, params, self.dt, x_inh=inhibition,
                                     theta=theta, coefficients=coefficients)
            if adapt is not None:
                theta = adapt(s, theta)
            out[t] = s
        return out, theta

    def forward(self, spikes_in: Tensor) -> Tensor:
        """Spikes ``[T, B, n_out]`` for ``spikes_in [T, B, n_in]`` (thresholds fixed)."""
        return self.run(spikes_in)[0]

    # ------------------------------------------------------------------ presentation
    def present(self, images: Tensor, generator: torch.Generator | None = None, *,
                simulate: Callable[[Tensor], Tensor] | None = None) -> Tensor:
        """Spike counts ``[B, n_out]`` for ``images [B, n_in]`` (intensities in [0, 1]):
        Poisson-coded, and shown again ``rate_step`` Hz faster while an image evokes fewer
        than ``min_spikes`` spikes (at most ``max_retries`` times). ``simulate`` maps input
        spikes ``[T, b, n_in]`` to output spikes (default: :meth:`forward`; a training loop
        passes its learning step)."""
        if images.dim() != 2 or images.shape[1] != self.n_in:
            raise ValueError(f"images have shape {tuple(images.shape)}; expected "
                             f"[B, {self.n_in}] intensities in [0, 1]")
        f = self._fixed
        simulate = self.forward if simulate is None else simulate
        counts = torch.zeros(images.shape[0], self.n_out, dtype=self.weight.dtype)
        todo = torch.arange(images.shape[0])
        rate = f["max_rate"]
        for _ in range(f["max_retries"] + 1):
            spikes_in = rate_encode(images[todo], f["n_steps"], dt=self.dt,
                                    max_rate=min(rate, 1.0 / self.dt), generator=generator)
            counts[todo] = simulate(spikes_in).sum(0)
            todo = todo[counts[todo].sum(1) < f["min_spikes"]]
            if len(todo) == 0:
                break
            rate += f["rate_step"]
        return counts

    def responses(self, images: Tensor, generator: torch.Generator | None = None, *,
                  batch: int = 256) -> Tensor:
        """Spike counts ``[N, n_out]`` of many images, :meth:`present` ed ``batch`` at a time
        (the chunking fixes which random numbers each image gets)."""
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        return torch.cat([self.present(images[i : i + batch], generator)
                          for i in range(0, len(images), batch)])

    # ------------------------------------------------------------------ readout
    def assign_labels(self, counts: Tensor, targets: Tensor) -> Tensor:
        """Label each neuron with the class of highest mean count over ``counts [N, n_out]``
        with classes ``targets [N]`` (Diehl & Cook); stores and returns the labels."""
        mean = torch.stack([counts[targets == k].mean(0) for k in range(self.n_classes)])
        labels = mean.argmax(0)  # [n_out]
        self.labels.copy_(labels)
        return labels

    def vote(self, counts: Tensor) -> Tensor:
        """The class of each row of ``counts [N, n_out]``: the one whose labelled neurons have
        the highest mean count (a class without neurons scores -1)."""
        scores = torch.full((counts.shape[0], self.n_classes), -1.0, dtype=counts.dtype)
        for k in range(self.n_classes):
            sel = self.labels == k
            if sel.any():
                scores[:, k] = counts[:, sel].mean(1)
        return scores.argmax(1)

    def classify(self, images: Tensor, generator: torch.Generator | None = None, *,
                 batch: int = 256) -> Tensor:
        """Classes ``[N]`` of ``images [N, n_in]``: :meth:`vote` on :meth:`responses`."""
        if bool((self.labels < 0).all()):
            raise ValueError("the layer has no neuron labels yet; call assign_labels(counts, "
                             "targets) on training responses first")
        return self.vote(self.responses(images, generator, batch=batch))


__all__ = ["CompetitiveLayer", "ThresholdRule"]
