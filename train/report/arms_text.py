"""report.md and the threshold plots of a sweep with curation arms (train/report/arms.py computes the numbers)."""

from __future__ import annotations

import json
import re

import numpy as np
from matplotlib.figure import Figure


def _pm(mean: float, half: float) -> str:
    return f"{mean:.3f} ± {half:.3f}" if np.isfinite(half) else f"{mean:.3f} ± nan"


def _set(name: str) -> str:
    return "the mean over training sources" if name == "mean" else name


def render(data, arms: list[dict], effects: list[dict], val: dict, plots: list[tuple[str, str]]) -> str:
    parts = [_header(data, val), _summary(data, effects), _loss_table(data, arms), _effects_table(effects),
             _kept(data, arms), "## Plots\n\n" + ("\n\n".join(f"![{c}]({f})\n\n`{f}`: {c}." for f, c in plots)
                                                  if plots else "No threshold grid in this sweep.")]
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
        lines.append(f"| {name} | {v['val_docs']} | {v['val_tokens']:,} | {v['eval_tokens']:,}{same} | {how} |")
    return (f"# Curation study: {data.dir.name}\n\n"
            f"{len(data.rows)} of {len(meta['runs'])} planned runs finished: {len(meta['arms'])} arms x seeds "
            f"{seeds}" + (f" x {len(meta['mixtures'])} mixtures" if len(meta["mixtures"]) > 1 else "") + ". "
            f"Every run: {train['tokens']:,} training tokens, a `{model['size']}` model (n_layer={model['n_layer']}, "
            f"n_embd={model['n_embd']}, block_size={model['block_size']}), one shared tokenizer (vocabulary "
            f"{train['tokenizer']['vocab_size']:,}); one seed gives every arm the same initial weights and batch "
            f"plan. Sweep wall time {seconds / 60:.1f} min over {len(sessions)} session(s).\n\n"
            "Validation is held out by id hash (val_fraction "
            f"{train['mix']['val_fraction']:g}) before any arm's filter, so every arm is scored on the same tokens:\n\n"
            + "\n".join(lines))


def _summary(data, effects: list[dict]) -> str:
    k = effects[0]["comparisons"] if effects else 0
    said = [e for e in effects if e["significant"]]
    lines = []
    for e in said:
        verb = "lowers" if e["effect"] < 0 else "raises"
        extra = "" if e["bonferroni"] else " (not after Bonferroni)"
        lines.append(f"- **{e['arm']}** {verb} {_set(e['set'])} loss by {abs(e['effect']):.3f} ± {e['half']:.3f} "
                     f"nats against **{e['reference']}**{extra}.")
    head = (f"{k} comparisons were made (each arm against its reference, on each of {len(data.sets)} evaluation "
            f"sets), each a 95% paired t interval over seeds; at that level about {0.05 * k:.1f} of them would "
            f"exclude zero by chance alone. {len(said)} interval(s) exclude zero"
            + (f", {sum(e['bonferroni'] for e in said)} of them also after a Bonferroni correction for {k}."
               if said else "."))
    body = "\n".join(lines) if lines else "No curation choice moved any loss beyond seed noise in this sweep."
    return "## Summary\n\n" + head + "\n\n" + body


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
            f"(n = {', '.join(map(str, n))}). Arms share seeds, so compare them with the paired effects below, not "
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
            base = [a for a in arms if a["set"] == name and a["arm"] == (data.meta.get("baseline") or
                                                                          data.arm_names()[0])]
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
