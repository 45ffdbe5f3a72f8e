"""pipelines/web.yaml end to end on the bundled WARC, checked with DuckDB: what a user relies on after `curate run`."""

from __future__ import annotations

import json

import pytest
from conftest import WEB_SAMPLE

from curate.inspect import connect
from curate.registry import all_steps


@pytest.fixture(scope="module")
def web_run(web_filtered_run):
    return web_filtered_run, connect([web_filtered_run])


def q(con, sql):
    return con.execute(sql).fetchall()


def test_funnel_accounts_for_every_document(web_run):
    out, con = web_run
    info = json.loads((out / "run.json").read_text())
    steps = q(con, """SELECT position, step, sum(value) FILTER (metric = 'in'), sum(value) FILTER (metric = 'kept'),
                             coalesce(sum(value) FILTER (metric = 'dropped'), 0)
                      FROM stats GROUP BY ALL ORDER BY position""")
    reader = steps[0]
    assert reader[1] == "warc_v1" and reader[3] == 667  # 667 HTML responses of 688 records
    previous_kept = reader[3]
    for position, step, n_in, kept, dropped in steps[1:]:
        assert n_in == previous_kept and n_in == kept + dropped, step
        previous_kept = kept
    assert previous_kept == info["docs"] == q(con, "SELECT count(*) FROM docs")[0][0]
    assert info["rejects"] == q(con, "SELECT count(*) FROM rejects")[0][0] == sum(s[4] for s in steps)


@pytest.mark.parametrize("which", ["web_filtered_run", "web_tagged_run"])
def test_the_printed_funnel_says_what_sql_over_stats_says(which, request):
    """`curate run` prints its funnel from stats.parquet without DuckDB: every number of every line is what SQL over
    the stats view gives (steps in pipeline order; each step's reasons, largest first)."""
    from curate.funnel import funnel_lines
    from curate.io import read_parquet

    out = request.getfixturevalue(which)
    lines = funnel_lines(read_parquet(out / "stats.parquet").to_pylist())
    steps = [ln.split() for ln in lines[1:] if not ln.startswith(" ")]
    reasons = [ln.split() for ln in lines[1:] if ln.startswith(" ")]
    con = connect([out])
    expected = q(con, """SELECT step, coalesce(sum(value) FILTER (metric = 'in'), 0), coalesce(sum(value) FILTER
                                (metric = 'kept'), 0), coalesce(sum(value) FILTER (metric = 'dropped'), 0),
                                coalesce(sum(value) FILTER (metric = 'tagged'), 0)
                         FROM stats WHERE position > 0 GROUP BY position, step ORDER BY position""")
    tagged = which == "web_tagged_run"
    assert lines[0].split()[-1] == ("tagged" if tagged else "seconds")
    assert [(s[0], *map(int, (x.replace(",", "") for x in s[1:4])), int(s[5].replace(",", "")) if tagged else 0)
            for s in steps[1:]] == expected
    assert steps[0][0] == "warc_v1" and int(steps[0][2]) == 667
    by_reason = q(con, """SELECT metric, sum(value)::BIGINT AS n FROM stats WHERE metric LIKE 'dropped\\_%' ESCAPE '\\'
                          OR metric LIKE 'tagged\\_%' ESCAPE '\\' OR metric LIKE 'skipped\\_%' ESCAPE '\\'
                          OR metric LIKE 'error\\_%' ESCAPE '\\' GROUP BY position, step, metric
                          ORDER BY position, n DESC, metric""")
    assert [(m, int(n.replace(",", ""))) for m, n in reasons] == by_reason and len(by_reason) > 10


def test_records_that_are_not_pages_are_counted_with_their_file(web_run):
    _, con = web_run
    skipped = dict(q(con, "SELECT metric, sum(value) FROM stats WHERE metric LIKE 'skipped_%' AND file = "
                          f"'{WEB_SAMPLE}' GROUP BY metric"))
    assert skipped == {"skipped_non_html": 8, "skipped_not_response": 13}  # png/svg/css/js; warcinfo+request+metadata


def test_every_reject_has_a_declared_reason(web_run):
    _, con = web_run
    registry = all_steps()
    for step, reason in q(con, "SELECT DISTINCT step, reason FROM rejects"):
        assert reason in registry[step].reasons, (step, reason)


def test_kept_documents_are_language_tagged_and_multilingual(web_run):
    _, con = web_run
    assert q(con, "SELECT count(*) FROM docs WHERE lang IS NULL OR lang_score < 0.65") == [(0,)]
    langs = dict(q(con, "SELECT lang, count(*) FROM docs GROUP BY lang"))
    assert len(langs) >= 20 and langs["en"] >= 50
    assert {"de", "es", "fr", "ja", "ru", "zh"} <= set(langs)  # non-English pages survive the quality rules


@pytest.mark.parametrize(
    ("page", "phrase"),
    [
        ("spa.html", "Declaración Universal de los Derechos"),  # windows-1252, HTTP header
        ("deu_1996.html", "Allgemeine Erklärung der Menschenrechte"),  # cp1252 bytes labelled ISO-8859-1
        ("fra.html", "Déclaration universelle des droits"),
        ("rus.html", "Всеобщую декларацию прав человека"),  # windows-1251 in <meta http-equiv> only
        ("jpn.html", "世界人権宣言"),  # Shift_JIS
        ("jpn_tokyo.html", "世界人権宣言"),  # EUC-JP in <meta charset> only
        ("cmn_hans.html", "人人生而自由"),  # GB2312
        ("cmn_hant.html", "人人生而自由"),  # Big5 in <meta charset> only
    ],
)
def test_legacy_encodings_decode_to_the_right_text(web_run, page, phrase):
    _, con = web_run
    (text,) = q(con, f"SELECT text FROM docs WHERE url = 'https://www.ohchr.org/udhr/{page}'")[0]  # and kept
    assert phrase in text and "\ufffd" not in text


def test_duplicates_point_at_a_kept_document(web_run):
    _, con = web_run
    dups = q(con, "SELECT r.duplicate_of, d.id FROM rejects r LEFT JOIN docs d ON d.id = r.duplicate_of "
                  "WHERE r.reason = 'exact_duplicate'")
    assert dups and all(kept is not None for _, kept in dups)


def test_signals_are_columns_on_kept_and_rejected_rows(web_run):
    _, con = web_run
    assert q(con, "SELECT count(*) FROM docs WHERE gopher__word_count IS NULL OR c4__lines IS NULL") == [(0,)]
    # rows dropped by Gopher quality still carry what it measured
    assert q(con, "SELECT count(*) FROM rejects WHERE step = 'gopher_quality_v1' AND gopher__word_count IS NULL") == [
        (0,)]
    assert q(con, "SELECT count(*) FROM docs WHERE lang = 'en' AND toxicity IS NULL") == [(0,)]
