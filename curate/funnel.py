"""The funnel of a run (per step and reason), and the `curate inspect` report, computed with DuckDB from stats."""

from __future__ import annotations

FUNNEL_SQL = """
SELECT position, step,
       sum(value) FILTER (WHERE metric = 'in') AS n_in,
       sum(value) FILTER (WHERE metric = 'kept') AS kept,
       sum(value) FILTER (WHERE metric = 'dropped') AS dropped,
       sum(value) FILTER (WHERE metric = 'seconds') AS seconds
FROM stats GROUP BY position, step ORDER BY position, min(stage)
"""

REASONS_SQL = """
SELECT position, step, metric, sum(value)::BIGINT AS n
FROM stats
WHERE metric LIKE 'dropped\\_%' ESCAPE '\\' OR metric LIKE 'error\\_%' ESCAPE '\\'
   OR metric LIKE 'skipped\\_%' ESCAPE '\\'
GROUP BY ALL ORDER BY position, n DESC, metric
"""


def _fmt(v) -> str:
    return "-" if v is None else f"{int(v):,}"


def funnel_lines(con) -> list[str]:
    """One line per step (in, kept, dropped, seconds) followed by its reasons, indented."""
    reasons: dict = {}
    for position, step, metric, n in con.execute(REASONS_SQL).fetchall():
        reasons.setdefault((position, step), []).append((metric, n))
    out = [f"{'step':<28}{'in':>10}{'kept':>10}{'dropped':>10}{'seconds':>10}"]
    for position, step, n_in, kept, dropped, seconds in con.execute(FUNNEL_SQL).fetchall():
        if position == 0:
            n_in = sum(n for m, n in reasons.get((position, step), [])) + (kept or 0)
        # a step that saw no document has no in/kept rows: it received and kept 0
        out.append(f"{step:<28}{_fmt(n_in or 0):>10}{_fmt(kept or 0):>10}{_fmt(dropped or 0):>10}{(seconds or 0):>10.1f}")
        for metric, n in reasons.get((position, step), []):
            out.append(f"    {metric:<44}{n:>10,}")
    return out


def inspect_lines(con, samples: int = 2) -> list[str]:
    out = ["== runs"]
    for run, name, source, status, wall, docs, rejects in con.execute("SELECT * FROM runs").fetchall():
        out.append(f"{run}: {name} ({source}) {status}, {_fmt(docs)} docs, {_fmt(rejects)} rejects, {wall or 0:.1f} s")
    out += ["", "== funnel (per step and reason)"] + funnel_lines(con)
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
    rows = con.execute(
        f"""SELECT step, reason, id, coalesce(url, ''), regexp_replace(left(text, 90), '\\s+', ' ', 'g')
            FROM (SELECT *, row_number() OVER (PARTITION BY step, reason ORDER BY id) AS k FROM rejects)
            WHERE k <= {int(samples)} ORDER BY step, reason, id"""
    ).fetchall()
    for step, reason, doc_id, url, text in rows:
        out.append(f"{step}/{reason}: {url or doc_id}\n      {text!r}")
    return out


def _per_lang_section(con) -> list[str]:
    """Removal per language at steps that used per-language thresholds (curate.per_lang_report), if any."""
    from curate.per_lang_report import per_lang_lines

    return per_lang_lines(con, [r[0] for r in con.execute("SELECT run FROM runs").fetchall()])


def _token_section(con) -> list[str]:
    """Tokens kept per source and language, removed per filter (curate.token_report), if the run counted them."""
    from curate.token_report import token_lines

    return token_lines(con)
