"""scikit-learn's 8x8 handwritten digits (1797 images, shipped with scikit-learn, offline)."""

from __future__ import annotations

import numpy as np

from neuromorph.data.vowels import LabelledData


def sklearn_digits() -> LabelledData:
    """Pixels scaled to [0, 1] (``x [1797, 64]``), labels 0-9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    names = tuple(f"px{i}" for i in range(x.shape[1]))
    return LabelledData(x, bunch.target.astype(np.int64), tuple(str(c) for c in range(10)), names)
