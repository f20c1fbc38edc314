"""Randman: spike-timing classification on smooth random manifolds (Zenke & Vogels, 2021).

Each class ``k`` is a smooth random manifold: a map from intrinsic coordinates ``u`` in
``[0, 1]^D`` to ``n_units`` embedding channels. Channel ``i`` is a product over intrinsic
dimensions ``d`` of random 1-D Fourier series of decaying power,

    y_i(u) = prod_d  sum_{j=0}^{F-1}  a_ijd / (j + 1)^alpha * sin(2 pi (j * b_ijd * u_d + c_ijd)),

with ``a, b, c ~ U(0, 1)`` (``a_i d 0 = 0``: no constant term), ``alpha`` the smoothness (the power
spectrum falls as ``j^-alpha``) and ``F = ceil(prec^(-1/alpha))`` frequencies. A sample of class
``k`` draws ``u ~ U([0, 1]^D)``, evaluates the class's manifold, min-max normalises every channel
over the class's samples to [0, 1] and turns the value into the time of the channel's single
spike, ``t_i = y_i * step_frac * T * dt`` (seconds). All channels fire exactly once, so only the
relative spike timing carries the class.

:func:`make_randman` returns the spike times and labels; ``data.spikes(index)`` gives time-major
rasters ``[T, B, n_units]`` (one spike per channel). Everything comes from one ``seed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["RandmanData", "make_randman", "random_manifold", "spike_times_to_raster"]


def random_manifold(
    n_units: int,
    dim: int,
    *,
    alpha: float = 2.0,
    prec: float = 1e-3,
    max_frequencies: int = 1000,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    """Draw the parameters ``[n_units, dim, 3, F]`` (amplitude, frequency, phase) of a manifold."""
    if n_units < 1 or dim < 1:
        raise ValueError(f"n_units and dim must be >= 1, got {n_units} and {dim}")
    if alpha <= 0 or not 0 < prec < 1:
        raise ValueError(f"need alpha > 0 and 0 < prec < 1, got alpha={alpha}, prec={prec}")
    n_freq = int(min(math.ceil(prec ** (-1.0 / alpha)), max_frequencies))
    params = torch.rand((n_units, dim, 3, n_freq), generator=generator, dtype=dtype)
    params[:, :, 0, 0] = 0.0  # no constant offset
    return params


def eval_manifold(params: Tensor, u: Tensor, alpha: float = 2.0) -> Tensor:
    """Evaluate ``y[s, i] = prod_d sum_j a/(j+1)^alpha sin(2 pi (j b u_d + c))``, ``u [S, D]``."""
    n_units, dim, _, n_freq = params.shape
    if u.dim() != 2 or u.shape[1] != dim:
        raise ValueError(f"u must be [S, {dim}] intrinsic coordinates, got {tuple(u.shape)}")
    j = torch.arange(n_freq, dtype=params.dtype)
    decay = 1.0 / (j + 1.0) ** alpha
    a, b, c = params[:, :, 0], params[:, :, 1], params[:, :, 2]  # [n_units, D, F]
    # phase[s, i, d, f] = 2 pi (j * b * u_d + c)
    phase = 2 * math.pi * (j * b * u[:, None, :, None] + c)
    series = (a * decay * torch.sin(phase)).sum(dim=-1)  # [S, n_units, D]
    return series.prod(dim=-1)


@dataclass
class RandmanData:
    """A randman data set: spike ``times [N, n_units]`` (s), ``labels [N]`` (int64) and the
    intrinsic ``coords [N, D]`` of each sample; :meth:`spikes` bins (a subset of) the samples into
    a time-major raster ``[n_steps, B, n_units]`` on demand (the full raster can be large)."""

    times: Tensor
    labels: Tensor
    coords: Tensor
    n_steps: int
    dt: float

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_units(self) -> int:
        return int(self.times.shape[1])

    def spikes(self, index: Tensor | slice | None = None) -> Tensor:
        """Raster ``[n_steps, B, n_units]`` (float32, one spike per channel) of ``index``."""
        times = self.times if index is None else self.times[index]
        return spike_times_to_raster(times, self.n_steps, self.dt)


def spike_times_to_raster(times: Tensor, n_steps: int, dt: float) -> Tensor:
    """Bin spike times ``[N, n]`` (s) into a time-major raster ``[n_steps, N, n]``.

    Time ``t`` falls into step ``min(floor(t / dt), n_steps - 1)``; negative or NaN times are an
    error.
    """
    if torch.isnan(times).any() or (times < 0).any():
        raise ValueError("spike times must be finite and >= 0 seconds")
    idx = torch.clamp(torch.floor(times / dt), max=n_steps - 1).long()
    raster = torch.zeros((n_steps, *times.shape), dtype=torch.float32)
    raster.scatter_(0, idx.unsqueeze(0), 1.0)
    return raster


def make_randman(
    n_classes: int = 10,
    n_units: int = 100,
    n_steps: int = 100,
    *,
    dt: float = 1e-3,
    dim_manifold: int = 1,
    n_samples: int = 1000,
    alpha: float = 2.0,
    step_frac: float = 1.0,
    shuffle: bool = True,
    seed: int = 0,
) -> RandmanData:
    """Generate the randman classification set: ``n_samples`` per class, ``n_classes`` classes.

    Every channel spikes once, at ``t = y * step_frac * n_steps * dt`` seconds where ``y`` in
    [0, 1] is the channel's normalised manifold value. Same ``seed``, same data.
    """
    for name, val in (("n_classes", n_classes), ("n_units", n_units), ("n_steps", n_steps),
                      ("dim_manifold", dim_manifold), ("n_samples", n_samples)):
        if not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be an int >= 1, got {val!r}")
    if not 0 < step_frac <= 1:
        raise ValueError(f"step_frac must lie in (0, 1], got {step_frac}")
    if dt <= 0:
        raise ValueError(f"dt must be > 0 seconds, got {dt}")
    gen = torch.Generator().manual_seed(int(seed))
    times, labels, coords = [], [], []
    for k in range(n_classes):
        params = random_manifold(n_units, dim_manifold, alpha=alpha, generator=gen)
        u = torch.rand((n_samples, dim_manifold), generator=gen, dtype=torch.float64)
        y = eval_manifold(params, u, alpha)
        lo, hi = y.min(dim=0).values, y.max(dim=0).values
        y = (y - lo) / (hi - lo + 1e-7)
        times.append(y * step_frac * n_steps * dt)
        labels.append(torch.full((n_samples,), k, dtype=torch.int64))
        coords.append(u)
    t_all = torch.cat(times).float()
    lab = torch.cat(labels)
    uu = torch.cat(coords).float()
    if shuffle:
        perm = torch.randperm(len(lab), generator=gen)
        t_all, lab, uu = t_all[perm], lab[perm], uu[perm]
    return RandmanData(times=t_all, labels=lab, coords=uu, n_steps=n_steps, dt=dt)
