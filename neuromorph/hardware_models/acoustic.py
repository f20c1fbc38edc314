"""Acoustic cavity: loudspeaker tones driving coupled nonlinear membranes, heard by a microphone.

The synthetic counterpart of the PhyLL acoustic layer (Momeni et al., Science 2023): ``n_in``
loudspeakers each play one tone whose amplitude is an input, into a small cavity closed by ``M``
coupled membranes with cubic (Duffing) stiffness; a microphone records the sound and the output
is the spectrum at ``n_out`` frequencies.

Physics (dimensionless; see "Units"). The cavity is small compared with the wavelength, so the
speakers set a uniform pressure ``p(t)`` that pushes every membrane::

    p(t)    = sum_k a_k s_k cos(w_k t + phi_k),      a = gain * |x| / ||x||_2
    q_j''   = b_j p(t) - (K q)_j - beta_j q_j^3 - 2 zeta_j w0_j q_j'
    K       = diag(w0^2) + C                          (C symmetric: mechanical coupling)
    m(t)    = sum_j c_j q_j(t)                        (microphone)
    y_i     = |(2 / N_w) sum_n m(t_n) exp(-i v_i t_n)| / gain   over the steady-state window

Input normalisation as in the paper: the drive vector is ``|x|`` scaled to unit L2 norm, times
``gain`` (so ``c * x`` gives the same output for every ``c != 0``; ``x = 0`` is silence).
Outputs are spectral amplitudes per unit drive level (divided by ``gain``): a linear cavity's
outputs would not depend on ``gain``, so their change with ``gain`` is the nonlinearity.

Units: time in ``1 / w_ref`` (``w_ref = 2 pi f_ref``, e.g. ``f_ref = 500 Hz``), displacement
in ``q_ref``, the amplitude at which a membrane's cubic restoring force equals its linear one
(``beta = 1``), force per mass (pressure) in ``w_ref^2 q_ref``. Membrane frequencies ``w0`` lie
in ``[0.8, 1.8]``, damping ratios ``zeta`` in ``[0.06, 0.12]`` (quality factors 4-8), cubic
stiffnesses ``beta`` in ``[0.5, 1.5]``.

Frequencies: all tones ``w_k`` and read-out frequencies ``v_i`` are distinct integer multiples
of ``dw = 2 pi / T_w``, so the ``T_w`` window holds whole periods (a leakage-free DFT) and the
intermodulation products of the cubic stiffness (``2 w_a - w_b``, ``w_a + w_b - w_c``) land on
the read-out grid. Tones lie in ``TONE_BAND``, read-outs in ``READ_BAND``: some read-outs
coincide with a tone (linear response plus nonlinear corrections), the others hear only
intermodulation (purely nonlinear, growing as ``gain^3`` at weak drive). At the default
``gain = 0.1`` about 20 % of the output norm is nonlinear; at ``gain = 0.01``, 0.2 %.

Integration: exponential (exact) propagation of the damped coupled linear part over ``dt``,
alternating with a kick by the pressure and the cubic force (Lie-Trotter splitting, which
iterated equals Strang splitting: second order). It is exact in the linear regime for any
``dt``; the cubic kick needs ``sqrt(3 beta) |q| dt < 2``. Membrane amplitudes reach
``|q| ~ 0.9`` at ``gain = 0.1`` and ``~ 1.9`` at ``MAX_GAIN = 0.3``, so the default step
shrinks with the drive: ``dt = 0.5 * min(1, 0.1 / gain)``. The discretisation error is
second order in ``dt`` and acts like a slight detuning of the device: at ``gain = 0.1`` and
``dt = 0.5`` typical spectra agree with ``dt -> 0`` to 0.2-2 % (device-dependent), though a
sample close to a Duffing jump can differ by ~10 %, as a real device would under such a
detuning. Pass a smaller ``dt`` for a closer match (the cost grows as ``1 / dt``).

Protocol: the state starts on the exact steady state of the discrete *linear* scheme (scaled
down where it would exceed the cubic kick's range), the speakers play for
``3.5 / min(zeta w0)`` (3.5 e-folds of the slowest ring-down, rounded up to eighths of the
window) and the microphone records the window ``[0, T_w)``. Only the nonlinear transient has
to decay, so at weak drive the intermodulation read-outs scale exactly as ``gain^3``. The
hardening Duffing response can be bistable near resonance; this fixed protocol picks one
branch deterministically. Cost: ``O(N_steps * M^2 * B)`` with ``N_steps ~ 450`` for
``n_in = 20`` at ``dt = 0.5`` (the window grows with ``n_in``: ``T_w = 2 pi / dw``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from neuromorph.hardware_models.base import PhysicalSystem
from neuromorph.hardware_models.nonidealities import NonIdeality

TONE_BAND = (0.8, 1.8)  # speaker tones, in w_ref
READ_BAND = (0.75, 1.85)  # microphone read-out frequencies, in w_ref
MAX_GAIN = 0.3  # strongest drive checked stable (default dt), also for mismatched twins
_TRANSIENT_EFOLDS = 3.5
_TINY = 1e-30


class CavityMatrices(NamedTuple):
    """One step of the split scheme, ``z' = P z + g p + Q q^3`` with ``z = [q; q']``.

    Each matrix has one extra last row that reads the microphone ``c . q`` of the state
    before the step (rows of zeros in ``Q`` and ``g``), so a step is three matrix products.
    """

    P: Tensor  # [2M + 1, 2M]: exact propagator exp(A dt) of the damped linear part; [c, 0]
    g: Tensor  # [2M + 1, 1]:  pressure kick dt * exp(A dt)[:, M:] b; 0
    Q: Tensor  # [2M + 1, M]:  cubic kick -dt * exp(A dt)[:, M:] diag(beta); 0


def cavity_step(p: Tensor, z: Tensor, m: CavityMatrices) -> tuple[Tensor, Tensor]:
    """Functional core: pressure ``p`` [1, B], state ``z`` [2M, B] -> (mic [1, B], next z).

    The microphone samples the state before the step. The state is feature-major (columns
    are samples) so that the displacement block ``z[:M]`` is contiguous.
    """
    q = z[: m.Q.shape[1]]
    out = torch.mm(m.P, z)  # fresh tensor, not saved by autograd: safe to update in place
    out.addmm_(m.Q, q.pow(3))
    out.addmm_(m.g, p)
    return out[-1:], out[:-1]


def _pick_bins(n: int, band: tuple[float, float], dw: float, gen: torch.Generator) -> Tensor:
    """``n`` distinct integer bins in ``band`` (widened upwards if it holds too few)."""
    lo = math.ceil(band[0] / dw)
    span = max(math.floor(band[1] / dw) - lo + 1, n)
    return lo + torch.randperm(span, generator=gen)[:n].sort().values


class AcousticCavity(PhysicalSystem):
    """Loudspeaker tones -> ``M`` coupled Duffing membranes -> microphone spectrum.

    Args:
        n_in: loudspeaker tones (drive channels).
        n_out: read-out frequencies of the microphone spectrum.
        n_resonators: membranes ``M``.
        gain: drive level of the unit-norm input (pressure units); ``<= MAX_GAIN``. About 0.01
            is nearly linear; the default 0.1 is clearly nonlinear.
        dt: largest integration step (``1 / w_ref``), in ``(0, 0.5]``; default
            ``0.5 * min(1, 0.1 / gain)``, which keeps ``sqrt(3 beta) |q| dt < 1``.
        nonidealities: measurement effects (noise, drift, ADC, ...).
        seed: selects the device (membranes, couplings, tones, phases) and seeds the noise.
    """

    def __init__(
        self,
        n_in: int = 20,
        n_out: int = 20,
        n_resonators: int = 8,
        gain: float = 0.1,
        dt: float | None = None,
        nonidealities: Sequence[NonIdeality] = (),
        seed: int = 0,
    ) -> None:
        super().__init__(n_in, n_out, nonidealities, seed)
        if n_resonators < 1:
            raise ValueError(f"n_resonators must be >= 1, got {n_resonators}")
        if not 0 < gain <= MAX_GAIN:
            raise ValueError(
                f"gain must be in (0, {MAX_GAIN}] (the cubic kick's stability range), got {gain}"
            )
        if dt is None:
            dt = 0.5 * min(1.0, 0.1 / gain)
        if not 0 < dt <= 0.5:
            raise ValueError(f"dt must be in (0, 0.5] (units 1/w_ref), got {dt}")
        M = self.n_resonators = int(n_resonators)
        self.gain = float(gain)
        gen = torch.Generator().manual_seed(self.seed)

        def uniform(lo: float, hi: float, n: int) -> Tensor:
            return lo + (hi - lo) * torch.rand(n, generator=gen)

        self.register_buffer("omega0", uniform(0.8, 1.8, M))  # membrane frequencies
        self.register_buffer("zeta", uniform(0.06, 0.12, M))  # damping ratios
        self.register_buffer("beta", uniform(0.5, 1.5, M))  # cubic (hardening) stiffness
        coupling = 0.05 * torch.randn(M, M, generator=gen)
        self.register_buffer("coupling", torch.triu(coupling, 1) + torch.triu(coupling, 1).T)
        self.register_buffer("membrane_area", uniform(0.5, 1.5, M))  # b_j: pressure -> force
        self.register_buffer("mic_weight", torch.randn(M, generator=gen) / math.sqrt(M))
        self.register_buffer("speaker_gain", uniform(0.7, 1.3, self.n_in))
        self.register_buffer("speaker_phase", uniform(0.0, 2 * math.pi, self.n_in))

        # Read-out design (integers, not physical constants: never perturbed).
        n_bins = max(26, math.ceil(1.3 * self.n_in))
        self.dw = (TONE_BAND[1] - TONE_BAND[0]) / n_bins
        self.register_buffer("tone_bins", _pick_bins(self.n_in, TONE_BAND, self.dw, gen))
        self.register_buffer("read_bins", _pick_bins(self.n_out, READ_BAND, self.dw, gen))
        # The transient is a whole number of eighths of the window, so the switch-on time
        # (hence the drive phases at switch-on) does not depend on dt.
        window = 2 * math.pi / self.dw
        slowest = float((self.zeta * self.omega0).min())
        eighths = math.ceil(_TRANSIENT_EFOLDS / slowest / (window / 8))
        self.n_window = 8 * math.ceil(window / dt / 8)
        self.dt = window / self.n_window
        self.n_transient = eighths * self.n_window // 8

    # -- the model ---------------------------------------------------------------------
    def stiffness(self) -> Tensor:
        """``K = diag(w0^2) + C`` (float64)."""
        return torch.diag(self.omega0.double() ** 2) + self.coupling.double()

    def matrices(self, dtype: torch.dtype = torch.float32) -> CavityMatrices:
        """The step matrices for this ``dt`` (built in float64 from the physical constants)."""
        M = self.n_resonators
        # A perturbed device (mismatched twin, Perturbation) stays physical: dissipative,
        # hardening, with positive membrane frequencies.
        zeta = self.zeta.double().clamp_min(1e-3)
        omega0 = self.omega0.double().clamp_min(0.1)
        beta = self.beta.double().clamp_min(0.05)
        A = torch.zeros(2 * M, 2 * M, dtype=torch.float64, device=self.omega0.device)
        A[:M, M:] = torch.eye(M, dtype=torch.float64)
        A[M:, :M] = -(torch.diag(omega0**2) + self.coupling.double())
        A[M:, M:] = -torch.diag(2 * zeta * omega0)
        P = torch.linalg.matrix_exp(A * self.dt)
        zero = torch.zeros(1, M, dtype=torch.float64, device=P.device)
        kick = torch.cat([P[:, M:] * self.dt, zero])  # a velocity kick, propagated; no mic
        mic = torch.cat([self.mic_weight.double()[None], zero], 1)  # reads q, not q'
        return CavityMatrices(
            P=torch.cat([P, mic]).to(dtype),
            g=(kick @ self.membrane_area.double())[:, None].to(dtype),
            Q=(-kick * beta).to(dtype),
        )

    def drive_amplitudes(self, x: Tensor) -> Tensor:
        """``a = gain * |x| / ||x||_2`` (robust to huge and all-zero rows), ``[B, n_in]``."""
        u = x.abs()
        u = u / u.amax(1, keepdim=True).clamp_min(_TINY)  # pre-scale: no overflow in the norm
        return self.gain * u / u.norm(dim=1, keepdim=True).clamp_min(_TINY)

    def energy(self, z: Tensor) -> Tensor:
        """Mechanical energy per sample, ``v.v/2 + q.K q/2 + sum beta q^4/4``; z is [2M, B]."""
        M = self.n_resonators
        q, v = z[:M].double(), z[M:].double()
        potential = 0.5 * (q * (self.stiffness() @ q)).sum(0)
        quartic = 0.25 * (self.beta.double()[:, None] * q**4).sum(0)
        return 0.5 * (v * v).sum(0) + potential + quartic

    def free_decay(self, z0: Tensor, n_steps: int) -> Tensor:
        """Ring-down without drive from state ``z0`` [2M, B]: energies ``[n_steps + 1, B]``."""
        m = self.matrices(z0.dtype)
        silence = torch.zeros(1, z0.shape[1], dtype=z0.dtype, device=z0.device)
        z, energies = z0, [self.energy(z0)]
        for _ in range(n_steps):
            z = cavity_step(silence, z, m)[1]
            energies.append(self.energy(z))
        return torch.stack(energies)

    def _physics(self, x: Tensor) -> Tensor:
        dtype, device = x.dtype, x.device
        m = self.matrices(dtype)
        a = self.drive_amplitudes(x) * self.speaker_gain.to(dtype)  # [B, n_in]
        n_total = self.n_transient + self.n_window
        t = torch.arange(n_total, dtype=torch.float64, device=device) - self.n_transient
        t = t * self.dt
        w_tone = self.tone_bins.double() * self.dw
        phase = w_tone[:, None] * t[None, :] + self.speaker_phase.double()[:, None]
        pressure = (a @ torch.cos(phase).to(dtype)).T.unsqueeze(1)  # [N, 1, B]

        # Start on the exact steady state of the discrete *linear* scheme, so that only the
        # nonlinear transient has to decay: z_n = Re sum_k a_k h_k exp(i theta_kn) with
        # h_k = (exp(i w_k dt) I - P)^-1 g. Where that state is too large for the cubic kick
        # (strong drive), it is scaled down to |q| <= 1 / (dt sqrt(3 max beta)).
        n_state = 2 * self.n_resonators
        eye = torch.eye(n_state, dtype=torch.complex128, device=device)
        rot = torch.exp(1j * w_tone * self.dt)[:, None, None]
        P, g = m.P[:-1].to(torch.complex128), m.g[:-1].to(torch.complex128)
        h = torch.linalg.solve(rot * eye - P, g)
        h = h[..., 0] * torch.exp(1j * phase[:, 0])[:, None]  # [n_in, 2M]
        z = h.real.to(dtype).T @ a.T  # [2M, B]
        cap = 1.0 / (self.dt * math.sqrt(3 * float(self.beta.max().clamp_min(0.05))))
        peak = z[: self.n_resonators].abs().amax(0, keepdim=True)
        z = z * (cap / peak.clamp_min(cap))
        mics = []
        for n in range(n_total):
            mic, z = cavity_step(pressure[n], z, m)
            if n >= self.n_transient:
                mics.append(mic)
        signal = torch.cat(mics)  # [N_w, B]
        if not torch.isfinite(signal[-1]).all():
            raise FloatingPointError(
                f"{self.name}: the integration diverged (gain={self.gain}, dt={self.dt:.3f}); "
                "lower the gain or dt, or the mismatch/perturbation of a twin"
            )

        tw = torch.arange(self.n_window, dtype=torch.float64, device=device) * self.dt
        w_read = self.read_bins.double() * self.dw
        arg = tw[None, :] * w_read[:, None]
        basis = torch.cat([torch.cos(arg), torch.sin(arg)]) * (2.0 / self.n_window)
        spectrum = basis.to(dtype) @ signal  # [2 n_out, B]
        power = spectrum[: self.n_out].square() + spectrum[self.n_out :].square()
        return power.clamp_min(_TINY).sqrt().T / self.gain
