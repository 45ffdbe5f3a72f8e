"""The numbers of `curate audit`, computed from one run directory alone (docs/, rejects/, stats.parquet).

For every filter step in pipeline order, the population that ENTERED it is the documents kept at the end plus those
rejected at that step or later; those REMOVED are the ones it rejected. For each identity group g (a document
mentions g when ``identity__g > 0``):

    rate       = removed / entering                       (the step's overall removal rate)
    rate_g     = removed mentioning g / entering mentioning g
    ratio      = rate_g / rate                            (> 1: the step removes g's documents more often)
    share_before, share_after = share of documents mentioning g among those entering / leaving the step

Only documents with identity counts enter the sums (identity_terms_v1 leaves non-English ones null, and rejects of
steps that ran before it have none): the audit compares like with like. Added counterfactual copies are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from curate.errors import ConfigError

_SHARD = re.compile(r"(\d+)_(.+)_\d+\.parquet$")
ALL = "(all)"


@dataclass
class RunCounts:
    """Per (source, lang, position removed or None for kept): documents, mentions per group, pronoun totals."""

    label: str
    groups: list[str]
    pronouns: list[str]
    steps: list[tuple[int, str]]  # (position, step name) of every step that removed documents, in order
    unmeasured_steps: list[str]  # steps that ran before identity_terms_v1
    rows: list[dict]
    lang_rows: list[dict]  # (source, lang, pos, n) over ALL documents, identity counts or not


def _columns(con, view: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()] if _has_rows(con, view) else []


def _has_rows(con, view: str) -> bool:
    return con.execute(f"SELECT count(*) FROM (SELECT * FROM {view} LIMIT 1)").fetchone()[0] > 0


def _steps(con) -> tuple[list[tuple[int, str]], int | None]:
    """(position, step) of every step that removed documents in this run, in order; identity_terms_v1's position."""
    rows = con.execute(
        "SELECT position, step, coalesce(sum(value) FILTER (WHERE metric = 'dropped'), 0) FROM stats "
        "WHERE position > 0 GROUP BY position, step ORDER BY position"
    ).fetchall()
    identity = next((p for p, s, _ in rows if s == "identity_terms_v1"), None)
    return [(int(p), s) for p, s, dropped in rows if dropped > 0], identity


def load_run(run_dir: str | Path) -> RunCounts:
    """Aggregate one run directory into RunCounts (a few hundred rows at most, whatever the run's size)."""
    from curate.inspect import connect

    root = Path(run_dir)
    con = connect([root])
    cols = sorted(set(_columns(con, "docs")) | set(_columns(con, "rejects")))
    groups = [c.removeprefix("identity__") for c in cols if c.startswith("identity__")]
    pronouns = [c.removeprefix("pronoun__") for c in cols if c.startswith("pronoun__")]
    if not groups:
        raise ConfigError(
            f"{root} has no identity__* columns: put identity_terms_v1 early in the pipeline, "
            "before the filters, and run it again"
        )
    steps, identity_pos = _steps(con)
    before = [s for p, s in steps if identity_pos is not None and p < identity_pos]
    steps = [(p, s) for p, s in steps if identity_pos is None or p > identity_pos]
    mention = ", ".join(f"coalesce(sum(CASE WHEN identity__{g} > 0 THEN 1 ELSE 0 END), 0) AS g_{g}" for g in groups)
    pron = ", ".join(f"coalesce(sum(pronoun__{p}), 0) AS p_{p}" for p in pronouns)
    parts = []
    for view in ("docs", "rejects"):
        vcols = _columns(con, view)
        if not vcols:
            continue
        pos = "NULL::INTEGER" if view == "docs" else "regexp_extract(shard, '(\\d+)_[^/]*$', 1)::INTEGER"
        where = f"identity__{groups[0]} IS NOT NULL" + (
            " AND counterfactual__of IS NULL" if "counterfactual__of" in vcols else ""
        )
        parts.append(
            f"SELECT source, coalesce(lang, 'und') AS lang, {pos} AS pos, * EXCLUDE (source, lang) "
            f"FROM {view} WHERE {where}"
        )
    if not parts:
        raise ConfigError(f"{root} has no documents with identity counts (English documents, identity_terms_v1)")
    sql = (
        f"SELECT source, lang, pos, count(*) AS n, {mention}{', ' + pron if pron else ''} "
        f"FROM ({' UNION ALL BY NAME '.join(parts)}) GROUP BY source, lang, pos"
    )
    return RunCounts(root.name, groups, pronouns, steps, before, _dicts(con, sql), _lang_rows(con))


