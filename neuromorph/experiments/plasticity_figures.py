"""Figures of the rate-based plasticity studies (bcm-selectivity, oja-pca), each with the
reference the theory or the data gives drawn beside the learned result.

- BCM: the fixed point of the Intrator-Cooper rule, where a selective neuron answers its
  pattern with ``y = K`` (``K`` patterns) and ``theta = E[y^2] = K^2 / K = K``;
- Oja / Sanger: the sample PCA of the same samples (the best any estimator can do from them).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from neuromorph import plot  # noqa: E402


def bcm_figures(times: Sequence[int], responses: np.ndarray, thetas: np.ndarray,
                si_initial: np.ndarray, si_final: np.ndarray, selective_at: float,
                shown: int = 4) -> dict[str, Figure]:
    """``selectivity``: responses of the first ``shown`` neurons to every pattern over training
    (``responses [time, pattern, neuron]``), each neuron's sliding threshold (``thetas [time,
    neuron]``), both beside the BCM fixed point ``K``, and the final responses as a heatmap
    with a colorbar; ``selectivity_histogram``: normalised selectivity before and after
    training against the ``selective_at`` threshold."""
    n_patterns, n_neurons = responses.shape[1], responses.shape[2]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
    for j in range(min(n_neurons, shown)):
        for k in range(n_patterns):
            axes[0].plot(times, responses[:, k, j], color=f"C{k % 10}", alpha=0.8, lw=1,
                         ls=("-", "--", "-.", ":")[j % 4],
                         label=f"pattern {k}" if j == 0 else None)
    for ax in axes[:2]:
        plot.reference_line(ax, float(n_patterns), f"BCM fixed point (K = {n_patterns})",
                            color="k", style=":")
    axes[0].set(xlabel="presentations", ylabel="response y (a.u.)",
                title=f"responses of neurons 0-{min(n_neurons, shown) - 1} (line style: neuron)")
    axes[0].legend(fontsize=7, ncol=2)
    axes[1].plot(times, thetas, lw=0.8, alpha=0.7)
    axes[1].plot([], [], color="C0", lw=0.8, label=f"theta of each neuron ({n_neurons})")
    axes[1].set(xlabel="presentations", ylabel="sliding threshold theta = E[y²] (a.u.)",
                title="sliding thresholds")
    axes[1].legend(fontsize=7)
    plot.heatmap(responses[-1], [f"pattern {k}" for k in range(n_patterns)],
                 [str(j) for j in range(n_neurons)], label="response y (a.u.)",
                 xlabel="neuron", title="final responses (noise-free patterns)", ax=axes[2])
    out = {"selectivity": fig}
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    plot.histograms({"initial": si_initial, "final": si_final}, bins=10, value_range=(0, 1),
                    xlabel="normalised selectivity index (1: one pattern only)", ax=ax)
    plot.reference_line(ax, selective_at, f"counted selective (>= {selective_at:g})",
                        color="k", style=":", vertical=True)
    ax.set_ylabel("neurons")
    ax.legend(fontsize=8)
    out["selectivity_histogram"] = fig
    return out


def _aligned(w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rows of ``w`` flipped so each points the way of its true component ``u[:, k]`` (a
    principal component is defined up to its sign)."""
    signs = np.sign((w * u[:, : w.shape[0]].T).sum(1))
    return w * np.where(signs == 0, 1.0, signs)[:, None]


def oja_figures(samples: Sequence[int], oja_angles: np.ndarray, sanger_angles: np.ndarray,
                pca_angles: np.ndarray, threshold_deg: float, w_oja: np.ndarray,
                w_sanger: np.ndarray, u: np.ndarray) -> dict[str, Figure]:
    """``angles``: angle (deg) of each learned vector to its true component over training
    (``oja_angles [time]``, ``sanger_angles [time, component]``), beside the sample PCA of
    the same data (dotted, same colour) and the threshold; ``weights``: learned vectors (sign
    aligned) above the true components, on one colour scale with a colorbar."""
    k = sanger_angles.shape[1]
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    ax.semilogy(samples, oja_angles, "k-", lw=2.4, label="Oja -> PC1")
    for c in range(k):
        line, = ax.semilogy(samples, sanger_angles[:, c], lw=1.3, color=f"C{c % 10}",
                            label=f"Sanger -> PC{c + 1}")
        ax.axhline(pca_angles[c], color=line.get_color(), ls=":", lw=1.2,
                   label="sample PCA of the same samples (dotted)" if c == 0 else None)
    plot.reference_line(ax, threshold_deg, f"threshold {threshold_deg:g} deg", color="r")
    ax.set(xlabel="samples seen", ylabel="angle to the true component (deg)",
           title="convergence to the principal components")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    out = {"angles": fig}
    rows = np.concatenate([_aligned(w_oja, u), _aligned(w_sanger, u), u[:, :k].T])
    labels = (["Oja"] + [f"Sanger {c + 1}" for c in range(k)]
              + [f"true PC{c + 1}" for c in range(k)])
    fig, ax = plt.subplots(figsize=(0.45 * u.shape[0] + 3, 0.3 * len(labels) + 1.4),
                           layout="constrained")
    plot.heatmap(rows, labels, [str(d) for d in range(u.shape[0])], cmap="RdBu", vmin=-1,
                 vmax=1, label="weight (unit-norm component)", xlabel="input dimension",
                 title="learned vectors (sign-aligned) above the true components", ax=ax)
    out["weights"] = fig
    return out


__all__ = ["bcm_figures", "oja_figures"]
