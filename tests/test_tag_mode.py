"""Tag, then decide: a run in tag mode keeps every document with each filter's decision in `<prefix>__reason`, and a
SQL `where` over those columns gives back what the filtering run keeps, document for document."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest
from conftest import ROOT, SAMPLES, curate_ok

from curate.config import load_pipeline
from curate.errors import ConfigError
from curate.inspect import connect
from curate.schema import reason_columns

BOOKS = SAMPLES / "books"


def reason_cols(con) -> list[str]:
    return reason_columns(r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE docs)").fetchall())


def untagged(con) -> str:
    """The `where` that keeps what every decision keeps."""
    return " AND ".join(f"{c} IS NULL" for c in reason_cols(con))


def assert_where_equals_filtered(tagged, filtered) -> int:
    t, f = connect([tagged]), connect([filtered])
    selected = t.execute(f"SELECT id, text FROM docs WHERE {untagged(t)} ORDER BY id").fetchall()
    kept = f.execute("SELECT id, text FROM docs ORDER BY id").fetchall()
    assert len(selected) == len(kept) and selected == kept
    return len(kept)


# -- pipelines/web.yaml on the bundled sample -------------------------------------------------------------------------
def test_tagged_web_run_where_selects_exactly_the_filtered_runs_docs(web_tagged_run, web_filtered_run):
    con = connect([web_tagged_run])
    assert reason_cols(con) == [
        "lang_fasttext__reason", "toxicity_sklearn__reason", "gopher_repetition__reason", "gopher__reason",
        "c4__reason", "fineweb__reason", "blocklist__reason", "exact_dup__reason",
    ]
    kept = assert_where_equals_filtered(web_tagged_run, web_filtered_run)
    n_docs, n_rejects = con.execute("SELECT (SELECT count(*) FROM docs), (SELECT count(*) FROM rejects)").fetchone()
    assert n_rejects == 0 and n_docs == 667 > kept  # every page the reader kept is in docs: the whole funnel


def test_first_decision_in_pipeline_order_is_the_filtering_runs_drop(web_tagged_run, web_filtered_run):
    """Each document's first non-null reason is the step and reason that dropped it in the filtering run."""
    t = connect([web_tagged_run])
    first = "coalesce(" + ", ".join(reason_cols(t)) + ")"
    tagged = dict(t.execute(f"SELECT 'dropped_' || {first}, count(*) FROM docs WHERE {first} IS NOT NULL "
                            "GROUP BY 1").fetchall())
    filtered = dict(connect([web_filtered_run]).execute(
        "SELECT metric, sum(value)::BIGINT FROM stats WHERE metric LIKE 'dropped\\_%' ESCAPE '\\' GROUP BY 1"
    ).fetchall())
    assert tagged == filtered and sum(tagged.values()) == 484


def test_tag_stats_count_tagged_not_dropped(web_tagged_run):
    con = connect([web_tagged_run])
    rows = con.execute("""SELECT step, sum(value) FILTER (metric = 'in'), sum(value) FILTER (metric = 'kept'),
                                 sum(value) FILTER (metric = 'dropped'), sum(value) FILTER (metric = 'tagged'),
                                 sum(value) FILTER (metric LIKE 'tagged\\_%' ESCAPE '\\')
                          FROM stats WHERE position > 0 GROUP BY step""").fetchall()
    for step, n_in, kept, dropped, tagged, by_reason in rows:
        assert n_in == kept == 667 and dropped is None and tagged == by_reason, step
    per_reason = dict(con.execute("SELECT gopher__reason, count(*) FROM docs GROUP BY 1").fetchall())
    stats = dict(con.execute("SELECT replace(metric, 'tagged_', ''), value FROM stats "
                             "WHERE step = 'gopher_quality_v1' AND metric LIKE 'tagged\\_%' ESCAPE '\\'").fetchall())
    assert per_reason.pop(None) > 0 and per_reason == stats


