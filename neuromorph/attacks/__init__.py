"""Adversarial attacks on spiking networks: where a trained network's decision is fragile.

- :mod:`~neuromorph.attacks.gradient`: FGSM, PGD and a random-noise baseline under an L-inf
  budget on the analog input, and the attack success rate;
- :mod:`~neuromorph.attacks.surrogates`: the surrogate the attacker differentiates through
  (any of the library's), and a potential-dependent surrogate (PDSG-style) whose width follows
  each layer's membrane-potential spread;
- :mod:`~neuromorph.attacks.rate_coding`: Bernoulli rate coding with a straight-through
  gradient, so an attack on pixel intensities reaches through the spike encoder
  (expectation over the encoder's noise).

The experiment ``neuromorph run snn-attack`` uses them on the spiking digits network and
transfers the attacks to its Loihi 2 integer model.
"""

from __future__ import annotations

from neuromorph.attacks.gradient import (
    fgsm,
    input_gradient,
    pgd,
    project,
    random_sign_noise,
    success_rate,
)
from neuromorph.attacks.rate_coding import rate_noise, straight_through_rate
from neuromorph.attacks.surrogates import (
    logistic_scale,
    potential_dependent_scales,
    pre_spike_potentials,
    use_potential_dependent_surrogate,
    use_surrogate,
)

__all__ = [
    "fgsm",
    "input_gradient",
    "logistic_scale",
    "pgd",
    "potential_dependent_scales",
    "pre_spike_potentials",
    "project",
    "random_sign_noise",
    "rate_noise",
    "straight_through_rate",
    "success_rate",
    "use_potential_dependent_surrogate",
    "use_surrogate",
]
