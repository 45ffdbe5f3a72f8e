"""`curate sql` and `curate inspect`: DuckDB views over one or many runs, read-only, one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from curate.cli import main


def cli(*args):
    return CliRunner().invoke(main, list(args))


def make_run(tiny_pipeline, tmp_path, name, source):
    out = tmp_path / name
    r = cli("run", str(tiny_pipeline), "-o", str(out), "--set", f"source={source}")
    assert r.exit_code == 0, r.output
    return str(out)


def test_sql_formats_and_many_runs(tmp_path, tiny_pipeline):
    a = make_run(tiny_pipeline, tmp_path, "a", "code")
    b = make_run(tiny_pipeline, tmp_path, "b", "books")
    q = "SELECT source, count(*) AS n FROM docs GROUP BY source ORDER BY source"
    table = cli("sql", q, a, b)
    assert table.exit_code == 0 and "books" in table.output and "(2 rows)" in table.output
    assert cli("sql", q, a, b, "--format", "csv").output.splitlines() == ["source,n", "books,12", "code,12"]
    js = [json.loads(line) for line in cli("sql", q, a, b, "--format", "json").output.splitlines()]
    assert js == [{"source": "books", "n": 12}, {"source": "code", "n": 12}]
    runs = cli("sql", "SELECT count(*) FROM runs WHERE status = 'complete'", a, b, "--format", "csv")
    assert runs.output.splitlines()[1] == "2"


def test_sql_is_read_only_and_errors_are_one_line(tmp_path, tiny_pipeline):
    a = make_run(tiny_pipeline, tmp_path, "a", "code")
    for bad in ("DROP VIEW docs", f"COPY (SELECT 1) TO '{tmp_path}/x.csv'", "SELECT 1; SELECT 2"):
        r = cli("sql", bad, a)
        assert r.exit_code == 1 and "read-only" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.csv").exists()
    r = cli("sql", "SELECT nope FROM docs", a)
    assert r.exit_code == 1 and r.output.startswith("Error: SQL error:") and len(r.output.strip().splitlines()) == 1
    r = cli("sql", "SELECT 1", str(tmp_path / "missing"))
    assert r.exit_code == 1 and "not a curate run directory" in r.output


def test_sql_errors_point_at_what_exists(tmp_path, tiny_pipeline):
    a = make_run(tiny_pipeline, tmp_path, "a", "code")
    r = cli("sql", "SELECT count(*) FROM doc", a)
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1
    assert "did you mean 'docs'?" in r.output and "views: docs, rejects, stats, runs" in r.output
    r = cli("sql", "SELECT id FROM docs WHERE sorce = 'code'", a)
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1
    assert "did you mean 'source'?" in r.output
    listed = r.output.split("columns of docs: ")[1].rstrip(")\n").split(", ")
    assert {"id", "text", "source", "exact_dup__hash", "run"} <= set(listed)  # the run's own columns
    r = cli("sql", "SELECT metrc FROM stats", a)
    assert "did you mean 'metric'?" in r.output and "columns of stats: " in r.output and "text" not in r.output


def test_two_runs_queried_together_have_a_run_column(tmp_path, tiny_pipeline):
    a = make_run(tiny_pipeline, tmp_path, "a", "code")
    b = make_run(tiny_pipeline, tmp_path, "b", "books")
    q = ("SELECT run, count(*) FROM (SELECT run FROM docs UNION ALL SELECT run FROM rejects UNION ALL "
         "SELECT DISTINCT run FROM stats) GROUP BY run ORDER BY run")
    rows = cli("sql", q, a, b, "--format", "csv").output.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [a, b]
    joined = cli("sql", "SELECT run, r.source, count(*) FROM docs JOIN runs r USING (run) GROUP BY ALL ORDER BY 1",
                 a, b, "--format", "csv")
    assert joined.output.splitlines()[1:] == [f"{a},code,12", f"{b},books,12"]  # 12 documents kept per run


def test_sql_never_reaches_for_the_network(tmp_path, tiny_pipeline, monkeypatch):
    """A remote path is refused at once with one line: DuckDB must not download (or load) its httpfs extension."""
    a = make_run(tiny_pipeline, tmp_path, "a", "code")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # DuckDB installs extensions under ~/.duckdb
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")  # a download attempt, if any, fails here instead of hanging
    for path in ("https://example.com/data.csv", "s3://bucket/data.parquet"):
        r = cli("sql", f"SELECT * FROM read_csv('{path}')", a)
        assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1, r.output
        assert "local files only" in r.output and "Traceback" not in r.output
    assert not any(home.rglob("*"))  # nothing installed
    r = cli("sql", "SELECT count(*) FROM duckdb_extensions() WHERE loaded AND extension_name = 'httpfs'", a,
            "--format", "csv")
    assert r.output.splitlines() == ["count_star()", "0"]


def test_inspect_prints_funnel_languages_sizes_and_rejects(tmp_path, tiny_pipeline):
    a = make_run(tiny_pipeline, tmp_path, "a", "code")
    out = cli("inspect", a).output
    for section in ("== funnel", "== kept documents per source and language", "== sizes", "== sample of rejects"):
        assert section in out
    assert "dropped_exact_duplicate" in out and "error_invalid_json" in out
    assert "exact_dedup_v1/exact_duplicate" in out


def test_inspect_names_sample_rejects_by_id_when_documents_share_a_url(tmp_path, tiny_pipeline, jsonl_input):
    """Pages of one URL (a mirror, a crawl that saw a page twice) are told apart by id; the URL follows it."""
    for f in tmp_path.glob("input-*.jsonl"):
        rows = [json.loads(line) if line.startswith("{\"") else line for line in f.read_text().splitlines()]
        f.write_text("".join((json.dumps({**r, "url": "https://mirror.example/page"}) if isinstance(r, dict) else r)
                             + "\n" for r in rows))
    out = cli("inspect", make_run(tiny_pipeline, tmp_path, "a", "code")).output
    assert "exact_dedup_v1/exact_duplicate: copy-of-0  https://mirror.example/page" in out
    assert "exact_dedup_v1/exact_duplicate: upper-copy-of-1  https://mirror.example/page" in out

