"""The forward-forward family in the rules matrix: PhyLL, Hinton's FF, collaborative FF.

All three are layer-local contrastive rules (positive = true label embedded, negative = a
random wrong label) that only ever *measure* the substrate, so they run on every substrate,
forward-only ones included. PhyLL: one step of the outside Adam per layer per minibatch
(``inner_steps=1``); FF and CFF: one step per minibatch for all layers at once. All three
measure positive and negative data (and all labels at test time) in one substrate call.
"""

from __future__ import annotations

from neuromorph.experiments.rules_entries import RuleEntry
from neuromorph.learning_rules.collaborative_ff import CollaborativeFF
from neuromorph.learning_rules.forward_forward import ForwardForward
from neuromorph.learning_rules.phyll import PhyLL

SLOW = {"acoustic": 20, "loihi_int": 20, "microwave": 20}  # default preset only
FF_THRESHOLD = 2.0  # mean squared activity separating positive from negative data

ENTRIES = [
    RuleEntry("phyll", lambda net, ctx: PhyLL(net, alpha=4.0, inner_steps=1, seed=ctx.seed,
                                                 batch_calls=True),
              lr=3e-3, epochs=30, epochs_full=60,
              note="PhyLL: cos(|W f|, p) goodness, layer by layer, forward-only"),
    RuleEntry("ff", lambda net, ctx: ForwardForward(net, FF_THRESHOLD, seed=ctx.seed),
              lr=1e-2, epochs=60, epochs_full=120, slow_substrates=SLOW,
              note="Hinton FF: relu(W f/rms f), mean-square goodness, forward-only"),
    RuleEntry("cff", lambda net, ctx: CollaborativeFF(net, FF_THRESHOLD, seed=ctx.seed),
              lr=1e-2, epochs=60, epochs_full=120, slow_substrates=SLOW,
              note="collaborative FF: each layer's loss sees the summed goodness"),
]
