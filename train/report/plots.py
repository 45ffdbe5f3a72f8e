"""The report's plots, drawn with matplotlib's object API (Agg canvas, no pyplot state: safe in tests, workers and
notebooks alike). Each function returns a Figure; draw_all saves them as PNGs next to report.md."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation

from train.report import stats as st

H = np.sqrt(3) / 2  # height of the unit ternary triangle


def draw_all(data, effects: list[dict], law_fits: list[dict], held: dict, best: list[dict], target: str):
    """Save every plot that applies to this sweep; returns [(file name, one-line description)]."""
    plots = [("loss_vs_weight.png", loss_vs_weight(data, effects),
              ("each source's validation loss (rows) against each source's weight (columns): runs as dots, "
               "mixture means with 95% t intervals over seeds (clipped to the plotted range), the fitted slope"))]
    if len(data.names) == 3:
        plots.append(("ternary.png", ternary(data, law_fits, best),
                      ("the Data Mixing Law's predicted loss over every mixture of the three sources (colour), "
                       "the measured mixture means (dots, same colour scale) and the predicted best mixture (star)")))
    if any(h is not None for h in held.values()):
        plots.append(("held_out.png", held_out(data, held),
                      "leave-one-mixture-out: each mixture's mean loss predicted from the other mixtures' runs"))
    for name, fig, _ in plots:
        fig.savefig(data.dir / name, dpi=110)
    return [(name, caption) for name, _, caption in plots]


def loss_vs_weight(data, effects: list[dict]) -> Figure:
    """Rows: target losses; columns: raised sources (own weight only when there are more than four sources)."""
    n = len(data.names)
    pairs = [(t, r) for t in range(n) for r in range(n)] if n <= 4 else [(s, s) for s in range(n)]
    cols = n if n <= 4 else min(n, 4)
    rows = -(-len(pairs) // cols)
    fig = Figure(figsize=(3.4 * cols, 2.8 * rows), layout="constrained")
    slopes = {(e["raised"], e["target"]): e for e in effects}
    for k, (t, r) in enumerate(pairs):
        ax = fig.add_subplot(rows, cols, k + 1)
        x, y = data.weights[:, r], data.loss[:, t]
        ax.scatter(x, y, s=10, color="0.45", zorder=4, label="runs")
        for m in data.mixtures:
            mean, half, _ = st.t_interval(y[data.mixture == m])
            ax.errorbar(x[data.mixture == m][0], mean, yerr=half if np.isfinite(half) else None, fmt="o",
                        color="C0", ecolor=(0.12, 0.47, 0.71, 0.35), ms=4, capsize=2, zorder=3)
        e = slopes[(data.names[r], data.names[t])]
        if np.isfinite(e["slope"]):
            grid = np.linspace(x.min(), x.max(), 2)
            ax.plot(grid, y.mean() + e["slope"] * (grid - x.mean()), color="C3" if e["significant"] else "0.4",
                    lw=1.2, zorder=1)
        margin = 0.15 * max(np.ptp(y), 0.05)
        ax.set_ylim(y.min() - margin, y.max() + margin)
        ax.set_xlabel(f"{data.names[r]} weight")
        ax.set_ylabel(f"{data.names[t]} val loss (nats)")
        ax.set_title(f"{data.names[t]} loss vs {data.names[r]} weight", fontsize=9,
                     fontweight="bold" if r == t else "normal")
    return fig


def _xy(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric (., 3) -> plane: source 0 at (0, 0), source 1 at (1, 0), source 2 at the top."""
    return w[:, 1] + 0.5 * w[:, 2], H * w[:, 2]


def ternary(data, law_fits: list[dict], best: list[dict], steps: int = 60) -> Figure:
    """One triangle per target (each source, then the mean over sources)."""
    grid = np.array([(i, j, steps - i - j) for i in range(steps + 1) for j in range(steps + 1 - i)]) / steps
    gx, gy = _xy(grid)
    tri = Triangulation(gx, gy)
    targets = [*data.names, "mean"]
    fig = Figure(figsize=(3.6 * len(targets), 3.5), layout="constrained")
    explored = np.array([data.meta["mixtures"][m] for m in data.mixtures])
    ex, ey = _xy(explored)
    for j, target in enumerate(targets):
        ax = fig.add_subplot(1, len(targets), j + 1)
        index = j if j < len(data.names) else None
        surface = st.predict_target(law_fits, grid, index)
        observed = data.loss[:, j] if index is not None else data.loss.mean(axis=1)
        means = np.array([observed[data.mixture == m].mean() for m in data.mixtures])
        lo, hi = min(surface.min(), means.min()), max(surface.max(), means.max())
        filled = ax.tricontourf(tri, surface, levels=np.linspace(lo, hi, 15), cmap="viridis")
        ax.scatter(ex, ey, c=means, cmap="viridis", vmin=lo, vmax=hi, edgecolors="white", s=40, zorder=3)
        bx, by = _xy(np.array([best[j]["weights"]]))
        ax.scatter(bx, by, marker="*", s=160, color="red", edgecolors="white", zorder=4)
        for name, (x, y), ha in zip(data.names, [(0, 0), (1, 0), (0.5, H)], ("right", "left", "center")):
            ax.annotate(name, (x, y), xytext=(0, -12 if y == 0 else 6), textcoords="offset points", ha=ha,
                        fontsize=9)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(f"{target} val loss", fontsize=10, pad=16)
        fig.colorbar(filled, ax=ax, shrink=0.7, label="nats", format="%.2f")
    return fig


def held_out(data, held: dict) -> Figure:
    targets = [*data.names, "mean"]
    fig = Figure(figsize=(3.0 * len(targets), 3.0), layout="constrained")
    for j, target in enumerate(targets):
        ax = fig.add_subplot(1, len(targets), j + 1)
        title = []
        for model, marker in zip(st.MODELS, ("o", "x")):
            h = held.get(model)
            if h is None:
                continue
            obs, pred = h["observed"][:, j], h["predicted"][:, j]
            ax.scatter(obs, pred, marker=marker, label=model, s=20)
            title.append(f"{model} ρ={st.spearman(pred, obs):.2f}")
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8)
        ax.set_xlabel("measured (nats)")
        ax.set_ylabel("predicted, held out")
        ax.set_title(f"{target}\n" + ", ".join(title), fontsize=9)
        ax.legend(fontsize=7)
    return fig
