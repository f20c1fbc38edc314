"""Malformed files, unknown node types and shape mismatches give errors that name the node."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")
h5py = pytest.importorskip("h5py")

from neuromorph.networks.neurons import ALIF  # noqa: E402
from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential  # noqa: E402
from neuromorph.nir import NIRConversionError, from_nir, summarize, to_nir  # noqa: E402


def _lif(n: int, **kw) -> object:
    args = dict(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))
    args.update(kw)
    return nir.LIF(**args)


def test_garbage_file_is_reported(tmp_path) -> None:
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"this is not hdf5")
    with pytest.raises(NIRConversionError, match="not a readable NIR"):
        from_nir(bad, dt=1e-3)


def test_hdf5_without_a_graph_is_malformed(tmp_path) -> None:
    path = tmp_path / "empty.nir"
    with h5py.File(path, "w") as f:
        f.create_dataset("version", data="1.0")
    with pytest.raises(NIRConversionError, match="malformed NIR file"):
        from_nir(path, dt=1e-3)


def test_missing_file_is_reported(tmp_path) -> None:
    with pytest.raises(NIRConversionError, match="does not exist"):
        from_nir(tmp_path / "nope.nir", dt=1e-3)


@dataclass(eq=False)
class Resonator(nir.NIRNode):  # a node type neuromorph does not know
    omega: np.ndarray

    def __post_init__(self) -> None:
        self.input_type = {"input": np.array(self.omega.shape)}
        self.output_type = {"output": np.array(self.omega.shape)}


def test_unknown_node_type_names_the_node() -> None:
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])),
                                "res1": Resonator(omega=np.ones(3)),
                                "output": nir.Output(output_type=np.array([3]))},
                         edges=[("input", "res1"), ("res1", "output")])
    with pytest.raises(NIRConversionError, match=r"'res1' \(Resonator\).*unsupported"):
        from_nir(graph, dt=1e-3)
    assert "res1 (Resonator)" in summarize(graph)  # inspect still describes the graph


def test_shape_mismatch_names_the_node() -> None:
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([4])),
                                "fc": nir.Affine(weight=np.ones((3, 4)), bias=np.zeros(3)),
                                "lif5": _lif(5),
                                "output": nir.Output(output_type=np.array([5]))},
                         edges=[("input", "fc"), ("fc", "lif5"), ("lif5", "output")],
                         type_check=False)
    with pytest.raises(NIRConversionError, match=r"'lif5' \(LIF"):
        from_nir(graph, dt=1e-3)


def test_weight_input_mismatch_names_the_node() -> None:
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([6])),
                                "fc": nir.Affine(weight=np.ones((3, 4)), bias=np.zeros(3)),
                                "output": nir.Output(output_type=np.array([3]))},
                         edges=[("input", "fc"), ("fc", "output")], type_check=False)
    with pytest.raises(NIRConversionError, match=r"'fc' \(Affine"):
        from_nir(graph, dt=1e-3)


def test_edge_to_a_missing_node_is_named() -> None:
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])),
                                "output": nir.Output(output_type=np.array([2]))},
                         edges=[("input", "ghost"), ("input", "output")], type_check=False)
    with pytest.raises(NIRConversionError, match="'ghost'"):
        from_nir(graph, dt=1e-3)


def test_peer_graph_without_dt_asks_for_it() -> None:
    with pytest.raises(NIRConversionError, match="pass dt="):
        from_nir(_lif(2))


def test_per_neuron_reset_and_bad_delay_name_the_node() -> None:
    with pytest.raises(NIRConversionError, match=r"'lif' \(LIF\).*v_reset"):
        from_nir(nir.NIRGraph.from_list(_lif(2, v_reset=np.array([0.0, 0.5]))), dt=1e-3)
    with pytest.raises(NIRConversionError, match=r"'delay' \(Delay\).*whole number of steps"):
        from_nir(nir.NIRGraph.from_list(nir.Delay(delay=np.array([1.5e-3]))), dt=1e-3)


def test_nan_parameter_names_the_node() -> None:
    with pytest.raises(NIRConversionError, match=r"'lif'.*NaN"):
        from_nir(nir.NIRGraph.from_list(_lif(2, tau=np.array([0.01, np.nan]))), dt=1e-3)


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="reset_mode"):
        from_nir(_lif(2), dt=1e-3, reset_mode="zero")


def test_export_of_alif_names_the_layer() -> None:
    net = SpikingSequential(SpikingLinear(3, 2, dt=1e-3), ALIF(2, dt=1e-3))
    with pytest.raises(NIRConversionError, match=r"'1' \(ALIF\).*no NIR"):
        to_nir(net)


def test_export_needs_input_shape_for_a_bare_conv() -> None:
    with pytest.raises(NIRConversionError, match="input_shape"):
        to_nir(SpikingSequential(torch.nn.Conv2d(1, 2, 3)))
