"""Microwave cavity with a programmable metasurface: |S21| at K frequencies.

The synthetic counterpart of the PhyLL microwave layer (Momeni et al., Science 2023): the
inputs set the states of ``n_in`` metasurface elements on the wall of a reverberating (chaotic)
cavity, and the outputs are the transmission magnitudes ``|S21(f_k)|`` between two antennas at
``K = n_out`` frequencies. The nonlinearity is structural: the response is the inverse of a
matrix that depends on the states, not an activation function.

Model: coupled-mode theory of a chaotic cavity (the random-matrix "Heidelberg" model of
Mahaux and Weidenmueller; the CMT of Suh, Wang and Fan 2004). ``M`` cavity modes with the
effective Hamiltonian ``H(s)`` couple to two ports through ``D`` (``2 x M``)::

    H(s)   = H0 + sum_j s_j t_j u_j u_j^T        (H0: GOE; element j a rank-1 reactive load)
    A(w)   = j (w I - H(s)) + gamma I + D^T D / 2
    S(w)   = -I + D A(w)^-1 D^T                   (2 x 2, reciprocal: S = S^T)

``u_j`` (``~ N(0, I / M)``) is the field of the modes at element ``j`` (random-wave model) and
``t_j`` its detuning strength (random sign, magnitude ``tuning x U(0.5, 1.5)``), ``gamma`` the
uniform wall absorption and ``D D^T / 2`` the radiative loss into the antennas. With
``gamma >= 0`` the cavity is passive (every singular value of ``S`` is ``<= 1``); with
``gamma = 0`` it is lossless (``S`` unitary).

Units: frequency in units of the mean mode spacing at the band centre (``H0`` has a
semicircle spectrum of radius ``2 M / pi``, centred on 0); e.g. a 5 GHz chamber with 1 MHz
mode spacing has ``f = 5 GHz + w x 1 MHz``. The ``K`` read-out frequencies are evenly spaced
over ``|w| <= 0.6 x 2 M / pi``. ``loss`` (``gamma``) and ``port_coupling`` (mean radiative
width per port and mode) are in the same units.

States: inputs are assumed in ``[0, 1]`` (clamped outside). ``bits`` = 1 or 2 gives
``L = 2**bits`` levels ``s in {0, 1/(L-1), ..., 1}``, the nearest level to ``x`` (thresholds at
the midpoints ``(i + 1/2) / (L - 1)``; ties go up): for 1 bit, ``s = 1`` iff ``x >= 0.5``. The
output depends on ``x`` only through these states. The real device is not differentiable in
``x``; the digital twin uses a straight-through estimator (forward: the quantised states;
backward: ``ds/dx = 1`` inside ``[0, 1]``) through the exact continuous-state model.

Fast path: ``S = (G - 2I)(G + 2I)^-1`` with ``G = D (j(w - H) + gamma)^-1 D^T`` evaluated
from one symmetric eigendecomposition of ``H(s)`` per sample for all ``K`` frequencies (the
Woodbury identity for the rank-2 radiative loss). When gradients are needed the twin solves
``A(w)`` directly (slower, robust at near-degenerate modes); tests check both agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.nonidealities import NonIdeality

BAND_FRACTION = 0.6  # read-out band, as a fraction of the GOE semicircle radius


def quantise(x: Tensor, bits: int) -> Tensor:
    """Nearest of ``2**bits`` evenly spaced states in ``[0, 1]`` (ties up), straight-through."""
    levels = 2**bits - 1
    clamped = x.clamp(0.0, 1.0)
    states = torch.floor(clamped * levels + 0.5) / levels
    return clamped + (states - clamped).detach()


class MicrowaveMetasurfaceCavity(PhysicalSystem):
    """Metasurface states -> chaotic-cavity coupled-mode model -> ``|S21|`` at ``n_out`` freqs.

    Args:
        n_in: metasurface elements (drive channels), inputs in ``[0, 1]``.
        n_out: read-out frequencies ``K``.
        bits: 1 or 2 bits per element.
        n_modes: cavity modes ``M`` (cost ~ ``M^3`` per sample).
        loss: uniform absorption rate ``gamma`` (mean mode spacings), ``>= 0``.
        port_coupling: mean radiative width per antenna and mode (mean mode spacings), ``> 0``.
        tuning: mean detuning strength of an element switched fully on (mean mode spacings).
        nonidealities: measurement effects (noise, drift, ADC, ...).
        seed: selects the device (cavity, antennas, metasurface) and seeds the noise.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        bits: int = 1,
        n_modes: int = 16,
        loss: float = 0.25,
        port_coupling: float = 0.5,
        tuning: float = 2.0,
        nonidealities: Sequence[NonIdeality] = (),
        seed: int = 0,
    ) -> None:
        super().__init__(n_in, n_out, nonidealities, seed)
        if bits not in (1, 2):
            raise ValueError(f"bits must be 1 or 2 (states per element 2 or 4), got {bits}")
        if n_modes < 2:
            raise ValueError(f"n_modes must be >= 2, got {n_modes}")
        if loss < 0:
            raise ValueError(f"loss must be >= 0 (a passive cavity), got {loss}")
        if port_coupling <= 0 or tuning <= 0:
            raise ValueError(
                f"port_coupling and tuning must be > 0, got {port_coupling} and {tuning}"
            )
        M = self.n_modes = int(n_modes)
        self.bits, self.loss = int(bits), float(loss)
        gen = torch.Generator().manual_seed(self.seed)
        goe = torch.randn(M, M, generator=gen, dtype=torch.float64)
        goe = (goe + goe.T) / math.sqrt(2)  # off-diagonal variance 1: radius 2 sqrt(M)
        self.register_buffer("h0", (goe * math.sqrt(M) / math.pi).float())  # radius 2M/pi
        width = math.sqrt(2 * port_coupling)  # <D^2> / 2 = port_coupling
        self.register_buffer("ports", width * torch.randn(2, M, generator=gen))
        self.register_buffer("fields", torch.randn(self.n_in, M, generator=gen) / math.sqrt(M))
        sign = torch.where(torch.rand(self.n_in, generator=gen) < 0.5, -1.0, 1.0)
        magnitude = tuning * (0.5 + torch.rand(self.n_in, generator=gen))
        self.register_buffer("detuning", sign * magnitude)
        edge = BAND_FRACTION * 2 * M / math.pi
        self.frequencies = torch.linspace(-edge, edge, self.n_out, dtype=torch.float64)

    # -- the model ---------------------------------------------------------------------
    def states(self, x: Tensor) -> Tensor:
        """Element states in ``[0, 1]`` (quantised, straight-through), ``[B, n_in]``."""
        return quantise(x, self.bits)

    def hamiltonian(self, states: Tensor) -> Tensor:
        """``H(s) = H0 + sum_j s_j t_j u_j u_j^T``, ``[B, M, M]`` (symmetric)."""
        M = self.n_modes
        h0 = 0.5 * (self.h0 + self.h0.T)  # stays symmetric when a perturbation hits h0
        loads = (self.fields[:, :, None] * self.fields[:, None, :]).reshape(self.n_in, M * M)
        shift = (states * self.detuning.to(states.dtype)) @ loads.to(states.dtype)
        return h0.to(states.dtype) + shift.reshape(-1, M, M)

    def _omega(self, like: Tensor) -> Tensor:
        return self.frequencies.to(device=like.device, dtype=like.dtype)

    def coupling_matrix(self, h: Tensor) -> Tensor:
        """``G(w) = D (j(w - H) + gamma)^-1 D^T`` entries (11, 22, 12): ``[B, K, 3]`` complex.

        One eigendecomposition ``H = V diag(lam) V^T`` per sample serves every frequency.
        """
        lam, vec = torch.linalg.eigh(h)
        w = self.ports.to(h.dtype) @ vec  # [B, 2, M]: antennas projected on eigenmodes
        pairs = torch.stack([w[:, 0] ** 2, w[:, 1] ** 2, w[:, 0] * w[:, 1]], -1)
        omega = self._omega(lam)
        denom = torch.complex(
            torch.full_like(lam[:, None, :].expand(-1, omega.shape[0], -1), self.loss),
            omega[None, :, None] - lam[:, None, :],
        )
        return denom.reciprocal() @ pairs.to(denom.dtype)

    def s_matrix(self, x: Tensor) -> Tensor:
        """Full 2x2 scattering matrix ``S = (G - 2I)(G + 2I)^-1``, ``[B, K, 2, 2]`` complex."""
        g11, g22, g12 = self.coupling_matrix(self.hamiltonian(self.states(x))).unbind(-1)
        det = (g11 + 2) * (g22 + 2) - g12 * g12
        s11 = ((g11 - 2) * (g22 + 2) - g12 * g12) / det
        s22 = ((g22 - 2) * (g11 + 2) - g12 * g12) / det
        s21 = 4 * g12 / det  # = s12: the closed form is symmetric by construction
        return torch.stack([torch.stack([s11, s21], -1), torch.stack([s21, s22], -1)], -2)

    def s_matrix_dense(self, x: Tensor) -> Tensor:
        """Reference ``S = -I + D A(w)^-1 D^T``, a direct solve per frequency: ``[B, K, 2, 2]``."""
        h = self.hamiltonian(self.states(x))
        ctype = torch.complex128 if h.dtype == torch.float64 else torch.complex64
        d = self.ports.to(h.dtype)
        M = self.n_modes
        eye = torch.eye(M, dtype=h.dtype, device=h.device)
        omega = self._omega(h)[None, :, None, None]
        real = (self.loss * eye + 0.5 * d.T @ d).expand(h.shape[0], omega.shape[1], M, M)
        a = torch.complex(real, omega * eye - h[:, None])
        sol = torch.linalg.solve(a, d.T.to(ctype).expand(*a.shape[:2], M, 2))
        s = d.to(ctype) @ sol
        return s - torch.eye(2, dtype=ctype, device=h.device)

    def _physics(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled() and x.requires_grad:  # the twin: robust gradients
            return self.s_matrix_dense(x)[..., 1, 0].abs()
        g11, g22, g12 = self.coupling_matrix(self.hamiltonian(self.states(x))).unbind(-1)
        return (4 * g12 / ((g11 + 2) * (g22 + 2) - g12 * g12)).abs()
