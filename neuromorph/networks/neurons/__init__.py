"""Neuron models: functional cores wrapped by thin ``nn.Module`` shells over ``[T, B, *F]``.

=============  =====================  ==============================================
name           class                  continuous-time model (NIR convention)
=============  =====================  ==============================================
``"lif"``      :class:`LIF`           ``tau dv/dt = (v_leak - v) + r I``, threshold, reset
``"cuba_lif"`` :class:`CubaLIF`       LIF driven by ``tau_syn dI/dt = -I + w_in x``
``"if"``       :class:`IF`            ``dv/dt = r I``, threshold, reset
``"alif"``     :class:`ALIF`          LIF with spike-triggered threshold adaptation
``"cond_lif"`` :class:`CondLIF`       conductance-based LIF (reversal potentials, refractory)
``"li"``       :class:`LI`            leaky integrator readout (no spikes)
=============  =====================  ==============================================

:class:`CubaLI` (current-based leaky integrator) and :class:`Integrator` (``dv/dt = r I``) are
the two non-spiking NIR neurons without a layer name (NIR import builds them).

Every neuron validates ``dt``, its time constants and its spike options once, at construction;
``r`` (and ``w_in``) not given mean unit step gain (snnTorch's ``Leaky``: ``v <- beta v + x``),
and ``beta=`` may replace the membrane ``tau`` (see :mod:`.base`).
"""

from __future__ import annotations

from torch import nn

from neuromorph.networks.neurons.alif import ALIF, ALIFState
from neuromorph.networks.neurons.base import NeuronBase, NeuronOutput
from neuromorph.networks.neurons.coba_lif import (
    CondLIF,
    CondLIFParams,
    CondLIFState,
    cond_lif_state,
    cond_lif_step,
)
from neuromorph.networks.neurons.cuba import CubaLIF, CubaLIFState
from neuromorph.networks.neurons.cuba_li import CubaLI, CubaLIState
from neuromorph.networks.neurons.if_ import IF, IFState
from neuromorph.networks.neurons.integrator import Integrator, IntegratorState
from neuromorph.networks.neurons.li import LI, LIState
from neuromorph.networks.neurons.lif import LIF, LIFParams, LIFState, lif_forward, lif_step

#: neuron name -> class. The one place neuron types are named (configs, specs, layers).
NEURONS: dict[str, type[nn.Module]] = {
    "lif": LIF,
    "cuba_lif": CubaLIF,
    "if": IF,
    "alif": ALIF,
    "cond_lif": CondLIF,
    "li": LI,
}


def make_neuron(name: str, shape=None, **kwargs) -> nn.Module:
    """Build a neuron module by name, e.g. ``make_neuron("lif", 128, dt=1e-3, tau=10e-3)``."""
    if name not in NEURONS:
        raise ValueError(f"unknown neuron {name!r}; choose one of {sorted(NEURONS)}")
    return NEURONS[name](shape, **kwargs)


__all__ = [
    "ALIF",
    "IF",
    "LI",
    "LIF",
    "NEURONS",
    "ALIFState",
    "CondLIF",
    "CondLIFParams",
    "CondLIFState",
    "CubaLI",
    "CubaLIF",
    "CubaLIFState",
    "CubaLIState",
    "IFState",
    "Integrator",
    "IntegratorState",
    "LIFParams",
    "LIFState",
    "LIState",
    "NeuronBase",
    "NeuronOutput",
    "cond_lif_state",
    "cond_lif_step",
    "lif_forward",
    "lif_step",
    "make_neuron",
]
