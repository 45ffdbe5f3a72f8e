"""DuckDB views over one or many run directories: ``docs``, ``rejects``, ``stats``, ``runs``.

Views are defined with ``union_by_name`` so runs whose steps add different signal columns can be queried together
(a web run and a code run, say); a column a run lacks reads as NULL.
"""

from __future__ import annotations

import json
from pathlib import Path

from curate.errors import ConfigError


def _glob_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


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
    parts = {"docs": [], "rejects": [], "stats": []}
    for r in roots:
        if list((r / "docs").glob("*.parquet")):
            parts["docs"].append(str(r / "docs" / "*.parquet"))
        if list((r / "rejects").glob("*.parquet")):
            parts["rejects"].append(str(r / "rejects" / "*.parquet"))
        if (r / "stats.parquet").exists():
            parts["stats"].append(str(r / "stats.parquet"))
    for view, globs in parts.items():
        if globs:
            con.execute(
                f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_glob_list(globs)}, union_by_name = true, "
                "filename = 'shard')"
            )
        else:
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM (SELECT NULL::VARCHAR AS id) WHERE false")
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


def query(con, sql: str):
    """Run ``sql``; returns (column names, rows). Statements other than queries are refused."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        if "requires the extension" in first:
            first += " (curate sql reads local files only; it never downloads or loads DuckDB extensions)"
        raise ConfigError(f"SQL error: {first}") from None
    allowed = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
    if len(statements) != 1 or statements[0].type not in allowed:
        kinds = ", ".join(st.type.name for st in statements) or "nothing"
        raise ConfigError(f"curate sql runs one read-only query (SELECT, WITH, FROM, DESCRIBE...), got: {kinds}")
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return cols, cur.fetchall()
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        if "requires the extension" in first:
            first += " (curate sql reads local files only; it never downloads or loads DuckDB extensions)"
        raise ConfigError(f"SQL error: {first}") from None
