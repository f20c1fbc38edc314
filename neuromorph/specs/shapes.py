"""Per-sample feature shapes through a spec graph: the one shape rule of every consumer (NIR
export, the chip views).

``output_shape(spec, shape)`` is the shape after ``spec`` for input features ``shape``; ``None``
is unknown. Declared shapes win (inputs, outputs, populations with a ``shape``, an affine's
``out_features``, a graph's one output); convolution and pooling follow torch's geometry::

    size_out = (size_in + 2 padding - dilation (kernel - 1) - 1) // stride + 1

and every other node (neurons without a shape, elementwise nodes, delays) keeps its input's.
"""

from __future__ import annotations

import math

from neuromorph.specs.base import Spec
from neuromorph.specs.graph import Graph
from neuromorph.specs.layers import Affine, Conv, Flatten, Input, Output, Pool2d
from neuromorph.specs.neurons import NeuronSpec

FeatureShape = tuple[int, ...]


def output_shape(spec: Spec, shape: FeatureShape | None) -> FeatureShape | None:
    """Per-sample feature shape after ``spec`` for input features ``shape`` (``None``: unknown)."""
    if isinstance(spec, Input):
        return spec.shape
    if isinstance(spec, Output | NeuronSpec) and spec.shape is not None:
        return spec.shape
    if isinstance(spec, Affine):
        return (spec.out_features,)
    if isinstance(spec, Graph):
        outs = [s.shape for s in spec.nodes.values() if isinstance(s, Output)]
        return outs[0] if len(outs) == 1 else None
    if shape is None:
        return None
    if isinstance(spec, Conv | Pool2d):
        k, s, p = spec.kernel_size, spec.stride, spec.padding
        d = getattr(spec, "dilation", (1,) * len(k))  # pooling has none
        size = tuple((n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
                     for n, kk, ss, pp, dd in zip(shape[-len(k):], k, s, p, d, strict=True))
        lead = (spec.out_channels,) if isinstance(spec, Conv) else shape[:-len(k)]
        return (*lead, *size)
    if isinstance(spec, Flatten):
        a, b = spec.start_dim % len(shape), spec.end_dim % len(shape)
        return (*shape[:a], math.prod(shape[a:b + 1]), *shape[b + 1:])
    return shape


__all__ = ["FeatureShape", "output_shape"]
