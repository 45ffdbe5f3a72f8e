"""`curate calibrate`: per-language thresholds from a run's own signal distributions (FineWeb-2's method: Penedo et
al. 2025, "FineWeb2: One Pipeline to Scale Them All", Section 4: a threshold per language chosen so that the rule
removes the same share of that language's documents as the English threshold removes of English ones).

For each calibratable rule (``RULES``: a step parameter, the signal column it compares and the direction) the run's
English documents give the share ``s`` the rule's threshold (as the run used it, from run.json) removes; each other
language with at least ``min_docs`` documents carrying the signal gets the value of its own distribution that removes
the same share (``--share`` gives ``s`` instead, for English too). Languages with fewer documents are pooled by
script (``lang_script``: ``script:Cyrl``); a script pool never includes the reference language. A rule that removes
nothing in the reference language gets no per-language thresholds (its default is a safety net, not a cut of the
distribution; a share of 0 would put the threshold at the sample's extreme). Documents count
wherever the step computed the signal: kept documents and rejects alike (a tagged run holds them all in docs/).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curate.errors import ConfigError

# step -> parameter -> (signal column, "min": drop if signal < threshold | "max": drop if signal > threshold,
#                       column for the reference language if it differs)
RULES: dict[str, dict[str, tuple]] = {
    "lang_fasttext_v1": {"min_score": ("lang_score", "min", None)},
    "gopher_quality_v1": {
        "min_doc_words": ("gopher__word_count", "min", None),
        "max_bullet_lines_ratio": ("gopher__bullet_lines_frac", "max", None),
        "max_ellipsis_lines_ratio": ("gopher__ellipsis_lines_frac", "max", None),
        # English counts the alphabetic share over all tokens, other languages over words (gopher_quality_v1)
        "min_alpha_words_ratio": ("gopher__alpha_words_frac", "min", "gopher__alpha_tokens_frac"),
    },
    "c4_quality_v1": {"min_num_sentences": ("c4__sentences", "min", None)},
    "fineweb_quality_v1": {
        "line_punct_thr": ("fineweb__line_punct_ratio", "min", None),
        "short_line_thr": ("fineweb__short_line_ratio", "max", None),
        "char_duplicates_ratio": ("fineweb__char_dup_ratio", "max", None),
        "new_line_ratio": ("fineweb__list_ratio", "max", None),
    },
}


def removed_share(values: np.ndarray, threshold: float, direction: str) -> float:
    """The share of ``values`` a rule with ``threshold`` removes."""
    if len(values) == 0:
        return 0.0
    return float(np.mean(values < threshold) if direction == "min" else np.mean(values > threshold))


def threshold_for_share(values: np.ndarray, share: float, direction: str) -> float:
    """A value of ``values`` that removes about ``share`` of them (at most ``share``, ties kept: ``min`` rules drop
    values below it, ``max`` rules values above it)."""
    v = np.sort(values)
    k = int(np.floor(share * len(v) + 1e-9))  # documents to remove
    if direction == "min":
        return float(v[min(k, len(v) - 1)])
    return float(v[max(len(v) - 1 - k, 0)])


def run_params(run_dir: Path) -> dict[str, dict]:
    """{step: params as the run used them} from run.json (defaults filled in)."""
    try:
        config = json.loads((run_dir / "run.json").read_text())["config"]
    except (OSError, KeyError, json.JSONDecodeError):
        raise ConfigError(f"{run_dir} is not a finished curate run (no readable run.json)") from None
    out = {}
    for item in config.get("steps", []):
        (name, params), = item.items()
        out[name] = params or {}
    return out


def _values(con, column: str, has_script: bool):
    """(lang, script, value) of every document and reject with the signal."""
    script = "lang_script" if has_script else "NULL"
    sql = (f"SELECT lang, {script}, {column} FROM docs WHERE {column} IS NOT NULL UNION ALL "
           f"SELECT lang, {script}, {column} FROM rejects WHERE {column} IS NOT NULL")
    return con.execute(sql).fetchall()


def calibrate(run_dir: str, reference: str = "en", share: float | None = None, min_docs: int = 20) -> dict:
    """The thresholds file's content for ``run_dir``."""
    from curate.inspect import columns, connect

    root = Path(run_dir)
    used = run_params(root)
    con = connect([root])
    cols = set(columns(con, "docs", "rejects"))
    has_script = "lang_script" in cols
    out: dict = {"reference": reference, "share": share, "min_docs": min_docs, "run": str(root), "rules": {},
                 "thresholds": {}}
    for step, rules in RULES.items():
        if step not in used:
            continue
        for param, (column, direction, ref_column) in rules.items():
            default = used[step].get(param)
            if default is None or column not in cols or (ref_column or column) not in cols:
                continue
            ref_values = np.array([r[2] for r in _values(con, ref_column or column, has_script) if r[0] == reference],
                                  dtype=float)
            if share is None and len(ref_values) == 0:
                raise ConfigError(f"calibrate: no {reference!r} document carries {ref_column or column}; "
                                  "give --share or --reference")
            s = removed_share(ref_values, default, direction) if share is None else share
            out["rules"].setdefault(step, {})[param] = {"signal": column, "drop_if": "<" if direction == "min" else ">",
                                                        "default": default, "reference_share": round(s, 4),
                                                        "reference_docs": len(ref_values)}
            if s == 0:  # the default removes nothing in the reference: a safety net, not a cut of the distribution;
                continue  # matching a share of 0 would set the threshold at the sample's extreme and overfit it
            for key, values in _groups(_values(con, column, has_script), reference, min_docs, share is not None):
                t = threshold_for_share(values, s, direction)
                t = int(t) if isinstance(default, int) and not isinstance(default, bool) else t  # exact: a value of the data
                entry = out["thresholds"].setdefault(step, {}).setdefault(key, {"docs": len(values)})
                entry[param] = t
                entry["docs"] = max(entry["docs"], len(values))
    return out