def test_signal_columns_re_decide_a_threshold(web_tagged_run):
    """fineweb's first rule, re-decided in SQL from its signal column at the shipped threshold, is its tag."""
    con = connect([web_tagged_run])
    by_tag, by_sql = con.execute("""
        SELECT count(*) FILTER (fineweb__reason = 'fineweb_line_punct'),
               count(*) FILTER (fineweb__reason = 'fineweb_line_punct'
                                AND fineweb__line_punct_ratio < 0.12 AND lang NOT IN ('th', 'lo'))
        FROM docs""").fetchone()
    assert by_tag == by_sql > 0
    assert con.execute("""SELECT count(*) FROM docs WHERE fineweb__reason IS NULL
                          AND fineweb__line_punct_ratio < 0.12 AND lang NOT IN ('th', 'lo')""").fetchone() == (0,)
    # a stricter threshold is a `where` (fineweb's first rule: a document it tags has not been judged by the others,
    # so a looser threshold would also need them re-decided from their columns)
    at = lambda thr: con.execute(f"""SELECT count(*) FROM docs WHERE {untagged(con).replace(
        'fineweb__reason IS NULL', "coalesce(fineweb__reason, 'fineweb_line_punct') = 'fineweb_line_punct'")}
        AND (fineweb__line_punct_ratio >= {thr} OR lang IN ('th', 'lo'))""").fetchone()[0]
    assert at(0.12) == 183 > at(0.95) > 0  # (C4's line filter ran first: most kept pages are at 1.0)


def test_inspect_shows_what_each_decision_would_remove(web_tagged_run):
    out = curate_ok(["inspect", str(web_tagged_run), "--samples", "1"]).output
    assert "== tag mode: what each decision would remove" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["lang_fasttext__reason"][1] == "328" and lines["lang_low_score"][1] == "328"
    assert lines["exact_dup__reason"][4] == "1"  # first in pipeline order: the filtering run's one exact duplicate
    assert "kept by every decision: 183 of 667 docs" in out
    assert "fineweb__reason=fineweb_line_punct:" in out  # a sample of what the decision would remove


# -- books and code, with copies that dedup in tag mode must mark --------------------------------------------------------
def damaged_longer_copy(text: str) -> str:
    """A near-copy of a book that fails book_quality (a U+FFFD every 700 characters: 0.14% > 0.1%) and is longer
    than the original, so only the rule "never keep a tagged copy over an untagged one" keeps the original."""
    chars = list(text)
    for i in range(5000, len(chars) - 5000, 700):
        chars[i] = "\ufffd"
    return "".join(chars) + text[-3000:]


def test_books_pipeline_in_tag_mode(tmp_path):
    second = tmp_path / "second_edition"
    second.mkdir()
    shutil.copy(BOOKS / "macbeth.txt", second / "macbeth.txt")
    (second / "hamlet.txt").write_text(damaged_longer_copy((BOOKS / "hamlet.txt").read_text()))
    args = ["run", str(ROOT / "pipelines" / "books.yaml"), "-i", str(BOOKS / "*.txt"), "-i", str(second / "*.txt")]
    curate_ok(args + ["-o", str(tmp_path / "filtered")])
    curate_ok(args + ["-o", str(tmp_path / "tagged"), "--tag-only"])
    assert assert_where_equals_filtered(tmp_path / "tagged", tmp_path / "filtered") == 8
    rows = connect([tmp_path / "tagged"]).execute("""
        SELECT id, book__reason, exact_dup__reason, exact_dup__duplicate_of, minhash_dedup__reason,
               minhash_dedup__duplicate_of
        FROM docs WHERE id LIKE 'second_edition/%' ORDER BY id""").fetchall()
    assert rows == [
        ("second_edition/hamlet.txt", "book_bad_chars", None, None, "near_duplicate", "books/hamlet.txt"),
        # an exact copy is a near-copy too: each dedup marks it, so either decision alone removes it
        ("second_edition/macbeth.txt", None, "exact_duplicate", "books/macbeth.txt", "near_duplicate",
         "books/macbeth.txt"),
    ]


