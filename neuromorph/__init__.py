"""neuromorph: simulate and train physical and spiking neural networks.

Packages: ``sim`` (engine and kernels), ``networks`` (what a network is), ``learning_rules``
(PhyLL, forward-forward, plasticity, surrogate gradients, baselines), ``hardware_models``
(simulated physical systems, non-idealities, chip models), ``experiments`` (runnable studies).
"""

from neuromorph.access import Access, AccessError

__version__ = "0.1.0"
__all__ = ["Access", "AccessError", "__version__"]
