"""`train report SWEEP_DIR` for a sweep with curation arms: what each curation choice does to the loss, and what
the study could have seen.

Per arm and evaluation set (each training source's held-out documents, each `eval` set, and the mean over the
training sources): the final validation loss with a 95% t interval over seeds. Per arm against the baseline arm (and
per `contrasts` and `primary` pair): the paired difference, seed by seed (same seed = same initial weights and the
same documents in the same order, so the seed's own effect cancels), with its 95% paired t interval and p-value.
Holm's correction applies over the pre-registered `primary` comparisons only; every other comparison is exploratory
and uncorrected. The noise floor (train/report/noise.py) comes from the negative-control arms.

Writes into SWEEP_DIR: summary.parquet (one row per run and evaluation set), arms.parquet, arm_effects.parquet,
noise.parquet, report.md, primary_effects.png and, per threshold grid, loss_vs_<grid>.png.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from train.errors import TrainError
from train.report import noise
from train.report import stats as st
from train.report.tables import write_parquet


@dataclass
class ArmData:
    dir: Path
    meta: dict
    sources: list[str]  # training sources
    sets: list[str]  # evaluation sets: sources, eval entries, "mean"
    rows: list[dict]  # one per finished run: entry, loss {set: nats}, bpb {set: bits per byte}, seen, splits

    def arm_names(self) -> list[str]:
        return [a["name"] for a in self.meta["arms"]]

    def baseline(self) -> str:
        return self.meta.get("baseline") or self.arm_names()[0]


def collect(sweep_dir: Path, meta: dict) -> ArmData:
    sources = [s["name"] for s in meta["sources"]]
    sets = [*sources, *meta.get("eval", []), "mean"]
    rows = []
    for entry in meta["runs"]:
        run_dir = sweep_dir / "runs" / entry["run"]
        if not (run_dir / "summary.json").is_file():
            continue
        table = pq.read_table(run_dir / "metrics.parquet").to_pylist()
        loss, seen = _final(table, "val", sources)
        bpb, _ = _final(table, "val_bpb", sources)  # absent from runs made before bits per byte were logged
        splits = json.loads((run_dir / "splits.json").read_text()) if (run_dir / "splits.json").is_file() else {}
        rows.append({"entry": entry, "loss": loss, "bpb": bpb, "seen": seen, "splits": splits})
    return ArmData(sweep_dir, meta, sources, sets, rows)


def _final(metrics: list[dict], split: str, sources: list[str]) -> tuple[dict, dict]:
    """The last step's {set: value} of one split (with "mean" over the training sources) and {set: tokens}."""
    rows = [r for r in metrics if r["split"] == split]
    if not rows:
        return {}, {}
    last = max(r["step"] for r in rows)
    value = {r["source"]: r["loss"] for r in rows if r["step"] == last}
    value["mean"] = float(np.mean([value[s] for s in sources])) if all(s in value for s in sources) else np.nan
    return value, {r["source"]: r["tokens"] for r in rows if r["step"] == last}


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


def _values(data: ArmData, arm: str, mixture: int, key: str) -> dict[int, dict[str, float]]:
    """{seed: {set: value}} of one arm and mixture; key "loss" (nats per token) or "bpb" (bits per byte)."""
    return {r["entry"]["seed"]: r[key] for r in data.rows
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


def primary(data: ArmData) -> list[tuple[str, str, str]]:
    """The pre-registered comparisons (arm, against, evaluation set) of sweep.json, checked against the plan."""
    out = []
    for p in data.meta.get("primary") or []:
        arm, ref = p["arm"], p.get("against") or data.baseline()
        for name in (arm, ref):
            if name not in data.arm_names():
                raise TrainError(f"primary comparison {arm} vs {ref}: no arm named {name!r} in this sweep "
                                 f"(arms: {', '.join(data.arm_names())})")
        if p["eval"] not in data.sets:
            raise TrainError(f"primary comparison {arm} vs {ref}: no evaluation set named {p['eval']!r} "
                             f"(sets: {', '.join(data.sets)})")
        out.append((arm, ref, p["eval"]))
    return out


def comparisons(data: ArmData) -> list[tuple[str, str]]:
    """Each arm against the baseline, then each `contrasts` pair, then any other pair a primary comparison names."""
    base = data.baseline()
    pairs = [(a, base) for a in data.arm_names() if a != base]
    for pair in [*(tuple(c) for c in data.meta.get("contrasts", [])), *((a, r) for a, r, _ in primary(data))]:
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _paired(data: ArmData, arm: str, ref: str, name: str, key: str) -> list[float]:
    """arm - ref on one evaluation set, one difference per (mixture, seed) both have finished."""
    diffs = []
    for m in sorted({r["entry"]["mixture"] for r in data.rows}):
        a, b = _values(data, arm, m, key), _values(data, ref, m, key)
        diffs += [a[s].get(name, np.nan) - b[s].get(name, np.nan) for s in sorted(set(a) & set(b))]
    return diffs


def effect_rows(data: ArmData) -> list[dict]:
    """Paired (same seed, same mixture) differences arm - reference per evaluation set in nats per token, with 95%
    paired t intervals and p-values, the same in bits per byte, and Holm's adjustment over the primary ones."""
    chosen, alpha = set(primary(data)), float(data.meta.get("alpha") or 0.05)
    out = []
    for arm, ref in comparisons(data):
        for name in data.sets:
            mean, half, n, p = st.paired_t(_paired(data, arm, ref, name, "loss"))
            bpb, bpb_half, _, _ = st.paired_t(_paired(data, arm, ref, name, "bpb"))
            out.append({"arm": arm, "reference": ref, "set": name, "effect": mean, "half": half, "pairs": n,
                        "significant": bool(np.isfinite(half) and abs(mean) > half), "p_value": p,
                        "primary": (arm, ref, name) in chosen, "effect_bpb": bpb, "half_bpb": bpb_half})
    first = [e for e in out if e["primary"]]
    for e, adjusted in zip(first, st.holm([e["p_value"] for e in first])):
        e["p_holm"] = float(adjusted)
    for e in out:
        e.setdefault("p_holm", np.nan)
        e["holm_significant"] = bool(e["p_holm"] < alpha)
        e["comparisons"] = len(first)
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
    from train.report import arms_text, findings

    data = collect(sweep_dir, meta)
    if not data.rows:
        raise TrainError(f"{sweep_dir}: none of the {len(meta['runs'])} planned runs has finished; "
                         "run `train sweep` first (it resumes)")
    write_parquet(sweep_dir / "summary.parquet", summary_rows(data))
    arms, effects = arm_rows(data), effect_rows(data)
    floor = noise.noise_rows(data, lambda arm, ref, name: _paired(data, arm, ref, name, "loss"), effects)
    write_parquet(sweep_dir / "arms.parquet", arms)
    write_parquet(sweep_dir / "arm_effects.parquet", effects)
    write_parquet(sweep_dir / "noise.parquet", floor)
    plots = findings.draw_primary(data, effects, floor) + arms_text.draw_grids(data, arms)
    text = arms_text.render(data, arms, effects, floor, noise.verdict(data, effects), validation_tokens(data), plots)
    path = sweep_dir / "report.md"
    path.write_text(text)
    return path