def _groups(rows, reference: str, min_docs: int, with_reference: bool):
    """(language or 'script:X', values) for languages with min_docs values, then script pools of the rest."""
    by_lang: dict = {}
    for lang, script, value in rows:
        by_lang.setdefault((lang, script), []).append(value)
    langs: dict = {}
    for (lang, script), vals in by_lang.items():
        langs.setdefault(lang, {"values": [], "scripts": {}})
        langs[lang]["values"] += vals
        langs[lang]["scripts"][script] = langs[lang]["scripts"].get(script, 0) + len(vals)
    pools: dict = {}
    for lang, info in sorted(langs.items(), key=lambda kv: str(kv[0])):
        if lang is None or (lang == reference and not with_reference):
            continue
        if len(info["values"]) >= min_docs:
            yield lang, np.array(info["values"], dtype=float)
        elif lang != reference:
            script = max(info["scripts"], key=info["scripts"].get)
            if script is not None:
                pools.setdefault(script, []).extend(info["values"])
    for script, vals in sorted(pools.items()):
        if len(vals) >= min_docs:
            yield f"script:{script}", np.array(vals, dtype=float)


def thresholds_file(result: dict, run_dir: str, output: str, reference: str) -> str:
    """The thresholds YAML (``per_lang: FILE`` on the steps), with a header saying where it came from."""
    import yaml

    header = (f"# curate calibrate {run_dir}: per-language thresholds removing the share each rule removes in "
              f"{reference!r} (FineWeb-2)\n# use: per_lang: {output} on " + ", ".join(result["thresholds"]) + "\n")
    return header + yaml.safe_dump(result, sort_keys=False, allow_unicode=True)


def rule_lines(result: dict, reference: str) -> list[str]:
    """One line per calibrated rule: the default's share in the reference language and the thresholds written."""
    out = []
    for step, rules in result["rules"].items():
        for param, r in rules.items():
            n = sum(param in e for e in result["thresholds"].get(step, {}).values())
            out.append(f"{step}.{param}: default {r['default']} removes {r['reference_share']:.1%} of "
                       f"{reference!r} ({r['reference_docs']} docs); {n} language/script thresholds")
    return out
