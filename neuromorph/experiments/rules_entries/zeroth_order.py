"""Zeroth-order and evolution rules in the rules matrix: SPSA, forward gradient, ES, EGGROLL, GA.

All five only measure ``net(x)``: every member of a step is stacked into one substrate call per
stage. Settings were tuned on ``optical`` (digits) for the default budget (about 10 s a cell on
one thread). Each step measures 32 x 64 samples, so on the expensive substrates (the acoustic
ODE, the integer chip loop, the microwave cavity) the default preset spends fewer epochs
(:data:`SLOW`); ``preset=full`` runs the full budget everywhere.
"""

from __future__ import annotations

from neuromorph.experiments.rules_entries import RuleEntry
from neuromorph.learning_rules.evolution import EGGROLL, DeepGA, EvolutionStrategy
from neuromorph.learning_rules.zeroth_order import SPSA, ForwardGradient

SLOW = {"acoustic": 3, "loihi_int": 4, "microwave": 6}

ENTRIES = [
    RuleEntry("spsa", lambda net, ctx: SPSA(net, perturbations=16, c=1e-2, seed=ctx.seed),
              lr=1e-2, epochs=20, epochs_full=60, slow_substrates=SLOW,
              note="SPSA, 16 Rademacher directions per step (32 members, one stacked call)"),
    RuleEntry("fgrad", lambda net, ctx: ForwardGradient(net, directions=16, epsilon=1e-2,
                                                        seed=ctx.seed),
              lr=1e-2, epochs=20, epochs_full=60, slow_substrates=SLOW,
              note="forward gradient, 16 Gaussian directions: jvp on differentiable nets, "
                   "central differences on forward-only ones"),
    RuleEntry("es", lambda net, ctx: EvolutionStrategy(net, pairs=16, sigma=2e-2,
                                                       seed=ctx.seed),
              lr=1e-2, epochs=20, epochs_full=60, slow_substrates=SLOW,
              note="OpenAI-ES, 16 antithetic pairs, centred ranks"),
    RuleEntry("eggroll", lambda net, ctx: EGGROLL(net, pairs=16, sigma=2e-2, rank=4,
                                                  seed=ctx.seed),
              lr=1e-2, epochs=20, epochs_full=60, slow_substrates=SLOW,
              note="EGGROLL low-rank ES, rank 4, 16 antithetic pairs"),
    RuleEntry("ga", lambda net, ctx: DeepGA(net, population=64, sigma=1e-2, parents=10,
                                            elites=1, seed=ctx.seed),
              optimizer=None, epochs=20, epochs_full=60, slow_substrates=SLOW,
              note="deep GA: truncation (10 of 64), mutation only, 1 elite; in place"),
]
