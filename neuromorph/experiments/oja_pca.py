"""oja-pca: Oja's and Sanger's rules recover the principal components of a known Gaussian.

Samples ``x ~ N(0, U diag(lambda) U^T)`` with a random orthonormal ``U`` and the spectrum
``lambda_k = lambda_0 ratio^k`` are streamed in mini-batches to a linear neuron ``y = W x``:

* Oja (one output): ``dw = eta <y (x - y w)>`` -> the first principal component, ``||w|| = 1``;
* Sanger's GHA (``components`` outputs): ``dW = eta (<y x^T> - LT(<y y^T>) W)`` -> row ``k`` is
  the ``k``-th principal component.

The learning rate decays as ``eta_t = eta_0 / (1 + t / t_half)`` (samples). Reported: the angle
(degrees, sign-free) between each learned vector and the true component, over training and at
the end, next to the sample-PCA angle of the same data (the best any estimator can do from
these samples). Default (a few seconds): 10 dimensions, 4 components, 40 000 samples; larger
runs: ``--set dim=50 components=8 samples=400000``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from neuromorph.experiments.config import ExperimentConfig  # noqa: E402
from neuromorph.experiments.plasticity_figures import oja_figures  # noqa: E402
from neuromorph.experiments.rundir import RunDir  # noqa: E402
from neuromorph.learning_rules.plasticity import Oja, Sanger  # noqa: E402
from neuromorph.models import linear_map  # noqa: E402

SUMMARY = "Oja and Sanger (GHA) rules recover the principal components of a known Gaussian"


@dataclass
class Config(ExperimentConfig):
    dim: int = 10
    components: int = 4  # Sanger outputs
    eig0: float = 4.0  # largest variance
    ratio: float = 0.6  # lambda_k = eig0 * ratio^k
    samples: int = 40000
    batch: int = 8
    lr: float = 0.02
    t_half: int = 5000  # samples until the learning rate halves
    eval_every: int = 800  # samples
    threshold_deg: float = 5.0

    def __post_init__(self) -> None:
        self.check(self.dim >= 2, f"dim must be >= 2, got {self.dim}")
        self.check(1 <= self.components <= self.dim, "components must be in [1, dim]")
        self.check(self.eig0 > 0 and 0 < self.ratio < 1, "need eig0 > 0 and 0 < ratio < 1")
        self.check(self.samples >= self.batch >= 1, "need samples >= batch >= 1")
        self.check(self.lr > 0 and self.t_half > 0, "lr and t_half must be > 0")
        self.check(self.eval_every >= self.batch, "eval_every must be >= batch")
        self.check(self.threshold_deg > 0, "threshold_deg must be > 0")


def angles_deg(w: torch.Tensor, u: torch.Tensor) -> np.ndarray:
    """Sign-free angle (degrees) between row ``k`` of ``w`` and column ``k`` of ``u``."""
    k = w.shape[0]
    cos = (w * u[:, :k].T).sum(1).abs() / (w.norm(dim=1) * u[:, :k].norm(dim=0))
    return np.degrees(np.arccos(np.clip(cos.numpy(), 0.0, 1.0)))


def gaussian(cfg: Config) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x [samples, dim], U [dim, dim], lambda [dim])`` with a seeded random basis."""
    g = torch.Generator().manual_seed(cfg.seed)
    u, _ = torch.linalg.qr(torch.randn(cfg.dim, cfg.dim, generator=g, dtype=torch.float64))
    lam = cfg.eig0 * cfg.ratio ** torch.arange(cfg.dim, dtype=torch.float64)
    x = torch.randn(cfg.samples, cfg.dim, generator=g, dtype=torch.float64) * lam.sqrt()
    return x @ u.T, u, lam


def main(cfg: Config, out_dir: Path, progress: bool = True) -> Path:
    run = RunDir(out_dir, "oja-pca", cfg)
    x, u, lam = gaussian(cfg)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    w_oja = 0.1 * torch.randn(1, cfg.dim, generator=g, dtype=torch.float64)
    w_gha = 0.1 * torch.randn(cfg.components, cfg.dim, generator=g, dtype=torch.float64)
    oja, gha = Oja(cfg.lr), Sanger(cfg.lr)
    seen, curve = [], {"oja": [], "sanger": []}
    hit: dict[str, float] = {}
    for start in tqdm(range(0, cfg.samples, cfg.batch), desc="oja-pca", disable=not progress):
        xb = x[start : start + cfg.batch]
        oja.lr = gha.lr = cfg.lr / (1 + start / cfg.t_half)
        w_oja += oja.update(xb, None, w_oja)[0]
        w_gha += gha.update(xb, None, w_gha)[0]
        n = start + len(xb)
        if n % cfg.eval_every < cfg.batch or n == cfg.samples:
            seen.append(n)
            for name, w in (("oja", w_oja), ("sanger", w_gha)):
                a = angles_deg(w, u)
                curve[name].append(a)
                if name not in hit and a.max() < cfg.threshold_deg:
                    hit[name] = n
    sample_pca = torch.linalg.eigh(x.T @ x / len(x)).eigenvectors.flip(1).T
    a_oja, a_gha = curve["oja"][-1], curve["sanger"][-1]
    a_pca = angles_deg(sample_pca[: cfg.components], u)
    metrics = {
        "oja_angle_deg": float(a_oja[0]),
        "oja_weight_norm": float(w_oja.norm()),
        "sanger_max_angle_deg": float(a_gha.max()),
        "sample_pca_max_angle_deg": float(a_pca.max()),
        "sanger_orthonormality_error": float((w_gha @ w_gha.T - torch.eye(cfg.components,
                                                                        dtype=w_gha.dtype))
                                             .abs().max()),
        "oja_samples_to_threshold": float(hit.get("oja", math.nan)),
        "sanger_samples_to_threshold": float(hit.get("sanger", math.nan)),
        "converged": float(a_oja[0] < cfg.threshold_deg and a_gha.max() < cfg.threshold_deg),
    }
    for k, a in enumerate(a_gha):
        metrics[f"sanger_angle_deg_pc{k + 1}"] = float(a)
    lines = [f"oja-pca: {cfg.dim}-D Gaussian, spectrum {cfg.eig0} x {cfg.ratio}^k, "
             f"{cfg.samples} samples",
             f"Oja    -> PC1: {a_oja[0]:.2f} deg (|w| = {float(w_oja.norm()):.3f})"]
    lines += [f"Sanger -> PC{k + 1}: {a:.2f} deg (sample PCA {a_pca[k]:.2f} deg)"
              for k, a in enumerate(a_gha)]
    lines.append(f"converged below {cfg.threshold_deg} deg: {bool(metrics['converged'])}")
    text = "\n".join(lines)
    print(text)
    run.write_text("results.txt", text + "\n")
    run.write_metrics(metrics)
    figures = oja_figures(seen, np.array([a[0] for a in curve["oja"]]),
                          np.array(curve["sanger"]), a_pca, cfg.threshold_deg, w_oja.numpy(),
                          w_gha.numpy(), u.numpy())
    for name, fig in figures.items():
        run.save_figure(fig, name)
    run.save_network(linear_map(w_gha), info={"rule": "sanger"})  # y = W x: the k PCs
    run.save_network(linear_map(w_oja), info={"rule": "oja"}, name="oja")
    run.save_model({"true_components": u, "variances": lam}, "data")
    return run.path