def test_code_pipeline_in_tag_mode(tmp_path):
    """A fork of a bundled repository: every file an exact copy but one near-copy with a 2,000-character line."""
    fork = tmp_path / "fork"
    shutil.copytree(SAMPLES / "code" / "cpython-json-email", fork)
    patched = next(p for p in sorted(fork.rglob("*.py")) if p.stat().st_size > 20_000)
    patched.write_text(patched.read_text() + "\n# " + "x" * 2000 + "\n")
    args = ["run", str(ROOT / "pipelines" / "code.yaml"), "-i", f"{SAMPLES / 'code'}/*/", "-i", str(fork)]
    curate_ok(args + ["-o", str(tmp_path / "filtered")])
    curate_ok(args + ["-o", str(tmp_path / "tagged"), "--set", "mode=tag"])  # the pipeline's own `mode` key
    assert assert_where_equals_filtered(tmp_path / "tagged", tmp_path / "filtered") == 83
    con = connect([tmp_path / "tagged"])
    forked = con.execute("SELECT count(*) FROM docs WHERE input_file LIKE ?", [f"{fork}%"]).fetchone()[0]
    assert forked > 10 and con.execute("SELECT count(*) FROM docs").fetchone()[0] == 83 + forked
    exact, near = con.execute("""
        SELECT count(*) FILTER (exact_dup__reason = 'exact_duplicate'),
               list((id, code__reason, minhash_dedup__duplicate_of)) FILTER (minhash_dedup__reason = 'near_duplicate'
                                                                            AND exact_dup__reason IS NULL)
        FROM docs""").fetchone()
    # the patched copy is longer, but tagged by code_quality_v1: the untagged original is the one kept
    original = "cpython-json-email/" + str(patched.relative_to(fork))
    assert exact == forked - 1 and [tuple(r) for r in near] == [
        ("fork/" + str(patched.relative_to(fork)), "code_long_line", original)]


# -- config: modes and their errors, before any work ----------------------------------------------------------------------
def write_web(tmp_path, steps_text: str, extra: str = "") -> str:
    text = (ROOT / "pipelines" / "web.yaml").read_text()
    text = text.replace("  - gopher_quality_v1\n", steps_text).replace("samples/", f"{ROOT}/samples/") + extra
    path = tmp_path / "web.yaml"
    path.write_text(text)
    return str(path)


def line_of(path: str, needle: str) -> int:
    return next(i for i, line in enumerate(open(path), 1) if needle in line)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("  - gopher_quality_v1: {mode: bogus}\n", "gopher_quality_v1.mode: must be 'filter' or 'tag', got 'bogus'"),
        ("  - gopher_quality_v1\n  - identity_terms_v1:\n      mode: tag\n",
         "identity_terms_v1 cannot tag: it drops nothing"),
        ("  - gopher_quality_v1\n  - html_extract_v1: {mode: tag}\n", "html_extract_v1 cannot tag: a document it drops"),
    ],
)
def test_bad_step_mode_names_the_yaml_line(tmp_path, step, message):
    path = write_web(tmp_path, step)
    with pytest.raises(ConfigError) as e:
        load_pipeline(path)
    assert str(e.value).startswith(f"{path}:{line_of(path, 'mode:')}: steps[") and message in str(e.value)


