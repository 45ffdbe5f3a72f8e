"""report.md: the sweep's table, its effects in words, the fitted laws and the predicted best mixture."""

from __future__ import annotations

import json

import numpy as np
from scipy import stats

from train.report.stats import MODEL_TITLES


def render(data, table: list[dict], effects: list[dict], fits: list[dict], best: list[dict], target: str,
           plots: list[tuple[str, str]]) -> str:
    parts = [_header(data), _table(data, table), _effects(data, effects), _fits(data, fits),
             _best(data, best, target), "## Plots\n\n" + "\n\n".join(f"![{c}]({f})\n\n`{f}`: {c}." for f, c in plots)]
    return "\n\n".join(parts) + "\n"


def _pct(w: float) -> str:
    return f"{100 * w:.0f}%" if abs(100 * w - round(100 * w)) < 0.05 else f"{100 * w:.1f}%"


def _mix(names: list[str], weights) -> str:
    return ", ".join(f"{n} {_pct(w)}" for n, w in zip(names, weights))


def _header(data) -> str:
    meta, train = data.meta, data.meta["train"]
    model = train["model"]
    seconds = sum(s["seconds"] for s in meta.get("sessions", []))
    sessions = meta.get("sessions", [])
    last = next((s for s in reversed(sessions) if s["trained"]), sessions[-1] if sessions else {})  # one that trained
    return (
        f"# Mixture sweep: {data.dir.name}\n\n"
        f"{len(data.runs)} of {len(meta['runs'])} planned runs finished: {len(data.mixtures)} mixtures of "
        f"{', '.join(data.names)} x seeds {sorted(set(data.seeds.tolist()))}. Every run: {train['tokens']:,} "
        f"training tokens, a `{model['size']}` model (n_layer={model['n_layer']}, n_embd={model['n_embd']}, "
        f"block_size={model['block_size']}), lr {train['lr']:g}, one tokenizer shared by all runs "
        f"(vocabulary {train['tokenizer']['vocab_size']:,}). Validation: the documents of each source held out by "
        f"id hash (val_fraction {train['mix']['val_fraction']:g}), {train['eval_tokens']:,} tokens per source. "
        f"Sweep wall time {seconds / 60:.1f} min over {len(meta.get('sessions', []))} session(s)"
        + (f" ({last['workers']} worker(s) x {last['threads']} thread(s) on {last['cores']} cores)." if last else ".")
        + _validation(data)
    )


def _validation(data) -> str:
    """Held-out documents and tokens per source, from the first finished run's splits.json (the same in all)."""
    path = data.dir / "runs" / data.runs[0] / "splits.json" if data.runs else None
    if path is None or not path.is_file():
        return ""
    splits = json.loads(path.read_text())
    parts = [f"{name} {s['val_tokens']:,} held-out tokens ({s['val_docs']} document(s)"
             + (", held out by chunks" if s["chunked"] else "") + f"; {s['eval_tokens']:,} scored)"
             for name, s in splits.items() if name in data.names]
    return "\n\nValidation tokens per source: " + ", ".join(parts) + "."


def _table(data, table: list[dict]) -> str:
    targets = [*data.names, "mean"]
    cells = {(r["mixture"], r["target"]): r for r in table}
    head = "| mixture | " + " | ".join(data.names) + " | " + " | ".join(f"{t} loss" for t in targets) + " |"
    lines = [head, "|" + "---|" * (2 * len(data.names) + 2)]
    for m in data.mixtures:
        vals = [_pm(cells[(m, t)]["mean"], cells[(m, t)]["half"]) for t in targets]
        lines.append(f"| m{m:02d} | " + " | ".join(_pct(w) for w in data.meta["mixtures"][m]) + " | "
                     + " | ".join(vals) + " |")
    n = sorted({r["seeds"] for r in table})
    note = (f"Validation loss in nats per token: mean ± half-width of the 95% t interval over the seeds of each "
            f"mixture (n = {', '.join(map(str, n))}).")
    if 2 in n:
        note += (f" With 2 seeds that is t(0.975, 1) = {stats.t.ppf(0.975, 1):.1f} x the standard error, i.e. "
                 "6.4 x the gap between the two seeds: wide by construction. The effects below pool every run "
                 "and are much tighter.")
    if 1 in n:
        note += " A mixture with one finished seed has no interval (±nan)."
    return "## Validation loss per mixture\n\n" + "\n".join(lines) + "\n\n" + note


def _pm(mean: float, half: float) -> str:
    return f"{mean:.3f} ± {half:.3f}" if np.isfinite(half) else f"{mean:.3f} ± nan"


