"""The `curate inspect` section on tokens (``tokens``, from token_count_v1): kept per source and language, removed
per step and reason. Empty when no run of the connection counted tokens."""

from __future__ import annotations


def _has_tokens(con) -> bool:
    return any(r[0] == "tokens" for v in ("docs", "rejects") for r in con.execute(f"DESCRIBE {v}").fetchall())


def token_lines(con) -> list[str]:
    if not _has_tokens(con):
        return []
    out = ["", "== tokens (token_count_v1): kept per source and language"]
    rows = con.execute("SELECT source, lang, count(*), sum(tokens) FROM docs WHERE tokens IS NOT NULL "
                       "GROUP BY ALL ORDER BY 4 DESC").fetchall()
    out += [f"{s or '-':<8}{lang or '-':<8}{d:>8,} docs {t or 0:>14,} tokens" for s, lang, d, t in rows]
    out += ["", "== tokens removed per step and reason"]
    cols = {r[0] for r in con.execute("DESCRIBE rejects").fetchall()}
    if "tokens" in cols:
        rows = con.execute("SELECT step, reason, count(*), sum(tokens) FROM rejects WHERE tokens IS NOT NULL "
                           "GROUP BY ALL ORDER BY 4 DESC").fetchall()
        out += [f"{step}/{reason:<40}{d:>8,} docs {t or 0:>14,} tokens" for step, reason, d, t in rows]
    return out
