"""Neuron specs: the NIR neuron models, in NIR's names and continuous-time SI parameters.

==============  ========  ===================================================================
spec            NIR node  dynamics (``tau*`` in s, ``v*`` in V, ``r`` in ohm, input ``I`` in A)
==============  ========  ===================================================================
:class:`LIF`    ``LIF``   ``tau dv/dt = (v_leak - v) + r I``; spike when ``v > v_threshold``
:class:`CubaLIF` ``CubaLIF`` ``tau_syn dI_s/dt = -I_s + w_in I``; LIF driven by ``I_s``
:class:`IF`     ``IF``    ``dv/dt = r I``; spike when ``v > v_threshold``
:class:`LI`     ``LI``    ``tau dv/dt = (v_leak - v) + r I`` (no spikes: a membrane readout)
:class:`CubaLI` ``CubaLI`` current-based leaky integrator, no spikes
:class:`Integrator` ``I`` ``dv/dt = r I`` (no spikes)
:class:`ALIF`   (none)    LIF with threshold ``v_threshold + beta_adapt a``,
                          ``tau_adapt da/dt = -a + tau_adapt * s`` (spike train ``s``)
:class:`CondLIF` (none)   conductance-based LIF: ``tau_mem dv/dt = (v_leak - v)
                          + g_e (e_exc - v) + g_i (e_inh - v)``, ``tau_exc dg_e/dt = -g_e``,
                          ``tau_inh dg_i/dt = -g_i`` (``g`` in units of the leak conductance)
==============  ========  ===================================================================

Spiking specs carry a :class:`~neuromorph.specs.options.SpikeOptions` (reset kind, ``v_reset``,
reset timing, surrogate). ``method`` names the discretisation
(:mod:`neuromorph.primitives.discretize`, ``"euler"`` as NIR / snnTorch / Norse, or
``"exact"``); ``dt`` is not part of a spec — it belongs to the simulation that runs it.
``refractory`` (s) is honoured by the event engine; dense layers refuse a non-zero value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from neuromorph.primitives.discretize import check_method
from neuromorph.specs.base import Param, Shape, Spec, as_param, as_shape, register
from neuromorph.specs.options import SpikeOptions


@dataclass(frozen=True)
class NeuronSpec(Spec):
    """Common part: ``shape`` (``None`` = parameters shared by any population size)."""

    shape: Shape = None

    #: (field name, must be positive) of the continuous-time parameters, in NIR order
    params: ClassVar[tuple[tuple[str, bool], ...]] = ()
    #: whether the neuron emits spikes (and so has ``options``)
    spiking: ClassVar[bool] = False

    @property
    def size(self) -> int | None:
        """Number of neurons when ``shape`` is given."""
        if self.shape is None:
            return None
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __post_init__(self) -> None:
        self._set("shape", as_shape(self.shape))
        for name, positive in self.params:
            self._set(name, as_param(getattr(self, name), name, positive=positive,
                                     size=self.size))
        if hasattr(self, "method"):
            check_method(self.method)
        if hasattr(self, "options"):
            self._set("options", SpikeOptions.coerce(self.options))
        refractory = getattr(self, "refractory", 0.0)
        if not refractory >= 0.0:
            raise ValueError(f"refractory must be >= 0 seconds, got {refractory}")


def _params(*names: str, positive: tuple[str, ...] = ()) -> tuple[tuple[str, bool], ...]:
    return tuple((n, n in positive) for n in names)


@register
@dataclass(frozen=True)
class LIF(NeuronSpec):
    """Leaky integrate-and-fire (NIR ``LIF``); see the module table."""

    kind = "LIF"
    tau: Param = 20e-3
    r: Param = 1.0
    v_leak: Param = 0.0
    v_threshold: Param = 1.0
    options: SpikeOptions = field(default_factory=SpikeOptions)
    method: str = "euler"
    refractory: float = 0.0
    params = _params("tau", "r", "v_leak", "v_threshold", positive=("tau",))
    spiking = True


@register
@dataclass(frozen=True)
class CubaLIF(NeuronSpec):
    """Current-based LIF (NIR ``CubaLIF``): an exponential synaptic current feeds a LIF."""

    kind = "CubaLIF"
    tau_syn: Param = 5e-3
    tau_mem: Param = 20e-3
    r: Param = 1.0
    v_leak: Param = 0.0
    v_threshold: Param = 1.0
    w_in: Param = 1.0
    options: SpikeOptions = field(default_factory=SpikeOptions)
    method: str = "euler"
    params = _params("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "w_in",
                     positive=("tau_syn", "tau_mem"))
    spiking = True


@register
@dataclass(frozen=True)
class IF(NeuronSpec):
    """Integrate-and-fire without leak (NIR ``IF``)."""

    kind = "IF"
    r: Param = 1.0
    v_threshold: Param = 1.0
    options: SpikeOptions = field(default_factory=SpikeOptions)
    params = _params("r", "v_threshold")
    spiking = True


@register
@dataclass(frozen=True)
class LI(NeuronSpec):
    """Leaky integrator without spikes (NIR ``LI``): a membrane readout or synaptic filter."""

    kind = "LI"
    tau: Param = 20e-3
    r: Param = 1.0
    v_leak: Param = 0.0
    method: str = "euler"
    params = _params("tau", "r", "v_leak", positive=("tau",))


@register
@dataclass(frozen=True)
class CubaLI(NeuronSpec):
    """Current-based leaky integrator without spikes (NIR ``CubaLI``)."""

    kind = "CubaLI"
    tau_syn: Param = 5e-3
    tau_mem: Param = 20e-3
    r: Param = 1.0
    v_leak: Param = 0.0
    w_in: Param = 1.0
    method: str = "euler"
    params = _params("tau_syn", "tau_mem", "r", "v_leak", "w_in",
                     positive=("tau_syn", "tau_mem"))


@register
@dataclass(frozen=True)
class Integrator(NeuronSpec):
    """Non-leaky integrator without spikes (NIR ``I``): ``dv/dt = r I``."""

    kind = "Integrator"
    r: Param = 1.0
    params = _params("r")


@register
@dataclass(frozen=True)
class ALIF(NeuronSpec):
    """Adaptive LIF (Bellec et al. 2018): no NIR node; NIR export refuses it by name."""

    kind = "ALIF"
    no_nir_node = 'its threshold adaptation; use LIF or CubaLIF'
    tau: Param = 20e-3
    tau_adapt: Param = 200e-3
    beta_adapt: Param = 1.8
    r: Param = 1.0
    v_leak: Param = 0.0
    v_threshold: Param = 1.0
    options: SpikeOptions = field(default_factory=SpikeOptions)
    method: str = "euler"
    params = _params("tau", "tau_adapt", "beta_adapt", "r", "v_leak", "v_threshold",
                     positive=("tau", "tau_adapt"))
    spiking = True


#: the spike options of a :class:`CondLIF` not given any: reset to -65 mV (its default ``v_leak``)
COND_LIF_OPTIONS = SpikeOptions(reset="zero", v_reset=-65e-3)


def check_cond_lif_options(options: SpikeOptions) -> SpikeOptions:
    """``options`` if a conductance-based LIF can run them: it resets to ``v_reset`` in the
    spike's step (``reset="zero"``, ``reset_delay=False``); else one ``ValueError``."""
    if options.reset != "zero" or options.reset_delay:
        raise ValueError(
            f"CondLIF resets to v_reset in the spike's step; got reset={options.reset!r}, "
            f"reset_delay={options.reset_delay}: use reset='zero', reset_delay=False")
    return options


