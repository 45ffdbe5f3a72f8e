"""The `curate inspect` section on tokens (``tokens``, from token_count_v1): kept per source and language, removed
per step and reason. Empty when no run of the connection counted tokens."""

from __future__ import annotations

from curate.inspect import columns


def token_lines(con) -> list[str]:
    if "tokens" not in columns(con, "docs", "rejects"):
        return []
    out = ["", "== tokens (token_count_v1): kept per source and language"]
    rows = con.execute("SELECT source, lang, count(*), sum(tokens) FROM docs WHERE tokens IS NOT NULL "
                       "GROUP BY ALL ORDER BY 4 DESC").fetchall()
    out += [f"{s or '-':<8}{lang or '-':<8}{d:>8,} docs {t or 0:>14,} tokens" for s, lang, d, t in rows]
    out += ["", "== tokens removed per step and reason"]
    if "tokens" in columns(con, "rejects"):
        rows = con.execute("SELECT step, reason, count(*), sum(tokens) FROM rejects WHERE tokens IS NOT NULL "
                           "GROUP BY ALL ORDER BY 4 DESC").fetchall()
        out += [f"{step}/{reason:<40}{d:>8,} docs {t or 0:>14,} tokens" for step, reason, d, t in rows]
    return out
