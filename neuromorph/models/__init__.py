"""Built models and saved models: the table of which module runs which spec
(:mod:`~neuromorph.models.spec_modules`) and the model files of run directories
(:mod:`~neuromorph.models.model_file`: ``model.json`` spec + ``model.pt`` state; for an
event-engine network the spec graph + its weights, :mod:`~neuromorph.models.engine_file`).

Sits above :mod:`neuromorph.networks`, the engine :mod:`neuromorph.sim` and
:mod:`neuromorph.hardware_models` (a saved PhyLL
network names its physical systems) and below :mod:`neuromorph.nir` and the experiments.
"""

from neuromorph.models.engine_file import (
    is_engine_graph,
    load_engine_network,
    read_engine_graph,
    save_engine_network,
)
from neuromorph.models.model_file import ModelFileError, load_model, read_spec, save_model
from neuromorph.models.spec_modules import build_module, linear_map, module_spec

__all__ = ["ModelFileError", "build_module", "is_engine_graph", "linear_map", "load_engine_network",
           "load_model", "module_spec", "read_engine_graph", "read_spec", "save_engine_network",
           "save_model"]
