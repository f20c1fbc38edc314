"""scikit-learn's 8x8 handwritten digits as :class:`LabelledData` (offline, shipped)."""

from __future__ import annotations

from neuromorph.data.poisson_digits import load_digits
from neuromorph.data.vowels import LabelledData


def sklearn_digits() -> LabelledData:
    """Pixels scaled to [0, 1] (``x [1797, 64]``), labels 0-9."""
    x, y = load_digits()
    names = tuple(f"px{i}" for i in range(x.shape[1]))
    return LabelledData(x.numpy(), y.numpy(), tuple(str(c) for c in range(10)), names)
