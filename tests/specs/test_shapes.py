"""The one shape rule (``specs.shapes.output_shape``) against torch's own layers."""

from __future__ import annotations

import torch

from neuromorph import specs
from neuromorph.specs.shapes import output_shape


def test_conv_and_pool_follow_torchs_geometry() -> None:
    x = torch.zeros(1, 3, 17, 12)
    conv = specs.Conv(3, 5, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 3))
    torch_conv = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 3))
    assert output_shape(conv, (3, 17, 12)) == tuple(torch_conv(x).shape[1:])
    pool = specs.Pool2d(kernel_size=(3, 2), stride=(2, 2), padding=(1, 1))
    torch_pool = torch.nn.AvgPool2d((3, 2), stride=(2, 2), padding=(1, 1))
    assert output_shape(pool, (3, 17, 12)) == tuple(torch_pool(x).shape[1:])
    assert output_shape(specs.Flatten(start_dim=0), (3, 17, 12)) == (612,)


def test_declared_shapes_win_and_the_rest_keep_their_input() -> None:
    assert output_shape(specs.Affine(4, 7), (4,)) == (7,)
    assert output_shape(specs.LIF(tau=[0.01] * 6, shape=(6,)), None) == (6,)
    assert output_shape(specs.LIF(), (9,)) == (9,)  # shared parameters: any size
    assert output_shape(specs.Output(shape=(2,)), None) == (2,)
    graph = specs.Graph(nodes={"in": specs.Input(shape=(3,)), "out": specs.Output(shape=(8,))},
                        edges=(("in", "out"),))
    assert output_shape(graph, (3,)) == (8,)
    assert output_shape(specs.Conv(), None) is None  # unknown input: unknown output
