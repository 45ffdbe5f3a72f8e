"""`curate audit` output: Markdown tables and matplotlib plots (Agg backend, PNG) of the audit numbers."""

from __future__ import annotations

from pathlib import Path

from curate.audit.data import ALL


def _fmt(x, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if pct else f"{x:.2f}"


def _cell(r: dict) -> str:
    if r["ratio"] is None:
        return "-" if r["entering_group"] == 0 else f"n/a ({r['removed_group']}/{r['entering_group']})"
    mark = "**" if r["flagged"] else ""
    low = "" if r["enough_docs"] else "~"
    return f"{mark}{low}{r['ratio']:.2f}{mark} ({r['removed_group']}/{r['entering_group']})"


def ratio_markdown(rows: list[dict], groups: list[str]) -> list[str]:
    """Steps x groups: ratio (removed/entering documents mentioning the group)."""
    steps = sorted({(r["position"], r["step"]) for r in rows})
    head = ["step", "removed (all)"] + [g.replace("_", " ") for g in groups]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for pos, step in steps:
        cells = {r["group"]: r for r in rows if r["step"] == step and r["position"] == pos}
        first = next(iter(cells.values()))
        lines.append(
            f"| {pos}. {step} | {_fmt(first['rate'], pct=True)} ({first['removed']}/{first['entering']}) | "
            + " | ".join(_cell(cells[g]) if g in cells else "-" for g in groups)
            + " |"
        )
    return lines


def share_markdown(rows: list[dict], groups: list[str]) -> list[str]:
    """Share of documents mentioning each group entering the first audited step and leaving the last."""
    steps = sorted({(r["position"], r["step"]) for r in rows})
    if not steps:
        return []
    first, last = steps[0], steps[-1]
    lines = ["| group | before the first filter | after the last filter | change |", "|---|---|---|---|"]
    for g in groups:
        a = next(r for r in rows if (r["position"], r["step"]) == first and r["group"] == g)
        b = next(r for r in rows if (r["position"], r["step"]) == last and r["group"] == g)
        change = (b["share_after"] - a["share_before"]) if b["share_after"] is not None else None
        lines.append(
            f"| {g.replace('_', ' ')} | {_fmt(a['share_before'], True)} | {_fmt(b['share_after'], True)} | "
            f"{'-' if change is None else f'{100 * change:+.1f} pts'} |"
        )
    return lines


def pronoun_markdown(rows: list[dict]) -> list[str]:
    lines = ["| stage | docs | he | she | they | she per he | they share |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['stage']} | {r['docs']} | {r.get('he', 0)} | {r.get('she', 0)} | {r.get('they', 0)} | "
            f"{_fmt(r['she_per_he'])} | {_fmt(r['they_share'], True)} |"
        )
    return lines


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_kind(r: dict | None) -> str:
    """How a ratio is drawn: ``bar``; ``noisy`` (fewer than --min-docs entering documents mention the group: the
    Markdown's ~); ``zero`` (a ratio of 0: none of the group's documents removed); ``none`` (no ratio: no document
    of the group entered the step, or the step removed nothing)."""
    if r is None or r["ratio"] is None:
        return "none"
    if r["ratio"] == 0:
        return "zero"
    return "bar" if r["enough_docs"] else "noisy"


def plot_ratios(rows: list[dict], groups: list[str], threshold: float, path: Path, title: str) -> list[dict]:
    """Grouped bars: one group of bars per filter step, one bar per identity group; a dashed line at threshold.
    Noisy bars are hatched and pale, a ratio of 0 is written "0" and a missing one "n/a", so neither is mistaken for
    the other. Returns what was drawn: [{step, group, ratio, kind}]."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    steps = sorted({(r["position"], r["step"]) for r in rows})
    fig, ax = plt.subplots(figsize=(max(7, 1.8 * len(steps) + 2), 4.5))
    width = 0.8 / max(1, len(groups))
    drawn, labels, handles = [], [], []
    for j, g in enumerate(groups):
        color = f"C{j % 10}"
        for i, (pos, step) in enumerate(steps):
            r = next((r for r in rows if (r["position"], r["step"]) == (pos, step) and r["group"] == g), None)
            kind, x = bar_kind(r), i + j * width
            drawn.append({"step": step, "group": g, "ratio": None if kind == "none" else r["ratio"], "kind": kind})
            if kind in ("bar", "noisy"):
                noisy = kind == "noisy"
                ax.bar(x, r["ratio"], width, color=color, alpha=0.35 if noisy else 1.0, hatch="///" if noisy else None,
                       edgecolor=color)
            else:
                labels.append((x, "0" if kind == "zero" else "n/a", color))
        handles.append(Patch(facecolor=color, edgecolor=color, label=g.replace("_", " ")))
    top = max([d["ratio"] for d in drawn if d["ratio"]] + [threshold])
    for x, text, color in labels:
        ax.text(x, 0.02 * top, text, ha="center", va="bottom", rotation=90, fontsize=6, color=color)
    handles.append(ax.axhline(threshold, color="red", linestyle="--", linewidth=1, label=f"flag > {threshold}"))
    ax.axhline(1.0, color="black", linewidth=0.5)
    handles.append(Patch(facecolor="white", edgecolor="gray", hatch="///", label="few documents (noisy)"))
    ax.set_xlim(-width, len(steps) - 0.2)
    ax.set_ylim(0, 1.25 * top)
    ax.set_xlabel('"0": none of the group removed;  "n/a": no ratio (none of the group entered, or none removed)',
                  fontsize=7)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(steps))], [s for _, s in steps], rotation=15, fontsize=8)
    ax.set_ylabel("removal rate (group) / removal rate (all)")
    ax.set_title(title, fontsize=10)
    ax.legend(handles=handles, fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return drawn


def plot_shares(rows: list[dict], groups: list[str], path: Path, title: str) -> None:
    """Share of documents mentioning each group before the first filter and after the last."""
    plt = _pyplot()
    steps = sorted({(r["position"], r["step"]) for r in rows})
    before = [
        next(r["share_before"] for r in rows if (r["position"], r["step"]) == steps[0] and r["group"] == g)
        for g in groups
    ]
    after = [
        next(r["share_after"] or 0.0 for r in rows if (r["position"], r["step"]) == steps[-1] and r["group"] == g)
        for g in groups
    ]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = range(len(groups))
    ax.bar([x - 0.2 for x in xs], [100 * b for b in before], 0.4, label="before filtering")
    ax.bar([x + 0.2 for x in xs], [100 * a for a in after], 0.4, label="after filtering")
    ax.set_xticks(list(xs), [g.replace("_", "\n") for g in groups], fontsize=8)
    ax.set_ylabel("% of documents mentioning")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pronouns(rows: list[dict], path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    stages = [r["stage"] for r in rows]
    for j, p in enumerate(("he", "she", "they")):
        ax.bar([i + 0.27 * j for i in range(len(rows))], [r.get(p, 0) for r in rows], 0.27, label=p)
    ax.set_xticks([i + 0.27 for i in range(len(rows))], stages)
    ax.set_ylabel("occurrences")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pooled(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["source"] == ALL and r["lang"] == ALL]
