"""LIF neurons with an adaptive threshold: the threshold jumps at each spike and relaxes back.

Brian2 equivalent (``method='exact'``; Brian2's ``adaptive_threshold.py`` example with channels)::

    dv/dt = (v_rest - v + sum_k scale_k x_k + r_m I) / tau_m : volt (unless refractory)
    dv_th/dt = (v_threshold - v_th) / tau_threshold : volt
    dx_k/dt = -x_k / tau_k
    threshold='v > v_th', reset='v = v_reset; v_th += threshold_jump'

``v_threshold`` (volts) is the resting threshold ``v_th`` relaxes to, ``tau_threshold``
(seconds) its time constant, ``threshold_jump`` (volts) the step at each spike. ``v_th`` is the
state row after the channels, so ``X = [v, x_1..x_C, v_th, I, 1]``; its exact step
``v_th(t+dt) = v_threshold + (v_th - v_threshold) exp(-dt / tau_threshold)`` is one more row of
the update matrix, and it is not frozen during refractoriness. Parameters also take Brian2
``Quantity`` values (``tau_threshold=50*ms``, ``threshold_jump=2*mV``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.groups import Channel, LIFGroup
from neuromorph.units import as_seconds, as_si

if TYPE_CHECKING:
    from neuromorph.sim.network import Network


class AdaptiveLIFGroup(LIFGroup):
    """(CuBa-)LIF neurons whose threshold ``v_th`` adapts (see the module docstring)."""

    extra_rows = ("v_th",)

    def __init__(
        self, n: int, *, tau_m: float, v_rest: float, v_threshold: float, v_reset: float,
        tau_threshold: float, threshold_jump: float, refractory: float = 0.0,
        r_m: float = 1.0, channels: dict[str, float | Channel] | None = None,
        name: str | None = None, integrate_refractory: bool = False,
    ) -> None:
        tau_threshold = as_seconds(tau_threshold, "tau_threshold")
        if not tau_threshold > 0:
            raise ValueError(f"tau_threshold must be > 0 seconds, got {tau_threshold}")
        self.tau_threshold = tau_threshold
        self.threshold_jump = as_si(threshold_jump, "threshold_jump", "V")
        super().__init__(n, tau_m=tau_m, v_rest=v_rest, v_threshold=v_threshold,
                         v_reset=v_reset, refractory=refractory, r_m=r_m, channels=channels,
                         name=name, integrate_refractory=integrate_refractory)
        self.state[self.row("v_th")] = self.v_threshold

    def update_matrix(self, dt: float) -> Tensor:
        """The LIF matrix with a zero column for ``v_th`` and the exact ``v_th`` row."""
        lif = super().update_matrix(dt)  # [C+1, C+3] on [v, x, I, 1]
        C = len(self.channels)
        M = torch.zeros(C + 2, C + 4, dtype=torch.float64)
        M[: C + 1, : C + 1] = lif[:, : C + 1]
        M[: C + 1, C + 2:] = lif[:, C + 1:]
        a = exact_decay(self.tau_threshold, dt, name="tau_threshold")
        M[C + 1, C + 1] = a
        M[C + 1, C + 3] = (1.0 - a) * self.v_threshold
        return M

    def _build_model(self, net: Network) -> None:
        super()._build_model(net)
        self._vth = self._X[self.row("v_th")]
        self._theta = self._vth

    def reset(self, step: int) -> None:
        self.ops.fill(self._v, self.spikes, self.v_reset)
        self.ops.add_at(self._vth, self.spikes, self.threshold_jump)


__all__ = ["AdaptiveLIFGroup"]
