"""The funnel of a run (per step and reason), from its stats, and the `curate inspect` report (DuckDB)."""

from __future__ import annotations

from curate.inspect import columns

_REASON_PREFIXES = ("dropped_", "error_", "skipped_", "tagged_")
_COUNTS = ("in", "kept", "dropped", "seconds", "tagged")


def _fmt(v) -> str:
    return "-" if v is None else f"{int(v):,}"


def stats_rows(con) -> list[dict]:
    """The rows of the ``stats`` view of a DuckDB connection (curate.inspect.connect), as funnel_lines takes them."""
    names = ("stage", "position", "step", "metric", "value")
    return [dict(zip(names, r)) for r in con.execute(f"SELECT {', '.join(names)} FROM stats").fetchall()]


def funnel_lines(stats: list[dict]) -> list[str]:
    """One line per step (in, kept, dropped, seconds; tagged in a run with steps in tag mode) followed by its reasons,
    indented. ``stats``: rows of stats.parquet (stage, position, step, metric, value), of one run or several.

    Aggregated in Python, not SQL: `curate run` prints this from its own stats.parquet without importing DuckDB
    (0.15 CPU s, 3% of web.yaml's run on 1,000 pages); `curate inspect` passes the rows of its stats view."""
    steps: dict[tuple, dict] = {}  # (position, step) -> {metric of _COUNTS: sum, "stage": first stage}
    reasons: dict[tuple, dict[str, float]] = {}
    for r in stats:
        key, metric, value = (r["position"], r["step"]), r["metric"], r["value"]
        entry = steps.setdefault(key, {"stage": r["stage"]})
        entry["stage"] = min(entry["stage"], r["stage"])
        if metric in _COUNTS:
            entry[metric] = entry.get(metric, 0) + value
        elif metric.startswith(_REASON_PREFIXES):
            counts = reasons.setdefault(key, {})
            counts[metric] = counts.get(metric, 0) + value
    order = sorted(steps, key=lambda k: (k[0], steps[k]["stage"]))
    any_tagged = any(steps[k].get("tagged") for k in order)
    out = [f"{'step':<28}{'in':>10}{'kept':>10}{'dropped':>10}{'seconds':>10}" + (f"{'tagged':>10}" * any_tagged)]
    for key in order:
        c = steps[key]
        listed = sorted(((m, round(n)) for m, n in reasons.get(key, {}).items()), key=lambda mn: (-mn[1], mn[0]))
        n_in = c.get("in")
        if key[0] == 0:  # the reader: what it read is what it kept plus what it skipped or failed on
            n_in = sum(n for _, n in listed) + (c.get("kept") or 0)
        # a step that saw no document has no in/kept rows: it received and kept 0
        out.append(f"{key[1]:<28}{_fmt(n_in or 0):>10}{_fmt(c.get('kept') or 0):>10}{_fmt(c.get('dropped') or 0):>10}"
                   f"{(c.get('seconds') or 0):>10.1f}" + (f"{_fmt(c.get('tagged') or 0):>10}" * any_tagged))
        for metric, n in listed:
            out.append(f"    {metric:<44}{n:>10,}")
    return out


def inspect_lines(con, samples: int = 2) -> list[str]:
    out = ["== runs"]
    for run, name, source, status, wall, docs, rejects in con.execute("SELECT * FROM runs").fetchall():
        out.append(f"{run}: {name} ({source}) {status}, {_fmt(docs)} docs, {_fmt(rejects)} rejects, {wall or 0:.1f} s")
    out += ["", "== funnel (per step and reason)"] + funnel_lines(stats_rows(con))
    out += tag_lines(con, samples)
    out += ["", "== kept documents per source and language"]
    rows = con.execute(
        "SELECT source, lang, count(*) AS docs, sum(length(text)) AS chars FROM docs GROUP BY ALL ORDER BY docs DESC"
    ).fetchall()
    out += [f"{s or '-':<8}{lang or '-':<8}{d:>8,} docs {c or 0:>14,} chars" for s, lang, d, c in rows]
    out += _per_lang_section(con)
    out += _token_section(con)
    out += ["", "== sizes (characters) of kept documents"]
    q = con.execute(
        "SELECT count(*), sum(length(text)), min(length(text)), median(length(text)), max(length(text)) FROM docs"
    ).fetchone()
    out.append(f"docs {q[0]:,}  chars {q[1] or 0:,}  min {q[2] or 0:,}  median {int(q[3] or 0):,}  max {q[4] or 0:,}")
    out += ["", f"== sample of rejects ({samples} per reason)"]
    if not con.execute("SELECT count(*) FROM rejects").fetchone()[0]:
        return out + ["(no rejects)"]  # e.g. a run in tag mode: the view then has no step or reason column
    rows = con.execute(
        f"""SELECT step, reason, id, coalesce(url, ''), regexp_replace(left(text, 90), '\\s+', ' ', 'g')
            FROM (SELECT *, row_number() OVER (PARTITION BY step, reason ORDER BY id) AS k FROM rejects)
            WHERE k <= {int(samples)} ORDER BY step, reason, id"""
    ).fetchall()
    for step, reason, doc_id, url, text in rows:
        out.append(f"{step}/{reason}: {_label(doc_id, url)}\n      {text!r}")
    return out


