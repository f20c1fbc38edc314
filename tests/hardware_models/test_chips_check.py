"""Chip specs as sourced data, and check(network, chip) with actionable violations."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from neuromorph.hardware_models.chips import CHIPS, ChipSpec, check, get_chip
from neuromorph.networks.spiking_layers import (
    RecurrentSpiking,
    SpikingConv2d,
    SpikingLinear,
    SpikingSequential,
)


def test_every_figure_has_a_source() -> None:
    assert set(CHIPS) == {"loihi2", "xylo", "speck", "spinnaker2", "akida"}
    for chip in CHIPS.values():
        figures = chip.figures()
        assert figures, chip.name
        for name, (value, source) in figures.items():
            assert source and len(source) > 20, f"{chip.name}.{name} = {value} lacks a source"


def test_a_figure_without_source_is_refused() -> None:
    with pytest.raises(ValueError, match="no published source"):
        dataclasses.replace(get_chip("xylo"), max_neurons=2000,
                            sources={k: v for k, v in get_chip("xylo").sources.items()
                                     if k != "max_neurons"})
    with pytest.raises(ValueError, match="unknown neuron types"):
        ChipSpec("x", "X", ("hh",), (), False, False, True, "none", "power")


def test_chip_names_and_aliases() -> None:
    assert get_chip("Loihi-2") is get_chip("loihi") is CHIPS["loihi2"]
    assert get_chip("DYNAP-CNN").name == "speck"
    with pytest.raises(ValueError, match="choose one of"):
        get_chip("truenorth")


def _rules(violations, severity: str = "error") -> set[str]:
    return {v.rule for v in violations if v.severity == severity}


def _xylo_fit() -> SpikingSequential:
    # 16 inputs, 20 hidden, 8 outputs, CuBa neurons, subtract reset, power-of-2 decays
    kw = dict(dt=1e-3, neuron="cuba_lif", tau_syn=2e-3, tau_mem=8e-3, reset="subtract")
    return SpikingSequential(SpikingLinear(16, 20, **kw), SpikingLinear(20, 8, **kw))


def test_a_network_that_fits_xylo_has_no_violations() -> None:
    assert check(_xylo_fit(), "xylo") == []


def test_xylo_violations_say_what_to_change() -> None:
    net = SpikingSequential(SpikingLinear(64, 128, dt=2e-3, tau=0.02),
                            SpikingLinear(128, 10, neuron="li", dt=2e-3, tau=0.02))
    found = check(net, "xylo")
    assert _rules(found) == {"inputs", "outputs"}
    text = "\n".join(map(str, found))
    assert "64 input channels > 16" in text and "10 output neurons > 8" in text
    assert "train with neuron='cuba_lif'" in text  # LIF -> CuBa approximation (warning)
    assert "decay" in _rules(found, "warning")  # tau = 10 dt is not a power-of-2 decay


def test_xylo_capacity_and_fan_out() -> None:
    kw = dict(dt=1e-3, neuron="cuba_lif", tau_syn=2e-3, tau_mem=8e-3, reset="subtract")
    big = SpikingSequential(SpikingLinear(16, 1200, **kw), SpikingLinear(1200, 8, **kw))
    assert "neurons" in _rules(check(big, "xylo"))
    wide = SpikingSequential(SpikingLinear(16, 100, **kw), SpikingLinear(100, 100, **kw),
                             SpikingLinear(100, 8, **kw))
    fan = [v for v in check(wide, "xylo") if v.rule == "fan_out"]
    assert fan and fan[0].layer == "1" and "prune" in fan[0].fix


def test_loihi_reset_and_reset_delay() -> None:
    net = SpikingSequential(SpikingLinear(8, 4, dt=1e-3, reset="subtract", reset_delay=True))
    found = check(net, "loihi2")
    assert _rules(found) == {"reset", "reset_delay"}
    assert any("reset='zero'" in v.fix for v in found)
    ok = SpikingSequential(SpikingLinear(8, 4, dt=1e-3, reset="zero", tau=0.02))
    assert check(ok, "loihi2") == []


def test_speck_and_akida_topologies() -> None:
    conv = SpikingSequential(SpikingConv2d(2, 4, 3, dt=1e-3, neuron="if", reset="zero"),
                             torch.nn.Flatten(), SpikingLinear(144, 10, dt=1e-3, neuron="if"))
    assert check(conv, "speck", input_shape=(2, 8, 8)) == []
    assert "conv" in _rules(check(conv, "xylo", input_shape=(2, 8, 8)))
    rec = SpikingSequential(RecurrentSpiking(4, 6, dt=1e-3, reset="zero"))
    assert {"recurrent", "neuron_type"} <= _rules(check(rec, "speck"))
    akida = check(rec, "akida")
    assert any("cnn2snn" in v.fix for v in akida)
    assert check(rec, "spinnaker2") == []
