"""DuckDB views over one or many run directories: ``docs``, ``rejects``, ``stats``, ``runs``.

Views are defined with ``union_by_name`` so runs whose steps add different signal columns can be queried together
(a web run and a code run, say); a column a run lacks reads as NULL.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from curate.errors import ConfigError


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _view_sql(con, globs: list[tuple[str, str]]) -> str:
    """The union of every run's files, each row with its ``run`` (the run directory, as in the ``runs`` table), so
    two runs queried together can be told apart; a ``run`` column of the files themselves is kept as it is."""
    if not globs:
        return "SELECT * FROM (SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS run) WHERE false"
    selects = []
    for run, glob in globs:
        source = f"read_parquet({_lit(glob)}, union_by_name = true, filename = 'shard')"
        names = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        selects.append(f"SELECT *{'' if 'run' in names else f', {_lit(run)} AS run'} FROM {source}")
    return " UNION ALL BY NAME ".join(selects)


def connect(run_dirs: list[str | Path]):
    """A read-only-by-construction DuckDB connection (in-memory; the shards are only read) with the views."""
    import duckdb

    roots = [Path(r) for r in run_dirs]
    for r in roots:
        if not (r / "run.json").exists() and not (r / "docs").exists():
            raise ConfigError(f"{r} is not a curate run directory (no run.json)")
    # Offline and local: DuckDB would otherwise download and load an extension (httpfs) for a query naming an
    # https:// or s3:// path. Locked, so no query can turn it back on.
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    parts: dict[str, list[tuple[str, str]]] = {"docs": [], "rejects": [], "stats": []}
    for r in roots:
        if list((r / "docs").glob("*.parquet")):
            parts["docs"].append((str(r), str(r / "docs" / "*.parquet")))
        if list((r / "rejects").glob("*.parquet")):
            parts["rejects"].append((str(r), str(r / "rejects" / "*.parquet")))
        if (r / "stats.parquet").exists():
            parts["stats"].append((str(r), str(r / "stats.parquet")))
    for view, globs in parts.items():
        con.execute(f"CREATE VIEW {view} AS {_view_sql(con, globs)}")
    rows = []
    for r in roots:
        info = json.loads((r / "run.json").read_text()) if (r / "run.json").exists() else {}
        rows.append((str(r), info.get("config", {}).get("name"), info.get("config", {}).get("source"),
                     info.get("status"), info.get("wall_seconds"), info.get("docs"), info.get("rejects")))
    con.execute("CREATE TABLE runs (run VARCHAR, name VARCHAR, source VARCHAR, status VARCHAR, wall_seconds DOUBLE, "
                "docs BIGINT, rejects BIGINT)")
    if rows:
        con.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("SET lock_configuration = true")
    return con


VIEWS = ("docs", "rejects", "stats", "runs")
_NO_EXTENSIONS = " (curate sql reads local files only; it never downloads or loads DuckDB extensions)"


def query(con, sql: str):
    """Run ``sql``; returns (column names, rows). Statements other than queries are refused."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise ConfigError(f"SQL error: {explain(con, sql, e)}") from None
    allowed = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
    if len(statements) != 1 or statements[0].type not in allowed:
        kinds = ", ".join(st.type.name for st in statements) or "nothing"
        raise ConfigError(f"curate sql runs one read-only query (SELECT, WITH, FROM, DESCRIBE...), got: {kinds}")
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return cols, cur.fetchall()
    except duckdb.Error as e:
        raise ConfigError(f"SQL error: {explain(con, sql, e)}") from None


def explain(con, sql: str, error: Exception) -> str:
    """DuckDB's first line, and what exists: for an unknown table the nearest view and the views, for an unknown
    column the nearest column and the columns of the views the query names (docs if none). One line."""
    first = str(error).splitlines()[0]
    if "requires the extension" in first:
        return first + _NO_EXTENSIONS
    if m := re.search(r"Table with name (\S+) does not exist", first):
        return f"{first} ({_nearest(m.group(1), VIEWS)}views: {', '.join(VIEWS)})"
    if m := re.search(r'Referenced column "([^"]+)" not found', first):
        named = [v for v in VIEWS if re.search(rf"\b{v}\b", sql, re.IGNORECASE)] or ["docs"]
        by_view = {v: columns(con, v) for v in named}
        near = _nearest(m.group(1), [c for cols in by_view.values() for c in cols])
        return f"{first} ({near}columns of " + "; ".join(f"{v}: {', '.join(c)}" for v, c in by_view.items()) + ")"
    return first


def _nearest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}? " if close else ""


def columns(con, *views: str) -> list[str]:
    """The columns of ``views`` (docs, rejects ...) in order, each once: what a report may select from them."""
    out: dict[str, None] = {}
    for view in views:
        out.update((row[0], None) for row in con.execute(f"SELECT column_name FROM (DESCRIBE {view})").fetchall())
    return list(out)