def _dicts(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _lang_rows(con) -> list[dict]:
    parts = []
    if _has_rows(con, "docs"):
        parts.append("SELECT source, lang, NULL::INTEGER AS pos FROM docs")
    if _has_rows(con, "rejects"):
        parts.append("SELECT source, lang, regexp_extract(shard, '(\\d+)_[^/]*$', 1)::INTEGER AS pos FROM rejects")
    sql = (
        f"SELECT source, coalesce(lang, 'und') AS lang, pos, count(*) AS n FROM ({' UNION ALL '.join(parts)}) "
        "GROUP BY ALL"
    )
    return _dicts(con, sql) if parts else []


def language_table(rc: RunCounts, min_docs: int = 30) -> list[dict]:
    """Per filter step and (source, lang) with at least ``min_docs`` entering documents: removal rate, and its ratio
    to the step's removal rate over every language (> 1: the step removes this language's documents more often)."""
    out = []
    for position, step in rc.steps:
        pooled_in, pooled_rm = _flow(rc.lang_rows, "n", position)
        pooled_rate = pooled_rm / pooled_in if pooled_in else 0.0
        slices: dict[tuple[str, str], list[dict]] = {}
        for r in rc.lang_rows:
            slices.setdefault((r["source"], r["lang"]), []).append(r)
        for (source, lang), rows in sorted(slices.items()):
            entering, removed = _flow(rows, "n", position)
            if entering >= min_docs or removed:
                rate = removed / entering if entering else 0.0
                out.append(
                    {
                        "run": rc.label,
                        "source": source,
                        "lang": lang,
                        "position": position,
                        "step": step,
                        "entering": entering,
                        "removed": removed,
                        "rate": rate,
                        "ratio": rate / pooled_rate if pooled_rate else None,
                    }
                )
    return out


def _slices(rc: RunCounts) -> dict[tuple[str, str], list[dict]]:
    """Rows by (source, lang), plus (ALL, ALL) pooling everything."""
    out: dict[tuple[str, str], list[dict]] = {(ALL, ALL): rc.rows}
    for r in rc.rows:
        out.setdefault((r["source"], r["lang"]), []).append(r)
    return out


def _sum(rows: list[dict], key: str, keep) -> int:
    return sum(r[key] for r in rows if keep(r["pos"]))


def _flow(rows: list[dict], key: str, position: int) -> tuple[int, int]:
    """(entering, removed) at the filter at ``position``: a row's ``pos`` is where it was removed, None if kept, so
    it entered every filter up to its own."""
    entering = sum(r[key] for r in rows if r["pos"] is None or r["pos"] >= position)
    removed = sum(r[key] for r in rows if r["pos"] == position)
    return entering, removed


def removal_table(rc: RunCounts, threshold: float = 1.25, min_docs: int = 30) -> list[dict]:
    """One row per (source, lang, step, group): entering, removed, rates, ratio, shares, flag."""
    out = []
    for (source, lang), rows in _slices(rc).items():
        for position, step in rc.steps:
            entering, removed = _flow(rows, "n", position)
            if entering == 0:
                continue
            rate = removed / entering
            for g in rc.groups:
                eg, rg = _flow(rows, f"g_{g}", position)
                rate_g = rg / eg if eg else None
                ratio = rate_g / rate if rate_g is not None and rate > 0 else None
                left = entering - removed
                out.append(
                    {
                        "run": rc.label,
                        "source": source,
                        "lang": lang,
                        "position": position,
                        "step": step,
                        "group": g,
                        "entering": entering,
                        "removed": removed,
                        "rate": rate,
                        "entering_group": eg,
                        "removed_group": rg,
                        "rate_group": rate_g,
                        "ratio": ratio,
                        "share_before": eg / entering,
                        "share_after": (eg - rg) / left if left else None,
                        "flagged": bool(ratio is not None and ratio > threshold),
                        "enough_docs": eg >= min_docs,
                    }
                )
    return out


def pronoun_table(rc: RunCounts) -> list[dict]:
    """he / she / they totals in the input (every measured document) and the output (kept ones), per slice."""
    out = []
    for (source, lang), rows in _slices(rc).items():
        for stage, keep in (("input", lambda p: True), ("output", lambda p: p is None)):
            row = {"run": rc.label, "source": source, "lang": lang, "stage": stage, "docs": _sum(rows, "n", keep)}
            for p in rc.pronouns:
                row[p] = _sum(rows, f"p_{p}", keep)
            he, she = row.get("he", 0), row.get("she", 0)
            row["she_per_he"] = she / he if he else None
            total = sum(row.get(p, 0) for p in rc.pronouns)
            row["they_share"] = row.get("they", 0) / total if total else None
            out.append(row)
    return out
