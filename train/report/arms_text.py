"""report.md and the threshold plots of a sweep with curation arms (train/report/arms.py computes the numbers;
train/report/findings.py writes the sections that state what the study found)."""

from __future__ import annotations

import json
import re

import numpy as np
from matplotlib.figure import Figure

from train.report import findings


def _pm(mean: float, half: float) -> str:
    return f"{mean:.3f} ± {half:.3f}" if np.isfinite(half) else f"{mean:.3f} ± nan"


def _set(name: str) -> str:
    return "the mean over training sources" if name == "mean" else name


def render(data, arms: list[dict], effects: list[dict], noise: list[dict], verdict: dict, val: dict,
           plots: list[tuple[str, str]]) -> str:
    alpha = float(data.meta.get("alpha") or 0.05)
    parts = [f"# Curation study: {data.dir.name}", findings.noise_floor(noise, alpha), findings.controls(verdict),
             findings.primary(effects, noise, alpha), findings.parted(data), findings.exploratory(data, effects),
             _header(data, val),
             _loss_table(data, arms), _kept(data, arms),
             "## Plots\n\n" + ("\n\n".join(f"![{c}]({f})\n\n`{f}`: {c}." for f, c in plots)
                                if plots else "No threshold grid and no primary comparison in this sweep.")]
    return "\n\n".join(parts) + "\n"


def _header(data, val: dict) -> str:
    meta, train = data.meta, data.meta["train"]
    model, sessions = train["model"], meta.get("sessions", [])
    seconds = sum(s["seconds"] for s in sessions)
    seeds = sorted({r["entry"]["seed"] for r in data.rows})
    lines = ["| evaluation set | held-out documents | held-out tokens | tokens scored per run | split by |",
             "|---|---|---|---|---|"]
    for name, v in val.items():
        how = "chunks of id + index" if v["chunked"] else "document id"
        same = "" if v["same_in_every_run"] else " (DIFFERS between runs)"
        lines.append(f"| {name} | {v['val_docs']} | {_n(v['val_tokens'])} | {_n(v['eval_tokens'])}{same} | {how} |")
    return ("## Setup\n\n"
            f"{len(data.rows)} of {len(meta['runs'])} planned runs finished: {len(meta['arms'])} arms x seeds "
            f"{seeds}" + (f" x {len(meta['mixtures'])} mixtures" if len(meta["mixtures"]) > 1 else "") + ". "
            f"Every run: {train['tokens']:,} training tokens, a `{model['size']}` model (n_layer={model['n_layer']}, "
            f"n_embd={model['n_embd']}, block_size={model['block_size']}), one shared tokenizer (vocabulary "
            f"{train['tokenizer']['vocab_size']:,}); one seed gives every arm the same initial weights and batch "
            f"plan. Sweep wall time {seconds / 60:.1f} min over {len(sessions)} session(s). Losses are nats per "
            "token; bits per byte (the same tokens' loss over their UTF-8 bytes, independent of the tokenizer) are "
            "given beside them where the runs logged them.\n\n"
            "Validation is held out by id hash (val_fraction "
            f"{train['mix']['val_fraction']:g}) before any arm's filter, so every arm is scored on the same tokens:\n\n"
            + "\n".join(lines))


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "n/a"


def _loss_table(data, arms: list[dict]) -> str:
    mixes = sorted({a["mixture"] for a in arms})
    cells = {(a["arm"], a["mixture"], a["set"]): a for a in arms}
    head = "| arm |" + (" mixture |" if len(mixes) > 1 else "") + " " + " | ".join(data.sets) + " |"
    lines = [head, "|---|" + ("---|" if len(mixes) > 1 else "") + "---|" * len(data.sets)]
    for arm in data.arm_names():
        for m in mixes:
            if (arm, m, data.sets[0]) not in cells:
                continue
            vals = [_pm(cells[(arm, m, s)]["mean"], cells[(arm, m, s)]["half"]) for s in data.sets]
            lines.append(f"| {arm} |" + (f" m{m:02d} |" if len(mixes) > 1 else "") + " " + " | ".join(vals) + " |")
    n = sorted({a["seeds"] for a in arms})
    return ("## Validation loss per arm\n\nNats per token: mean ± half-width of the 95% t interval over seeds "
            f"(n = {', '.join(map(str, n))}). Arms share seeds, so compare them with the paired effects above, not "
            "with these intervals (which include the seed's own effect).\n\n" + "\n".join(lines))


