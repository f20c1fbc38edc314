"""Energy-based and dual-network rules in the rules matrix: dual propagation, EqProp, CCL."""

from __future__ import annotations

from neuromorph.experiments.rules_entries import RuleEntry
from neuromorph.learning_rules.counter_current import CounterCurrent
from neuromorph.learning_rules.energy_based import DualPropagation, EquilibriumPropagation

ENTRIES = [
    RuleEntry("dual_prop", lambda net, ctx: DualPropagation(net, beta=1.0, alpha=0.5),
              lr=3e-3, epochs=30, epochs_full=60,
              note="dual propagation: dyadic neurons, one forward + one backward sweep "
                   "(elementwise substrates only)"),
    RuleEntry("eqprop", lambda net, ctx: EquilibriumPropagation(net, beta=0.5),
              lr=3e-3, epochs=15, epochs_full=60, slow_substrates={"loihi_int": 4},
              note="equilibrium propagation, symmetric nudging (elementwise substrates only)"),
    RuleEntry("counter_current", lambda net, ctx: CounterCurrent(net, seed=ctx.seed),
              lr=1e-2, epochs=30, epochs_full=60,
              note="counter-current learning: feedback network from the labels, local losses"),
]
