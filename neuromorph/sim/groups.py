"""Neuron groups of the event-driven engine: the base class, subgroups and the (CuBa-)LIF group.

Every group keeps its state as rows ``X = [v, x_1 .. x_C, (extra), I, 1]`` of one ``[R, n]``
tensor: ``v`` (volts), one row per synaptic channel ``x_k`` (the variables projections add
their weights to; ``v`` is a target too, for delta synapses), model-specific rows (``u`` for
Izhikevich), the injected current ``I`` (amperes, held constant over a step) and a row of ones
(so that the affine part of an update is one matrix product).

Schedule (Brian2's): ``update`` (groups slot) -> ``threshold`` (thresholds slot) -> synapses ->
``reset`` (resets slot). Refractoriness is Brian2's: after a spike at step ``m`` the neuron is
refractory at step ``n`` while ``n - m < R`` with ``R = int((refractory + 1e-3 dt) / dt)``; a
refractory neuron's ``v`` is not written by the state update (``(unless refractory)``), its
channels still decay, and it cannot spike. With ``integrate_refractory=True`` the state update
(and synaptic input) keeps moving ``v`` during refractoriness (Brian2 without the flag); only
spiking is blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from neuromorph import specs
from neuromorph.sim.propagators import lif_matrix, refractory_steps
from neuromorph.specs import Channel
from neuromorph.units import as_seconds, as_si

if TYPE_CHECKING:
    from neuromorph.sim.network import Network

NEVER = -(2**30)  # lastspike of a neuron that never spiked (Brian2 uses t = -1e4 s)
MAX_STEPS = 2**31 - 1  # lastspike is int32 (half the cost of int64 compares)


def as_channels(channels: dict[str, float | Channel] | None) -> dict[str, Channel]:
    """Normalise ``{"ge": 5e-3}`` / ``{"ge": Channel(...)}`` and reject reserved names."""
    out: dict[str, Channel] = {}
    for name, ch in (channels or {}).items():
        if name in ("v", "u", "I", "1") or not name.isidentifier():
            raise ValueError(f"invalid channel name {name!r}; use an identifier other than "
                             "v, u, I")
        out[name] = ch if isinstance(ch, Channel) else Channel(ch)
    return out


class SpikeSource:
    """Anything that emits spikes in the thresholds slot (groups, Poisson and spike generators).

    After the thresholds slot of a step, ``self.spikes`` is the backend's spike handle
    (indices for numpy, a boolean mask for torch) and ``self.mask`` the boolean mask buffer.
    """

    n: int
    name: str | None = None
    spikes: Any = None
    mask: Tensor

    def __getitem__(self, item: slice) -> Subgroup:
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError(f"{type(self).__name__}[...] takes a contiguous slice a:b, "
                            f"got {item!r}")
        start, stop, _ = item.indices(self.n)
        if stop <= start:
            raise ValueError(f"empty subgroup {start}:{stop} of a group of {self.n}")
        return Subgroup(self, start, stop)

    def _build(self, net: Network) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True)
class Subgroup:
    """A contiguous slice ``[start, stop)`` of a group (Brian2's ``P[:3200]``)."""

    group: SpikeSource
    start: int
    stop: int

    @property
    def n(self) -> int:
        return self.stop - self.start


def resolve(obj: SpikeSource | Subgroup) -> tuple[SpikeSource, int, int]:
    """``(group, start, stop)`` of a group or subgroup."""
    if isinstance(obj, Subgroup):
        return obj.group, obj.start, obj.stop
    if isinstance(obj, SpikeSource):
        return obj, 0, obj.n
    raise TypeError(f"expected a neuron group, input group or subgroup, got {type(obj).__name__}")


class NeuronGroup(SpikeSource):
    """Base class: state rows, threshold, refractoriness, reset, state access.

    ``v_threshold``, ``v_reset`` (volts) and ``refractory`` (seconds) take SI floats or Brian2
    ``Quantity`` values; a bare ``refractory`` in ``[1, 1e4)`` warns (likely ms).
    """

    extra_rows: tuple[str, ...] = ()

    def __init__(
        self, n: int, *, v_threshold: float, v_reset: float, refractory: float,
        channels: dict[str, float | Channel] | None, name: str | None,
        integrate_refractory: bool = False,
    ) -> None:
        if int(n) != n or n < 1:
            raise ValueError(f"a group needs n >= 1 neurons, got {n}")
        refractory = as_seconds(refractory, "refractory")
        v_threshold = as_si(v_threshold, "v_threshold", "V")
        v_reset = as_si(v_reset, "v_reset", "V")
        if refractory < 0:
            raise ValueError(f"refractory must be >= 0 seconds, got {refractory}")
        self.n, self.name = int(n), name
        self.v_threshold, self.v_reset, self.refractory = v_threshold, v_reset, refractory
        self.clamp_v = not integrate_refractory  # Brian2's ``(unless refractory)`` on v
        self.channels = as_channels(channels)
        self.rows = ["v", *self.channels, *self.extra_rows, "I", "1"]
        self.state = torch.zeros(len(self.rows), self.n, dtype=torch.float64)
        self.state[0] = self.default_v()
        self.state[-1] = 1.0
        self.lastspike = torch.full((self.n,), NEVER, dtype=torch.int32)
        self.mask = torch.zeros(self.n, dtype=torch.bool)
        self.built = False

    # ------------------------------------------------------------------ state access
    def default_v(self) -> float:
        return 0.0

    @property
    def n_targets(self) -> int:
        """Rows a projection can add to: ``v`` and the channels (the first rows of the state)."""
        return 1 + len(self.channels)

    def row(self, var: str) -> int:
        if var not in self.rows[:-1]:
            raise KeyError(f"{type(self).__name__} has no variable {var!r}; "
                           f"variables: {self.rows[:-1]}")
        return self.rows.index(var)

    def target_row(self, var: str) -> int:
        """Row of a projection target (``v`` or a channel); other names list the valid ones."""
        if var not in self.rows[: self.n_targets]:
            raise KeyError(f"{var!r} is not a synaptic target of this {type(self).__name__}; "
                           f"targets: {self.rows[: self.n_targets]}")
        return self.rows.index(var)

    def __getattr__(self, name: str) -> Tensor:
        rows = self.__dict__.get("rows")
        if rows is not None and name in rows[:-1]:
            return self.state[rows.index(name)]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def get(self, var: str) -> Tensor:
        """A live view ``[n]`` of state variable ``var`` (``v``, channels, ``u``, ``I``)."""
        if var == "lastspike":
            return self.lastspike
        return self.state[self.row(var)]

    def set(self, var: str, value: float | Tensor) -> None:
        """Write ``value`` (scalar or ``[n]``) into state variable ``var`` in place."""
        value = torch.as_tensor(value, dtype=self.state.dtype, device=self.state.device)
        if value.dim() and tuple(value.shape) != (self.n,):
            raise ValueError(f"{var} takes a scalar or a tensor of shape [{self.n}], got "
                             f"{list(value.shape)}")
        if not torch.isfinite(value).all():
            raise ValueError(f"{var} must be finite (got NaN or inf)")
        self.state[self.row(var)] = value

    @property
    def i_ext(self) -> Tensor:
        return self.state[self.row("I")]

    # ------------------------------------------------------------------ engine hooks
    def _build(self, net: Network) -> None:
        self.dt, self.ops = net.dt, net.ops
        self.state = self.state.to(net.device, net.dtype).contiguous()
        self.lastspike = self.lastspike.to(net.device)
        self.mask = self.mask.to(net.device)
        self.R = refractory_steps(self.refractory, net.dt)
        self._refbuf = torch.zeros(self.n, dtype=torch.bool, device=net.device)
        ops = self.ops
        self._X, self._ls = ops.view(self.state), ops.view(self.lastspike)
        self._v, self._s, self._rb = self._X[0], ops.view(self.mask), ops.view(self._refbuf)
        self._ref: Any = None
        self._top = self._X[: self.n_targets]
        self._theta: Any = self.v_threshold  # scalar, or a state row (adaptive thresholds)
        self._build_model(net)
        self.built = True

    def _build_model(self, net: Network) -> None:
        raise NotImplementedError

    def refractory_now(self, step: int) -> None:
        """The refractory neurons of this step, ``step - lastspike < R`` (Brian2's
        ``not not_refractory``), as a backend handle in ``_ref``."""
        self._ref = self.ops.refractory(self._ls, step, self.R, self._rb)

    def write_v(self, new_v: Any) -> None:
        """``v = new_v`` except where refractory (Brian2's ``(unless refractory)``; everywhere
        with ``integrate_refractory``)."""
        if self.R > 0 and self.clamp_v:
            self.ops.write_unless(self._v, new_v, self._ref)
        else:
            self._v[...] = new_v

    def threshold(self, step: int) -> None:
        """``spike = (v > v_threshold) and not refractory``; ``lastspike = step`` for spikers."""
        xp, ops = self.ops.xp, self.ops
        xp.greater(self._v, self._theta, out=self._s)
        if self.R > 0:
            ops.clear(self._s, self._ref)
        self.spikes = ops.spikes(self._s)
        ops.fill(self._ls, self.spikes, step)

    def hold_v(self, step: int) -> None:
        """Start of the synapses slot: remember ``v`` of the refractory neurons."""
        self._held = self.ops.hold(self._v, self._ref)

    def restore_v(self, step: int) -> None:
        """After all deliveries: undo synaptic writes to ``v`` of refractory neurons (Brian2's
        ``(unless refractory)`` makes ``v`` conditionally written, ``v_post += w`` included).
        Neurons that spiked in this step are reset right after, so they need no restoring."""
        self.ops.restore(self._v, self._ref, self._held)

    def reset(self, step: int) -> None:
        self.ops.fill(self._v, self.spikes, self.v_reset)

    def state_dict(self) -> dict[str, Any]:
        out = {"state": self.state.clone(), "lastspike": self.lastspike.clone()}
        if getattr(self, "ring", None) is not None:
            out["ring"] = self.ring.clone()
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state.copy_(state["state"])
        self.lastspike.copy_(state["lastspike"])
        if getattr(self, "ring", None) is not None:
            self.ring.copy_(state["ring"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, name={self.name!r}, rows={self.rows[:-1]})"


class LIFGroup(NeuronGroup):
    """Leaky integrate-and-fire neurons; with channels, current-based (CuBa) LIF.

    Brian2 equivalent (``method='exact'``)::

        dv/dt = (v_rest - v + sum_k scale_k * x_k + r_m * I) / tau_m : volt (unless refractory)
        dx_k/dt = -x_k / tau_k
        threshold='v > v_threshold', reset='v = v_reset', refractory=refractory

    Without channels, projections target ``v`` directly (delta synapses, ``v += w``). Units:
    seconds, volts, ohms (``r_m``), amperes (``I``); channels are in volts unless scaled.
    Every parameter also takes a Brian2 ``Quantity`` (``tau_m=20*ms``); a bare ``tau_m`` in
    ``[1, 1e4)`` warns (:class:`~neuromorph.units.ImplausibleUnitWarning`: likely ms).
    """

    def __init__(
        self, n: int, *, tau_m: float, v_rest: float, v_threshold: float, v_reset: float,
        refractory: float = 0.0, r_m: float = 1.0,
        channels: dict[str, float | Channel] | None = None, name: str | None = None,
        integrate_refractory: bool = False,
    ) -> None:
        tau_m, v_rest = as_seconds(tau_m, "tau_m"), as_si(v_rest, "v_rest", "V")
        if not tau_m > 0:
            raise ValueError(f"tau_m must be > 0 seconds, got {tau_m}")
        self.tau_m, self.v_rest, self.r_m = tau_m, v_rest, as_si(r_m, "r_m", "ohm")
        super().__init__(n, v_threshold=v_threshold, v_reset=v_reset, refractory=refractory,
                         channels=channels, name=name,
                         integrate_refractory=integrate_refractory)
        for k, ch in self.channels.items():
            if ch.e_rev is not None:
                raise ValueError(f"channel {k!r} has a reversal potential; LIFGroup is "
                                 "current-based, use COBALIFGroup for conductances")

    def default_v(self) -> float:
        return self.v_rest

    @property
    def spec(self) -> specs.LIF:
        """The group's neuron as a :class:`~neuromorph.specs.LIF` spec: ``tau = tau_m``,
        ``v_leak = v_rest``, ``r = r_m``, zero reset to ``v_reset``, exact integration,
        ``refractory``. Channels are specs of their own (:attr:`channels`)."""
        return specs.LIF(shape=(self.n,), tau=self.tau_m, r=self.r_m, v_leak=self.v_rest,
                         v_threshold=self.v_threshold, method="exact",
                         options=specs.SpikeOptions(reset="zero", v_reset=self.v_reset),
                         refractory=self.refractory)

    @classmethod
    def from_spec(cls, spec: specs.LIF, *, channels: dict[str, Channel] | None = None,
                  name: str | None = None, integrate_refractory: bool = False) -> LIFGroup:
        """The group that runs ``spec`` (scalar parameters, ``shape=(n,)``). The engine
        integrates exactly and resets to ``v_reset``; other specs are refused by name."""
        if not isinstance(spec, specs.LIF) or spec.shape is None or len(spec.shape) != 1:
            raise ValueError(f"LIFGroup runs a LIF spec with shape (n,), got {spec!r:.120}")
        per_neuron = [k for k, _ in spec.params if isinstance(getattr(spec, k), tuple)]
        if per_neuron:
            raise ValueError(f"LIFGroup takes one value per group; {per_neuron} vary per neuron "
                             "(split the population into groups)")
        if spec.method != "exact" or spec.options.reset != "zero":
            raise ValueError(
                f"the event engine integrates exactly and resets to v_reset; this spec asks "
                f"method={spec.method!r}, reset={spec.options.reset!r}; use method='exact', "
                "reset='zero' (or run it in the dense layers)")
        return cls(spec.shape[0], tau_m=spec.tau, v_rest=spec.v_leak, r_m=spec.r,
                   v_threshold=spec.v_threshold, v_reset=spec.options.v_reset,
                   refractory=spec.refractory, channels=channels, name=name,
                   integrate_refractory=integrate_refractory)

    def _build_model(self, net: Network) -> None:
        self.M = self.update_matrix(net.dt).to(net.device, net.dtype)
        self._M = self.ops.view(self.M)
        K = self.M.shape[0]
        self.Y = torch.empty(K, self.n, dtype=net.dtype, device=net.device)
        self._Y = self.ops.view(self.Y)
        self._Y0, self._Yrest = self._Y[0], self._Y[1:]
        self._rest = self._X[1:K]

    def update_matrix(self, dt: float) -> Tensor:
        """The exact step ``M`` on ``X = [v, x_1..x_C, I, 1]`` (:func:`lif_matrix`)."""
        chs = list(self.channels.values())
        return lif_matrix(self.tau_m, self.v_rest, self.r_m, [c.tau for c in chs],
                          [c.scale for c in chs], dt)

    def update(self, step: int) -> None:
        """``[v, x] = M @ X`` (exact); ``v`` kept where refractory (unless it integrates)."""
        self.ops.matmul(self._M, self._X, self._Y)
        if self.R > 0:
            self.refractory_now(step)
        self.write_v(self._Y0)
        self._rest[...] = self._Yrest

__all__ = ["NEVER", "Channel", "LIFGroup", "NeuronGroup", "SpikeSource", "Subgroup", "resolve"]