def _effects_table(effects: list[dict]) -> str:
    lines = ["| arm | against | evaluation set | effect (nats) | seeds paired | interval excludes 0 | Bonferroni |",
             "|---|---|---|---|---|---|---|"]
    for e in (e for e in effects if e["pairs"] > 0):  # arms with no finished run yet are left out
        lines.append(f"| {e['arm']} | {e['reference']} | {e['set']} | {e['effect']:+.4f} ± {e['half']:.4f} | "
                     f"{e['pairs']} | {'yes' if e['significant'] else 'no'} | {'yes' if e['bonferroni'] else 'no'} |")
    return ("## Effects of each curation choice\n\nArm minus reference, seed by seed (negative: the arm lowers the "
            "loss), mean ± half-width of the 95% paired t interval.\n\n" + "\n".join(lines))


def _kept(data, arms: list[dict]) -> str:
    rows = {}
    for a in arms:
        rows.setdefault((a["arm"], a["mixture"]), a)
    base = next(iter(rows.values()))["kept_tokens"] or 1
    lines = ["| arm | unique training tokens kept | vs first arm | epochs per source |", "|---|---|---|---|"]
    for (arm, m), a in rows.items():
        epochs = ", ".join(f"{s} {v:.2f}" for s, v in json.loads(a["epochs"]).items())
        lines.append(f"| {arm} | {a['kept_tokens']:,} | {100 * a['kept_tokens'] / base:.0f}% | {epochs} |")
    return ("## Tokens kept per arm\n\nEvery arm trains on the same token budget: an arm that keeps fewer tokens "
            "repeats them more (epochs = tokens seen / unique training tokens of the source; a repeat_by arm "
            "reads its repeated documents more often).\n\n" + "\n".join(lines))


def draw_grids(data, arms: list[dict]) -> list[tuple[str, str]]:
    """One PNG per threshold grid: loss against threshold per evaluation set, and tokens kept."""
    plots = []
    for grid in sorted({a["grid"] for a in arms if a["grid"]}):
        rows = [a for a in arms if a["grid"] == grid]
        fig = Figure(figsize=(3.2 * (len(data.sets) + 1), 3.0), layout="constrained")
        for j, name in enumerate(data.sets):
            ax = fig.add_subplot(1, len(data.sets) + 1, j + 1)
            pts = sorted((a["threshold"], a["mean"], a["half"]) for a in rows if a["set"] == name)
            x, y, h = (np.array(v) for v in zip(*pts))
            ax.errorbar(x, y, yerr=np.where(np.isfinite(h), h, 0), fmt="o-", ms=4, capsize=2)
            base = [a for a in arms if a["set"] == name and a["arm"] == data.baseline()]
            if base:
                ax.axhline(base[0]["mean"], color="0.5", ls="--", lw=0.8, label=base[0]["arm"])
                ax.legend(fontsize=7)
            ax.set_xlabel(f"{grid} threshold")
            ax.set_ylabel(f"{name} val loss (nats)")
            ax.set_title(_set(name), fontsize=9)
        ax = fig.add_subplot(1, len(data.sets) + 1, len(data.sets) + 1)
        pts = sorted({(a["threshold"], a["kept_tokens"]) for a in rows})
        ax.plot([p[0] for p in pts], [p[1] / 1e6 for p in pts], "o-", color="C2")
        ax.set_xlabel(f"{grid} threshold")
        ax.set_ylabel("unique training tokens kept (M)")
        ax.set_title("tokens kept", fontsize=9)
        name = f"loss_vs_{re.sub(r'[^A-Za-z0-9_.-]+', '_', grid)}.png"
        fig.savefig(data.dir / name, dpi=100)
        caption = (f"validation loss (95% t interval over seeds) against the {grid} threshold, per evaluation set, "
                   "with the baseline arm dashed; right: unique training tokens kept")
        plots.append((name, caption))
    return plots
