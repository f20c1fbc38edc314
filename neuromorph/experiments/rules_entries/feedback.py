"""Local rules with fixed random feedback or local targets in the rules matrix.

Same budget as ``bp`` (Adam, 30 epochs of minibatches of 64; 60 with ``preset=full``).
``derivative="auto"``: the transform's elementwise ``F'(z)`` where it offers one (digital,
spiking), else the factor 1 of Nakajima et al. 2022 (physical systems, the integer chip).
"""

from __future__ import annotations

from neuromorph.experiments.rules_entries import RuleEntry
from neuromorph.learning_rules.feedback import DFA, DRTP
from neuromorph.learning_rules.local_targets import CaFo, MonoForward
from neuromorph.learning_rules.noprop import NoPropDT

_AUTO = "F'(z) where offered, else 1 (Nakajima 2022)"

ENTRIES = [
    RuleEntry("dfa", lambda net, ctx: DFA(net, seed=ctx.seed, derivative="auto"),
              lr=3e-3, epochs=30, epochs_full=60,
              note=f"direct feedback alignment; {_AUTO}"),
    RuleEntry("drtp", lambda net, ctx: DRTP(net, seed=ctx.seed, derivative="auto"),
              lr=1.5e-3, epochs=30, epochs_full=60,
              note=f"direct random target projection; {_AUTO}"),
    RuleEntry("mono_forward", lambda net, ctx: MonoForward(net, seed=ctx.seed, derivative="auto"),
              lr=3e-3, epochs=30, epochs_full=60,
              note=f"per-layer class-goodness projections, local CE; {_AUTO}"),
    RuleEntry("cafo", lambda net, ctx: CaFo(net, seed=ctx.seed, blocks="dfa", derivative="auto"),
              lr=3e-3, epochs=30, epochs_full=60,
              note=f"cascaded forward, DFA-trained blocks, summed predictors; {_AUTO}"),
    RuleEntry("noprop", lambda net, ctx: NoPropDT(net, seed=ctx.seed, steps=10),
              lr=3e-3, epochs=30, epochs_full=60,
              note="NoProp-DT, 10 denoising blocks sharing the substrate (needs differentiable)"),
]
