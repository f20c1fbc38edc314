"""The bottom layer: pure functions every simulator in neuromorph shares; imports no other
neuromorph package.

- :mod:`~neuromorph.primitives.spike`: the spike non-linearity (Heaviside forward) and its
  surrogate gradients, the one place surrogate names are dispatched; every kernel uses it.
- :mod:`~neuromorph.primitives.discretize`: continuous-time parameters (NIR names, SI units) to
  per-step coefficients, the one place ``exp(-dt / tau)`` and ``1 - dt / tau`` are computed;
  used by the dense neurons, the event engine, its plasticity, the chips and NIR.
"""
