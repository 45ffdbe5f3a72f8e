"""What a curation study could have seen: its noise floor and the verdict of its controls.

The noise floor of an evaluation set is the standard deviation of the paired difference (arm - baseline, seed by
seed) between arms that should differ by nothing but noise: the negative controls (`random_drop`, which remove
documents at random). From it and the planned seeds and primary comparisons follows the minimal detectable effect
(80% power, two-sided paired t at alpha / comparisons). A positive control (`shuffle_words`, which must hurt) and a
negative control (which must not show) check that the study sees what it should and nothing it should not.
"""

from __future__ import annotations

import numpy as np

from train.report import stats as st

POSITIVE, NEGATIVE = "shuffle_words", "random_drop"
VERDICT_P = 0.01  # the positive control must hold at this Holm-adjusted p (modded-nanogpt's bar for a record)


def controls(data, kind: str) -> list[str]:
    """Names of the arms whose control is of this kind."""
    return [a["name"] for a in data.meta["arms"] if (a.get("control") or {}).get("kind") == kind]


def _pooled_sd(groups: list[list[float]]) -> tuple[float, int]:
    """sd pooled over groups, each around its own mean (sum of squares over sum of n - 1), and the pairs used."""
    groups = [np.asarray(g, dtype=np.float64) for g in groups]
    groups = [g[np.isfinite(g)] for g in groups]
    groups = [g for g in groups if len(g) >= 2]
    dof = sum(len(g) - 1 for g in groups)
    if not dof:
        return float("nan"), 0
    return float(np.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof)), sum(len(g) for g in groups)


def _bpb_per_nat(data, name: str) -> float:
    """Bits per byte per nat per token of one evaluation set (its tokens and bytes are the same in every run)."""
    ratios = [r["bpb"][name] / r["loss"][name] for r in data.rows
              if np.isfinite(r["bpb"].get(name, np.nan)) and r["loss"].get(name)]
    return float(np.mean(ratios)) if ratios else float("nan")


def noise_rows(data, paired, effects: list[dict]) -> list[dict]:
    """noise.parquet: per evaluation set, the sd of the paired difference, the planned pairs (seeds x mixtures) and
    primary comparisons (1 when none is pre-registered: a single test at alpha), the minimal detectable effect in
    nats (and bits per byte), and the seeds an effect of `detect` nats would need. `paired(arm, ref, set)` gives the
    paired differences in nats."""
    base, negatives = data.baseline(), controls(data, NEGATIVE)
    pairs = list(dict.fromkeys((e["arm"], e["reference"]) for e in effects))
    seeds = len(data.meta["seeds"]) * max(1, len(data.meta.get("mixtures") or [None]))
    m = max(1, sum(e["primary"] for e in effects))
    alpha, detect = float(data.meta.get("alpha") or 0.05), float(data.meta.get("detect") or 0.0)
    dz_min = st.mde(seeds, m, alpha)
    out = []
    for name in data.sets:
        if negatives:
            sd, used = _pooled_sd([paired(arm, base, name) for arm in negatives])
            source = "negative control" + (f"s {', '.join(negatives)}" if len(negatives) > 1 else f" {negatives[0]}")
            source += f" - {base}, {used} pairs"
        else:
            sd, used = _pooled_sd([paired(arm, ref, name) for arm, ref in pairs])
            source = (f"no negative control: pooled residual sd of {len(pairs)} paired comparisons "
                      f"(each around its own mean), {used} pairs")
        needed = float("nan")
        if detect > 0 and np.isfinite(sd):
            needed = float(2 if sd == 0 else st.seeds_needed(detect / sd, m, alpha))
            needed = float("nan") if needed < 0 else needed
        out.append({"set": name, "sd_paired": sd, "seeds": seeds, "comparisons": m, "mde": dz_min * sd,
                    "mde_bpb": dz_min * sd * _bpb_per_nat(data, name), "detect": detect, "seeds_needed": needed,
                    "source_of_noise": source, "negative_control": bool(negatives)})
    return out


def _judged(effects: list[dict], arm: str, base: str, sets: list[str]) -> list[dict]:
    return [e for e in effects if e["arm"] == arm and e["reference"] == base and e["set"] in sets]


def _sets_for(effects: list[dict], arm: str) -> list[str]:
    """Where a control is judged: the sets of its own primary comparisons, else every primary set, else the mean."""
    own = [e["set"] for e in effects if e["primary"] and e["arm"] == arm]
    every = list(dict.fromkeys(e["set"] for e in effects if e["primary"]))
    return own or every or ["mean"]


def verdict(data, effects: list[dict]) -> dict:
    """Whether the positive controls were detected (loss raised at Holm p < 0.01, or uncorrected p where the control
    is not a primary comparison) and the negative controls stayed null (not significant: Holm for a primary
    comparison, the uncorrected interval otherwise). {"sees": bool, "positive": [...], "negative": [...]}."""
    base, out = data.baseline(), {"positive": [], "negative": []}
    for kind, key in ((POSITIVE, "positive"), (NEGATIVE, "negative")):
        for arm in controls(data, kind):
            for e in _judged(effects, arm, base, _sets_for(effects, arm)):
                p = e["p_holm"] if e["primary"] else e["p_value"]
                if key == "positive":
                    ok = bool(e["effect"] > 0 and p < VERDICT_P)
                else:
                    ok = not (e["holm_significant"] if e["primary"] else e["significant"])
                out[key].append({**e, "p_used": p, "ok": ok})
    pos, neg = out["positive"], out["negative"]
    out["sees"] = bool(pos and neg and any(c["ok"] for c in pos) and all(c["ok"] for c in neg))
    return out
