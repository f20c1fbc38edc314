"""Hodgkin-Huxley neurons (Traub & Miles 1991 kinetics) with conductance-based synapses.

The neuron of Brian2's COBAHH benchmark (Brette et al. 2007, benchmark 3), in SI units::

    C_m dv/dt = g_l (E_l - v) + sum_k g_k (E_k - v) - g_na m^3 h (v - E_na)
                - g_kd n^4 (v - E_k) + I                                   [A]
    dx/dt = alpha_x(v) (1 - x) - beta_x(v) x       for x in m, h, n        [1/s]
    dg_k/dt = -g_k / tau_k                                                 [S]
    alpha_m = 1280 / exprel((13 mV - v + V_T) / 4 mV)
    beta_m  = 1400 / exprel((v - V_T - 40 mV) / 5 mV)
    alpha_h = 128 exp((17 mV - v + V_T) / 18 mV)
    beta_h  = 4000 / (1 + exp((40 mV - v + V_T) / 5 mV))
    alpha_n = 160 / exprel((15 mV - v + V_T) / 5 mV)
    beta_n  = 500 exp((10 mV - v + V_T) / 40 mV)                           (all in 1/s)

with ``exprel(x) = (exp(x) - 1) / x``. Defaults are the COBAHH example's: membrane area
20 000 um^2, so C_m = 200 pF, g_l = 10 nS, g_na = 20 uS, g_kd = 6 uS; E_l = -60 mV,
E_k = -90 mV, E_na = 50 mV, V_T = -63 mV; channels ``ge`` (5 ms, 0 mV) and ``gi``
(10 ms, -80 mV) in siemens. A spike is ``v > -20 mV`` outside a 3 ms refractory period; there is
no reset and ``v`` is integrated during refractoriness (Brian2's COBAHH: no ``(unless
refractory)``). ``m, h, n`` start at 0, as in the Brian2 example.

Integration is Brian2's ``method='exponential_euler'``: every variable's equation is linear in
itself, ``dx/dt = A + B x``, and advances as ``x <- -A/B + (x + A/B) exp(B dt)`` with ``A, B``
from the state at the start of the step; the conductances decay exactly. Parameters also take
Brian2 ``Quantity`` values (``c_m=200*pF``, ``e_l=-60*mV``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from neuromorph.primitives.discretize import exact_decay
from neuromorph.sim.groups import Channel, NeuronGroup
from neuromorph.units import as_si

if TYPE_CHECKING:
    from neuromorph.sim.network import Network

COBAHH_CHANNELS = {"ge": Channel(5e-3, e_rev=0.0), "gi": Channel(10e-3, e_rev=-80e-3)}


def _exprel(xp: Any, x: Any) -> Any:
    """``(exp(x) - 1) / x`` with its limit 1 at ``x = 0``."""
    small = xp.abs(x) < 1e-12
    safe = xp.where(small, 1.0, x)
    return xp.where(small, 1.0, xp.expm1(safe) / safe)


class HHGroup(NeuronGroup):
    """Traub-Miles Hodgkin-Huxley neurons with COBA channels (see the module docstring)."""

    extra_rows = ("m", "h", "n")

    def __init__(
        self, n: int, *, c_m: float = 200e-12, g_l: float = 10e-9, e_l: float = -60e-3,
        g_na: float = 20e-6, e_na: float = 50e-3, g_kd: float = 6e-6, e_k: float = -90e-3,
        v_t: float = -63e-3, v_threshold: float = -20e-3, refractory: float = 3e-3,
        channels: dict[str, Channel] | None = None, name: str | None = None,
    ) -> None:
        c_m, g_l, g_na, g_kd = (as_si(x, k, u) for x, k, u in (
            (c_m, "c_m", "F"), (g_l, "g_l", "S"), (g_na, "g_na", "S"), (g_kd, "g_kd", "S")))
        e_l, e_na, e_k, v_t = (as_si(x, k, "V") for x, k in (
            (e_l, "e_l"), (e_na, "e_na"), (e_k, "e_k"), (v_t, "v_t")))
        for what, value in (("c_m", c_m), ("g_l", g_l)):
            if not value > 0:
                raise ValueError(f"{what} must be > 0 (SI units), got {value}")
        if g_na < 0 or g_kd < 0:
            raise ValueError("g_na and g_kd must be >= 0 siemens")
        self.c_m, self.g_l, self.e_l, self.g_na, self.e_na = c_m, g_l, e_l, g_na, e_na
        self.g_kd, self.e_k, self.v_t = g_kd, e_k, v_t
        super().__init__(n, v_threshold=v_threshold, v_reset=e_l, refractory=refractory,
                         channels=dict(COBAHH_CHANNELS if channels is None else channels),
                         name=name, integrate_refractory=True)
        for k, ch in self.channels.items():
            if ch.e_rev is None:
                raise ValueError(f"channel {k!r} of an HHGroup needs e_rev (volts)")

    def default_v(self) -> float:
        return self.e_l

    def _build_model(self, net: Network) -> None:
        kw = dict(device=net.device, dtype=net.dtype)
        chs = list(self.channels.values())
        self.decay = torch.tensor([exact_decay(c.tau, net.dt) for c in chs],
                                  dtype=torch.float64)[:, None].to(**kw)
        self.e_rev = torch.tensor([c.e_rev for c in chs], dtype=torch.float64)[:, None].to(**kw)
        self._decay, self._erev = self.ops.view(self.decay), self.ops.view(self.e_rev)
        self._ch = self._X[1: self.n_targets]
        self._gates = {x: self._X[self.row(x)] for x in ("m", "h", "n")}
        self._I = self._X[self.row("I")]

    def rates(self, v: Any) -> dict[str, tuple[Any, Any]]:
        """``{x: (alpha_x, beta_x)}`` in 1/s at membrane potential ``v`` (volts)."""
        xp, vt = self.ops.xp, self.v_t
        return {
            "m": (1280.0 / _exprel(xp, (13e-3 - v + vt) / 4e-3),
                  1400.0 / _exprel(xp, (v - vt - 40e-3) / 5e-3)),
            "h": (128.0 * xp.exp((17e-3 - v + vt) / 18e-3),
                  4000.0 / (1.0 + xp.exp((40e-3 - v + vt) / 5e-3))),
            "n": (160.0 / _exprel(xp, (15e-3 - v + vt) / 5e-3),
                  500.0 * xp.exp((10e-3 - v + vt) / 40e-3)),
        }

    def update(self, step: int) -> None:
        """One exponential-Euler step of ``v, m, h, n``; exact decay of the conductances."""
        xp, dt = self.ops.xp, self.dt
        v, g, (m, h, n) = self._v, self._ch, self._gates.values()
        g_na = self.g_na * m * m * m * h
        g_kd = self.g_kd * (n * n) * (n * n)
        g_syn = g.sum(0) if xp is torch else g.sum(axis=0)
        drive_syn = (g * self._erev).sum(0) if xp is torch else (g * self._erev).sum(axis=0)
        g_tot = self.g_l + g_syn + g_na + g_kd
        drive = self.g_l * self.e_l + drive_syn + g_na * self.e_na + g_kd * self.e_k + self._I
        v_inf = drive / g_tot
        new_v = v_inf + (v - v_inf) * xp.exp(-dt / self.c_m * g_tot)
        for x, (alpha, beta) in self.rates(v).items():
            gate = self._gates[x]
            k = alpha + beta
            x_inf = alpha / k
            gate[...] = x_inf + (gate - x_inf) * xp.exp(-dt * k)
        self.refractory_now(step)
        self.write_v(new_v)
        xp.multiply(self._ch, self._decay, out=self._ch)

    def reset(self, step: int) -> None:
        """No reset: the spike's downstroke is the HH dynamics itself."""


__all__ = ["COBAHH_CHANNELS", "HHGroup"]