@register
@dataclass(frozen=True)
class CondLIF(NeuronSpec):
    """Conductance-based LIF (see the module table): no NIR node, so NIR export refuses it.

    ``g_e``, ``g_i`` are dimensionless (units of the leak conductance); an input spike adds its
    weight to them. ``v_threshold`` is the resting threshold; a caller may add a per-neuron
    ``theta`` (Diehl & Cook's adaptive threshold), which is state, not part of the spec. The
    reset is to ``options.v_reset`` (``reset="zero"``); ``refractory`` (s) follows the event
    engine (Brian2): after a spike in step ``m`` the neuron is refractory while ``n - m < R``,
    ``R = int((refractory + 1e-3 dt) / dt)``. Exponential Euler: conductances decay exactly,
    ``v`` relaxes exactly under the step's conductances (no ``method`` to choose).
    Defaults: Diehl & Cook's (2015) excitatory neuron.
    """

    kind = "CondLIF"
    no_nir_node = 'conductance-based synapses (reversal potentials); use LIF'
    tau_mem: Param = 100e-3
    tau_exc: Param = 1e-3
    tau_inh: Param = 2e-3
    v_leak: Param = -65e-3
    v_threshold: Param = -52e-3
    e_exc: Param = 0.0
    e_inh: Param = -100e-3
    options: SpikeOptions = COND_LIF_OPTIONS
    refractory: float = 0.0
    params = _params("tau_mem", "tau_exc", "tau_inh", "v_leak", "v_threshold", "e_exc",
                     "e_inh", positive=("tau_mem", "tau_exc", "tau_inh"))
    spiking = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_cond_lif_options(self.options)


NEURON_SPECS: tuple[type[NeuronSpec], ...] = (LIF, CubaLIF, IF, LI, CubaLI, Integrator, ALIF,
                                              CondLIF)

__all__ = ["ALIF", "COND_LIF_OPTIONS", "IF", "LI", "LIF", "NEURON_SPECS", "CondLIF", "CubaLI",
           "CubaLIF", "Integrator", "NeuronSpec", "check_cond_lif_options"]
