"""neuromorph.sim: the simulation engine.

The event-driven network simulator, with Brian2's schedule and semantics (each module's
docstring gives the equations and the Brian2 equivalent): :class:`Network`, neuron groups
(:class:`LIFGroup`, :class:`AdaptiveLIFGroup`, :class:`COBALIFGroup`, :class:`HHGroup`,
:class:`IzhikevichGroup`), inputs (currents, Poisson and spike-generator groups, Brian2's
:class:`PoissonInput`) and white noise, projections with CSR synapses and delays,
plasticity on events (pair STDP, triplet STDP, reward-modulated STDP, Tsodyks-Markram short-term
plasticity), monitors and checkpoints. Multi-step neuron kernels for training
live in :mod:`neuromorph.sim.kernels`; the event kernels in
:mod:`neuromorph.sim.kernels.events_reference` / :mod:`~neuromorph.sim.kernels.triton_events`.
"""

from neuromorph.sim.checkpoint import load_checkpoint, save_checkpoint
from neuromorph.sim.connectivity import all_to_all, fixed_indegree, fixed_probability, from_indices
from neuromorph.sim.groups import Channel, LIFGroup, NeuronGroup, Subgroup
from neuromorph.sim.groups_adaptive import AdaptiveLIFGroup
from neuromorph.sim.groups_coba import COBALIFGroup
from neuromorph.sim.groups_hh import HHGroup
from neuromorph.sim.inputs import CurrentInput, PoissonGroup, SpikeGeneratorGroup
from neuromorph.sim.izhikevich import IzhikevichGroup
from neuromorph.sim.monitors import PopulationRateMonitor, SpikeMonitor, StateMonitor
from neuromorph.sim.network import Network
from neuromorph.sim.noise import WhiteNoise
from neuromorph.sim.plasticity import STDP
from neuromorph.sim.plasticity_events import RewardSTDPRule, TripletParams, TripletSTDPRule
from neuromorph.sim.poisson_input import PoissonInput
from neuromorph.sim.projections import Projection
from neuromorph.sim.short_term import TsodyksMarkram

__all__ = [
    "STDP",
    "AdaptiveLIFGroup",
    "HHGroup",
    "TsodyksMarkram",
    "WhiteNoise",
    "RewardSTDPRule",
    "TripletParams",
    "TripletSTDPRule",
    "COBALIFGroup",
    "Channel",
    "CurrentInput",
    "IzhikevichGroup",
    "LIFGroup",
    "Network",
    "NeuronGroup",
    "PoissonGroup",
    "PoissonInput",
    "PopulationRateMonitor",
    "Projection",
    "SpikeGeneratorGroup",
    "SpikeMonitor",
    "StateMonitor",
    "Subgroup",
    "all_to_all",
    "fixed_indegree",
    "fixed_probability",
    "from_indices",
    "load_checkpoint",
    "save_checkpoint",
]
