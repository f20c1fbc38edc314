"""Backprop (the reference) and physics-aware training in the rules matrix."""

from __future__ import annotations

from neuromorph.experiments.rules_entries import RuleEntry
from neuromorph.learning_rules.backprop import Backprop, PhysicsAware

ENTRIES = [
    RuleEntry("bp", lambda net, ctx: Backprop(net), lr=3e-3, epochs=30, epochs_full=60,
              note="backprop (surrogate gradient on spikes)"),
    RuleEntry("pat", lambda net, ctx: PhysicsAware(net), lr=3e-3, epochs=30, epochs_full=60,
              note="physics-aware training: measured forward, twin backward",
              slow_substrates={"acoustic": 8, "microwave": 15}),  # the twins' backward is costly
]
