"""Per-tile converters: the DAC that drives word lines and the ADC that reads bit lines.

Both are uniform, symmetric and clipping, with a straight-through gradient (identity inside the
range, zero outside) so the same functions serve the hardware and the differentiable twin.

* DAC: ``x_hat = Q(clip(x / r, -1, 1))`` with ``r`` the input range (input units, may be
  learned) and ``Q`` rounding to steps of ``2 / (2^b - 2)`` (``2^b - 1`` levels, zero included).
* ADC: ``y_q = Q(clip(y, -B, B))`` on the normalised tile output ``y = x_hat . (w / w_max)``
  with full scale ``B`` and steps of ``2 B / (2^b - 2)``.

``bits = 0`` means an ideal converter (no rounding; the DAC still clips at the range).
"""

from __future__ import annotations

from torch import Tensor


def steps_of(bits: int) -> int:
    """Quantisation steps across the full symmetric range for ``bits`` (``2^b - 2``)."""
    if bits < 2:
        raise ValueError(f"a converter needs >= 2 bits (or 0 for ideal), got {bits}")
    return 2**bits - 2


def _round_ste(v: Tensor) -> Tensor:
    return v + (v.round() - v).detach()


def dac(x: Tensor, input_range: Tensor | float, bits: int) -> Tensor:
    """Normalised drive ``x_hat`` in [-1, 1] (dimensionless; times ``V_read`` it is volts)."""
    x_hat = (x / input_range).clamp(-1.0, 1.0)
    if bits == 0:
        return x_hat
    half = steps_of(bits) / 2
    return _round_ste(x_hat * half) / half


def adc(y: Tensor, bound: float, bits: int) -> Tensor:
    """Clip the normalised tile output to ``[-bound, bound]`` and round to the ADC grid."""
    y = y.clamp(-bound, bound)
    if bits == 0:
        return y
    res = 2 * bound / steps_of(bits)
    return _round_ste(y / res) * res