def _effects(data, effects: list[dict]) -> str:
    lines = []
    for raised in data.names:
        rows = sorted((e for e in effects if e["raised"] == raised), key=lambda e: e["target"] != raised)  # own 1st
        said = [f"{'lowers' if e['change'] < 0 else 'raises'} {_loss(e['target'])} by {abs(e['change']):.3f} ± "
                f"{e['change_half']:.3f} nats" for e in rows if e["significant"]]
        noise = [f"{_loss(e['target'])} ({e['change']:+.3f} ± {e['change_half']:.3f})" for e in rows
                 if not e["significant"] and np.isfinite(e["change_half"])]
        e0 = rows[0]
        text = f"- **Raising {raised} from {_pct(e0['from'])} to {_pct(e0['to'])}** of the mix "
        text += (_join(said) if said else "changes no loss beyond the noise")
        if noise:
            text += f"; no effect told apart from noise on {_join(noise)}"
        lines.append(text + ".")
    checks = []
    for e in effects:
        if e["raised"] == e["target"]:
            ok = e["significant"] and e["slope"] < 0
            checks.append(f"- {'yes' if ok else 'NOT shown'}: more {e['raised']} lowers {e['raised']} loss "
                          f"(slope {e['slope']:+.3f} ± {e['slope_half']:.3f} nats per unit of weight)")
    runs = effects[0]["runs"] if effects else 0
    how = (f"How: for each raised source, the ordinary least-squares slope of each loss on that source's weight "
           f"over all {runs} runs (seeds as replicates; the other sources make up the rest of each mix), with its "
           f"95% t interval ({runs - 2} degrees of freedom), times the sweep's range of the weight. It is a straight "
           "line through a curve (loss falls fastest at small weights), so read it as the average change over the "
           "range. Only changes whose interval excludes zero are stated as effects.")
    return ("## Effects\n\n" + "\n".join(lines) + "\n\nDoes more of a source lower its own loss?\n\n"
            + "\n".join(checks) + "\n\n" + how)


def _loss(target: str) -> str:
    return "the mean loss over sources" if target == "mean" else f"{target} loss"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _fits(data, fits: list[dict]) -> str:
    m = len(data.mixtures)
    lines = ["| target | model | held-out Spearman ρ | held-out mean abs. error (nats) |", "|---|---|---|---|"]
    for f in fits:
        lines.append(f"| {f['target']} | {MODEL_TITLES[f['model']]} | {f['spearman']:.3f} | {f['mae']:.3f} |")
    laws = []
    for f in fits:
        if f["model"] == "law" and f["target"] != "mean":
            p = json.loads(f["params"])
            exponent = " ".join(f"{t:+.3f}·r_{n}" for t, n in zip(p["t"], data.names))
            laws.append(f"- {f['target']}: L = {p['c']:.3f} + {p['k']:.3f} · exp({exponent})")
    step = 12 / (m * (m * m - 1)) if m > 1 else float("nan")
    note = (f"Held out: leave-one-mixture-out over the {m} mixtures (each mixture's mean loss predicted by a fit to "
            f"every run of the other {m - 1}); the mean target averages the per-source predictions. With {m} "
            f"mixtures ρ is coarse: swapping one neighbouring pair moves it by {step:.3f}. The law has "
            f"{len(data.names) + 1} free parameters per target, the linear model {len(data.names)}; nan means too "
            "few mixtures to hold one out.")
    return ("## Fitted mixture -> loss models\n\n" + "\n".join(lines) + "\n\n" + note
            + "\n\nThe laws fitted on all runs (r_j: the weight of source j):\n\n" + "\n".join(laws))


def _best(data, best: list[dict], target: str) -> str:
    lines = ["| target | predicted best mixture | predicted loss | distance to nearest explored | best measured |",
             "|---|---|---|---|---|"]
    for b in best:
        m = b["best_explored"]
        lines.append(f"| {b['target']} | {_mix(data.names, b['weights'])} | {b['predicted']:.3f} | "
                     f"{b['distance']:.2f} | m{m:02d} ({_mix(data.names, data.meta['mixtures'][m])}): "
                     f"{b['best_explored_loss']:.3f} |")
    b = next(b for b in best if b["target"] == target)
    head = (f"For {_loss(target)}, the Data Mixing Law predicts **{_mix(data.names, b['weights'])}** "
            f"({b['predicted']:.3f} nats).")
    if b["distance"] > 0.2:
        head += (f" That mixture is {b['distance']:.2f} (total variation: the share of the mix that would move) from "
                 "the nearest explored one: an extrapolation, to confirm with a run.")
    return "## Predicted best mixture\n\n" + head + "\n\n" + "\n".join(lines)
