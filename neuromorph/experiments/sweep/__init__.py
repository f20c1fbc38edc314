"""Sweeps over experiment configs: a grid (local process pool or Ray) or an Optuna search.

``neuromorph sweep NAME --grid key=v1,v2 --seeds N`` runs every combination; every trial is a
normal run directory. See :mod:`neuromorph.experiments.sweep.runner` for the folder layout,
:mod:`neuromorph.experiments.sweep.executors` for where trials run and
:mod:`neuromorph.experiments.sweep.optuna_search` for searches. Importing this package imports
no torch.
"""
