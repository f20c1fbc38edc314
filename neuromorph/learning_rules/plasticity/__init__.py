"""Hebbian, three-factor and homeostatic plasticity behind one interface.

A rule observes pre/post activity (and a modulator when it has one) and produces the weight
change ``dW`` (:mod:`~neuromorph.learning_rules.plasticity.interface`); ``rule.bind(module)``
checks the module's access and applies ``dW`` through ``.grad`` (any ``torch.optim``
optimiser) or in place. :data:`RULES` names every rule (the one place a rule name is
dispatched); :func:`make_rule` builds one by name.
"""

from __future__ import annotations

from typing import Any

from neuromorph.learning_rules.plasticity.competitive import KrotovHopfield, SoftHebb
from neuromorph.learning_rules.plasticity.hebb import BCM, Hebb, Oja, Sanger
from neuromorph.learning_rules.plasticity.homeostasis import (
    AdaptiveThreshold,
    AstrocyteModulation,
    SynapticScaling,
    WeightNormalization,
    branching_ratio,
)
from neuromorph.learning_rules.plasticity.interface import (
    APPLY,
    PlasticityRule,
    PlasticSynapses,
)
from neuromorph.learning_rules.plasticity.stdp import (
    TRIPLET_PRESETS,
    NeuromodulatedHebb,
    PairSTDP,
    RewardSTDP,
    TripletParams,
    TripletSTDP,
)

RULES: dict[str, type[PlasticityRule]] = {
    "hebb": Hebb,
    "oja": Oja,
    "sanger": Sanger,
    "bcm": BCM,
    "softhebb": SoftHebb,
    "krotov-hopfield": KrotovHopfield,
    "pair-stdp": PairSTDP,
    "triplet-stdp": TripletSTDP,
    "reward-stdp": RewardSTDP,
    "neuromodulated-hebb": NeuromodulatedHebb,
    "synaptic-scaling": SynapticScaling,
    "weight-normalization": WeightNormalization,
    "astrocyte-stdp": AstrocyteModulation,
}


def make_rule(name: str, **kwargs: Any) -> PlasticityRule:
    """Build the rule registered as ``name``, e.g. ``make_rule("oja", lr=1e-3)``."""
    if name not in RULES:
        raise ValueError(f"unknown plasticity rule {name!r}; choose one of {sorted(RULES)}")
    try:
        return RULES[name](**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad options for rule {name!r}: {exc}") from None


__all__ = [
    "APPLY",
    "BCM",
    "RULES",
    "TRIPLET_PRESETS",
    "AdaptiveThreshold",
    "AstrocyteModulation",
    "Hebb",
    "KrotovHopfield",
    "NeuromodulatedHebb",
    "Oja",
    "PairSTDP",
    "PlasticSynapses",
    "PlasticityRule",
    "RewardSTDP",
    "Sanger",
    "SoftHebb",
    "SynapticScaling",
    "TripletParams",
    "TripletSTDP",
    "WeightNormalization",
    "branching_ratio",
    "make_rule",
]
