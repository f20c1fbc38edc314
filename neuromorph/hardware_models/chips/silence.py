"""Silence check: a deployed network whose layer stops firing after quantisation is an error.

Rounding a network into a chip's integer representation can leave a layer's membranes below
its threshold for every input (thresholds rounded up, small weights rounded to 0, a bias lost
to the mantissa): the layer then emits nothing and everything after it sees silence. The
float network works, the chip does not, and accuracy falls to chance without a message.
:func:`check_silence` inspects an integer run and names the first such layer.
"""

from __future__ import annotations

from neuromorph.hardware_models.chips.integer import IntegerNetwork, IntegerRun


class SilentLayerError(ValueError):
    """A layer of an integer chip model emitted no spike (or a readout stayed at 0)."""


def check_silence(net: IntegerNetwork, run: IntegerRun, names: list[str] | None = None) -> None:
    """Raise :class:`SilentLayerError` naming the first layer of ``net`` that is silent in
    ``run`` (its :meth:`IntegerNetwork.run` on some inputs): no spike from a spiking layer, or
    a membrane identically 0 in a readout."""
    names = names or [f"layer {k}" for k in range(len(net.layers))]
    if len(names) != len(net.layers):
        raise ValueError(f"names lists {len(names)} layers; the network has {len(net.layers)}")
    for name, layer, out in zip(names, net.layers, run.outputs, strict=True):
        if bool((out != 0).any()):
            continue
        what = "emitted no spike" if layer.spiking else "kept its membrane at 0"
        samples = out.shape[1]
        raise SilentLayerError(
            f"{name} {what} on any of {samples} inputs after quantisation to {net.chip}: its "
            "integer thresholds are out of reach of its rounded weights and bias; fine-tune on "
            "the chip's arithmetic (neuromorph.hardware_models.chips.qat.ChipQAT, or "
            "chip_in_the_loop.spsa_fine_tune) or lower the float network's threshold / raise "
            "its weights before quantising"
        )


__all__ = ["SilentLayerError", "check_silence"]
