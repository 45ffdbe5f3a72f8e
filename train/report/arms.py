"""`train report SWEEP_DIR` for a sweep with curation arms: what each curation choice does to the loss.

Per arm and evaluation set (each training source's held-out documents, each `eval` set, and the mean over the
training sources): the final validation loss with a 95% t interval over seeds. Per arm against the baseline arm (and
per `contrasts` pair): the paired difference, seed by seed (same seed = same initial weights and batch plan, so the
seed's own effect cancels), with a 95% paired t interval; an effect is stated only when that interval excludes zero,
and the report says how many comparisons were made and which effects also survive a Bonferroni correction.

Writes into SWEEP_DIR: summary.parquet (one row per run and evaluation set), arms.parquet, arm_effects.parquet,
report.md and, per threshold grid, loss_vs_<grid>.png.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy import stats

from train.errors import TrainError
from train.report import stats as st
from train.report.tables import write_parquet


@dataclass
class ArmData:
    dir: Path
    meta: dict
    sources: list[str]  # training sources
    sets: list[str]  # evaluation sets: sources, eval entries, "mean"
    rows: list[dict]  # one per finished run: entry, loss {set: nats}, splits (splits.json)

    def arm_names(self) -> list[str]:
        return [a["name"] for a in self.meta["arms"]]


def collect(sweep_dir: Path, meta: dict) -> ArmData:
    sources = [s["name"] for s in meta["sources"]]
    sets = [*sources, *meta.get("eval", []), "mean"]
    rows = []
    for entry in meta["runs"]:
        run_dir = sweep_dir / "runs" / entry["run"]
        if not (run_dir / "summary.json").is_file():
            continue
        metrics = [r for r in pq.read_table(run_dir / "metrics.parquet").to_pylist() if r["split"] == "val"]
        last = max(r["step"] for r in metrics)
        loss = {r["source"]: r["loss"] for r in metrics if r["step"] == last}
        loss["mean"] = float(np.mean([loss[s] for s in sources]))
        seen = {r["source"]: r["tokens"] for r in metrics if r["step"] == last}
        splits = json.loads((run_dir / "splits.json").read_text()) if (run_dir / "splits.json").is_file() else {}
        rows.append({"entry": entry, "loss": loss, "seen": seen, "splits": splits})
    return ArmData(sweep_dir, meta, sources, sets, rows)


def summary_rows(data: ArmData) -> list[dict]:
    """summary.parquet: the mixture report's columns (run, seed, source, weight, val_loss, tokens) plus arm,
    mixture, threshold, kept_tokens (the source's unique training tokens in this arm), epochs, val_tokens."""
    out = []
    for r in data.rows:
        e = r["entry"]
        for name in data.sets[:-1]:
            split = r["splits"].get(name, {}) if name in data.sources else {"val_tokens": r["splits"].get(name, {})
                                                                           .get("val_tokens")}  # an eval set
            out.append({"run": e["run"], "seed": e["seed"], "source": name, "weight": e["weights"].get(name, 0.0),
                        "val_loss": r["loss"][name], "tokens": int(r["seen"].get(name, 0)),
                        "arm": e["arm_name"], "mixture": e["mixture"], "threshold": e["threshold"],
                        "kept_tokens": split.get("unique_tokens"), "epochs": split.get("epochs"),
                        "val_tokens": split.get("val_tokens")})
    return out


def _losses(data: ArmData, arm: str, mixture: int) -> dict[int, dict[str, float]]:
    return {r["entry"]["seed"]: r["loss"] for r in data.rows
            if r["entry"]["arm_name"] == arm and r["entry"]["mixture"] == mixture}


def arm_rows(data: ArmData) -> list[dict]:
    """Per arm, mixture and evaluation set: mean loss and 95% t interval over seeds; tokens kept and epochs."""
    out = []
    for arm in data.arm_names():
        for m in sorted({r["entry"]["mixture"] for r in data.rows}):
            runs = [r for r in data.rows if r["entry"]["arm_name"] == arm and r["entry"]["mixture"] == m]
            if not runs:
                continue
            kept = [sum(r["splits"].get(s, {}).get("unique_tokens", 0) for s in data.sources) for r in runs]
            epochs = {s: float(np.mean([r["splits"].get(s, {}).get("epochs", np.nan) for r in runs]))
                      for s in data.sources}
            for name in data.sets:
                mean, half, n = st.t_interval([r["loss"][name] for r in runs])
                out.append({"arm": arm, "mixture": m, "set": name, "mean": mean, "half": half, "seeds": n,
                            "kept_tokens": int(np.mean(kept)), "epochs": json.dumps(epochs),
                            "threshold": runs[0]["entry"]["threshold"], "grid": runs[0]["entry"]["grid"]})
    return out


def comparisons(data: ArmData) -> list[tuple[str, str]]:
    names, base = data.arm_names(), data.meta.get("baseline") or data.arm_names()[0]
    pairs = [(a, base) for a in names if a != base]
    return pairs + [tuple(c) for c in data.meta.get("contrasts", []) if tuple(c) not in pairs]


def effect_rows(data: ArmData) -> list[dict]:
    """Paired (same seed, same mixture) differences arm - reference per evaluation set, with 95% paired t intervals,
    and whether they survive Bonferroni over every comparison made."""
    mixes = sorted({r["entry"]["mixture"] for r in data.rows})
    out = []
    for arm, ref in comparisons(data):
        for name in data.sets:
            diffs = []
            for m in mixes:
                a, b = _losses(data, arm, m), _losses(data, ref, m)
                diffs += [a[s][name] - b[s][name] for s in sorted(set(a) & set(b))]
            mean, half, n = st.t_interval(diffs)
            out.append({"arm": arm, "reference": ref, "set": name, "effect": mean, "half": half, "pairs": n,
                        "significant": bool(np.isfinite(half) and abs(mean) > half)})
    k = sum(1 for e in out if e["pairs"] >= 2)
    for e in out:
        n = e["pairs"]
        wide = float(stats.t.ppf(1 - 0.025 / max(k, 1), n - 1) / stats.t.ppf(0.975, n - 1)) if n >= 2 else np.nan
        e["comparisons"] = k
        e["bonferroni"] = bool(np.isfinite(e["half"]) and abs(e["effect"]) > e["half"] * wide)
    return out


def validation_tokens(data: ArmData) -> dict[str, dict]:
    """Per evaluation set: held-out documents and tokens, tokens scored, chunked; and whether every run had the
    same (it must: validation is chosen before any arm's filter)."""
    out = {}
    for name in data.sets[:-1]:
        seen = {json.dumps({k: r["splits"].get(name, {}).get(k) for k in ("val_docs", "val_tokens")})
                for r in data.rows}
        first = data.rows[0]["splits"].get(name, {}) if data.rows else {}
        out[name] = {"val_docs": first.get("val_docs"), "val_tokens": first.get("val_tokens"),
                     "eval_tokens": first.get("eval_tokens"), "chunked": first.get("chunked"),
                     "same_in_every_run": len(seen) == 1}
    return out


def report(sweep_dir: Path, meta: dict) -> Path:
    from train.report import arms_text

    data = collect(sweep_dir, meta)
    if not data.rows:
        raise TrainError(f"{sweep_dir}: none of the {len(meta['runs'])} planned runs has finished; "
                         "run `train sweep` first (it resumes)")
    write_parquet(sweep_dir / "summary.parquet", summary_rows(data))
    arms, effects = arm_rows(data), effect_rows(data)
    write_parquet(sweep_dir / "arms.parquet", arms)
    write_parquet(sweep_dir / "arm_effects.parquet", effects)
    plots = arms_text.draw_grids(data, arms)
    text = arms_text.render(data, arms, effects, validation_tokens(data), plots)
    path = sweep_dir / "report.md"
    path.write_text(text)
    return path