def test_bad_pipeline_mode_names_the_yaml_line_and_fails_the_command(tmp_path):
    path = write_web(tmp_path, "  - gopher_quality_v1\n", extra="mode: bogus\n")
    from click.testing import CliRunner

    from curate.cli import main

    result = CliRunner().invoke(main, ["run", path, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and f"{path}:{line_of(path, 'mode: bogus')}: mode:" in result.output
    assert "'filter' or 'tag'" in result.output and not (tmp_path / "out").exists()


def test_modes_resolve_step_over_pipeline_and_tag_only_over_all(tmp_path):
    path = write_web(tmp_path, "  - gopher_quality_v1: {mode: filter}\n", extra="mode: tag\n")
    modes = lambda spec: {s.name: s.mode for s in spec.steps}
    spec = load_pipeline(path)
    assert modes(spec)["gopher_quality_v1"] == "filter" and modes(spec)["c4_quality_v1"] == "tag"
    assert modes(spec)["pii_redact_v1"] == modes(spec)["html_extract_v1"] == "filter"  # transforms; extraction
    assert modes(load_pipeline(path, tag_only=True))["gopher_quality_v1"] == "tag"
    shipped = load_pipeline(ROOT / "pipelines" / "web.yaml", sets=["steps.fineweb_quality_v1.mode=tag"])
    assert [s.name for s in shipped.steps if s.mode == "tag"] == ["fineweb_quality_v1"]
    # a filtering pipeline's resolved config (and so its config hash, what a resumed run is checked against) has
    # no `mode`; a tagged step's has it
    plain = load_pipeline(ROOT / "pipelines" / "web.yaml").resolved()
    assert "mode" not in plain and not any("mode" in params for s in plain["steps"] for params in s.values())
    assert shipped.resolved()["steps"][7]["fineweb_quality_v1"]["mode"] == "tag"


def test_readme_tag_mode_queries_run_on_a_tagged_run(web_tagged_run):
    import shlex

    readme = (ROOT / "README.md").read_text().split("### Tag, then decide")[1].split("```")[1]
    queries = [shlex.split(line) for line in readme.splitlines() if line.startswith("curate sql ")]
    assert len(queries) == 2
    outputs = [curate_ok(["sql", q[2], str(web_tagged_run)]).output for q in queries]
    assert "en" in outputs[0] and outputs[1].count("\n") == 7  # header, rule, 4 thresholds, row count


def test_a_tagged_document_cannot_join_two_untagged_clusters():
    """MinHash clusters: A ~ X ~ B with X tagged by an earlier step. A filtering run never saw X, so A and B stay
    apart; X joins A's cluster and is never its keeper, though it is the longest."""
    import numpy as np

    from curate.steps.dedup.minhash.cluster import keepers
    from curate.steps.dedup.minhash.files import META
    from curate.steps.dedup.minhash.stages import TAGGED_RANK, live_components

    meta = np.zeros(3, META)
    meta["chars"] = [10, 100, 10]
    u, v, nodes = np.array([0, 1]), np.array([1, 2]), np.arange(3)
    untagged = live_components(u, v, meta, nodes)
    assert len(set(untagged)) == 1 and set(keepers(untagged, meta["source_rank"], meta["chars"], nodes)) == {1}
    meta["source_rank"][1] = TAGGED_RANK
    label = live_components(u, v, meta, nodes)
    assert label[0] == label[1] != label[2]
    assert list(keepers(label, meta["source_rank"], meta["chars"], nodes)) == [0, 0, 2]


def test_every_filter_has_a_tag_column_of_its_own():
    """Two steps of one pipeline (or two runs queried together) never write the same tag column, and no tag column
    is another step's signal: `curate steps NAME` shows the column a step writes."""
    from curate.registry import all_steps

    taggable = {n: c for n, c in all_steps().items() if c.taggable()}
    columns = [col for c in taggable.values() for col in c.tag_columns()]
    signals = {col for c in all_steps().values() for col in c.signals}
    assert len(columns) == len(set(columns)) and not set(columns) & signals
    assert taggable["gopher_quality_v1"].tag_columns() == {"gopher__reason": pa.string()}
    assert "gopher_repetition__reason" in taggable["gopher_repetition_v1"].tag_columns()
    assert set(taggable["minhash_dedup_v1"].tag_columns()) == {"minhash_dedup__reason", "minhash_dedup__duplicate_of"}
    assert "html_extract_v1" not in taggable and "pii_redact_v1" not in taggable and "warc_v1" not in taggable


def test_in_tag_mode_a_document_that_breaks_a_step_is_still_an_error_not_a_tag(tmp_path):
    """Exceptions are not decisions: the document is rejected as error_<Exception> and counted, as in filter mode."""
    import pyarrow.parquet as pq
    from datatrove.data import Document

    from curate import schema
    from curate.io import RunLayout
    from curate.steps.filters.book_quality import BookQuality

    sonnets = (BOOKS / "sonnets.txt").read_text()
    docs = [Document(text=sonnets, id="sonnets", metadata={}),
            Document(text=" ".join(sonnets.split()[:150]), id="fragment", metadata={}),
            Document(text=None, id="no-text", metadata={})]  # e.g. a null text column read from Parquet
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(BookQuality.name, {**BookQuality.signals,
                                                                                  **BookQuality.tag_columns()})]))
    step = BookQuality(BookQuality.Params(), layout, stage="t", index=1, mode="tag")
    kept = {d.id: d.metadata.get("book__reason") for d in step.run(iter(docs))}
    assert kept == {"sonnets": None, "fragment": "book_too_short"}
    [rejected] = pq.read_table(next((tmp_path / "rejects").glob("*.parquet"))).to_pylist()
    assert (rejected["id"], rejected["reason"]) == ("no-text", "error_AttributeError")
    stats = {r["metric"]: r["value"] for r in pq.read_table(next((tmp_path / "_work").rglob("*.parquet"))).to_pylist()}
    assert stats["tagged_book_too_short"] == stats["error_AttributeError"] == stats["dropped"] == 1 and stats["kept"] == 2