def _label(doc_id: str, url: str) -> str:
    """A sample is named by its id (unique in a run; many documents can share a URL), then its URL if it has one."""
    return f"{doc_id}  {url}" if url else str(doc_id)


def _per_lang_section(con) -> list[str]:
    """Removal per language at steps that used per-language thresholds (curate.per_lang_report), if any."""
    from curate.per_lang_report import per_lang_lines

    return per_lang_lines(con, [r[0] for r in con.execute("SELECT run FROM runs").fetchall()])


def _token_section(con) -> list[str]:
    """Tokens kept per source and language, removed per filter (curate.token_report), if the run counted them."""
    from curate.token_report import token_lines

    return token_lines(con)


def _reason_columns(con) -> list[str]:
    """The tag columns of docs, in pipeline order (only identifiers: a column carried in from input may be any name)."""
    from curate.schema import reason_columns

    names = reason_columns(columns(con, "docs"))
    return [n for n in names if n.isidentifier()]


def tag_lines(con, samples: int = 2) -> list[str]:
    """For a run with steps in tag mode: what each decision would remove, in documents and characters and their
    share of all documents: every document it tags (`tagged`), and those it is the first to tag in pipeline order
    (`first`: what it removes in the filtering run); then what all decisions together keep, and samples."""
    cols = _reason_columns(con)
    if not cols:
        return []
    total_docs, total_chars = con.execute("SELECT count(*), coalesce(sum(length(text)), 0) FROM docs").fetchone()
    first = "CASE " + " ".join(f"WHEN {c} IS NOT NULL THEN '{c}'" for c in cols) + " END"
    share = lambda n, whole: f"{100 * n / whole:5.1f}%" if whole else "    -"
    out = ["", "== tag mode: what each decision would remove (of all documents; first = in pipeline order)",
           f"{'column / reason':<44}{'tagged':>8}{'chars':>13}{'share':>7}{'first':>8}{'chars':>13}{'share':>7}"]
    for c in cols:
        rows = con.execute(f"""SELECT {c}, count(*), sum(length(text)),
                                      count(*) FILTER ({first} = '{c}'), sum(length(text)) FILTER ({first} = '{c}')
                               FROM docs WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1""").fetchall()
        sums = [sum(r[i] or 0 for r in rows) for i in range(1, 5)]
        for label, (n, chars, n1, chars1) in [(c, sums)] + [(f"    {r[0]}", r[1:]) for r in rows]:
            chars, n1, chars1 = chars or 0, n1 or 0, chars1 or 0
            out.append(f"{label:<44}{n:>8,}{chars:>13,}{share(chars, total_chars)}{n1:>8,}{chars1:>13,}"
                       f"{share(chars1, total_chars)}")
    kept = con.execute(f"SELECT count(*), coalesce(sum(length(text)), 0) FROM docs WHERE {first} IS NULL").fetchone()
    out.append(f"kept by every decision: {kept[0]:,} of {total_docs:,} docs ({share(kept[0], total_docs).strip()}), "
               f"{kept[1]:,} of {total_chars:,} chars ({share(kept[1], total_chars).strip()})")
    out.append(f"  select them with: WHERE {' AND '.join(f'{c} IS NULL' for c in cols)}")
    return out + _tag_samples(con, cols, samples)


def _tag_samples(con, cols: list[str], samples: int) -> list[str]:
    out = ["", f"== sample of tagged documents ({samples} per reason)"]
    for c in cols:
        rows = con.execute(f"""SELECT {c}, id, coalesce(url, ''), regexp_replace(left(text, 90), '\\s+', ' ', 'g')
                               FROM (SELECT *, row_number() OVER (PARTITION BY {c} ORDER BY id) AS k FROM docs
                                     WHERE {c} IS NOT NULL) WHERE k <= {int(samples)} ORDER BY 1, 2""").fetchall()
        out += [f"{c}={reason}: {_label(doc_id, url)}\n      {text!r}" for reason, doc_id, url, text in rows]
    return out
