"""No file of a run holds what a redaction step of its pipeline removes: docs/, rejects/ and the intermediate shards.

web.yaml redacts PII last, after the filters, so that they judge the original text; its Gopher filters drop pages of
the bundled sample that carry real e-mail addresses (mailing lists, authors of Python packages). Those rejects, and
every page crossing exact dedup in an intermediate shard, are written redacted all the same (curate.redaction).
"""

from __future__ import annotations

import re
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, run_rows

from curate.signals.pii import EMAIL

# An independent, simpler pattern than the PII signal's (RFC 5322 local parts, IP-literal domains): anything@host.tld
SIMPLE_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
STAND_IN = "email@example.com"  # pii_redact_v1's default replacement, itself an address


def addresses(run_dir) -> list[tuple[str, str, str]]:
    """(file, column, address) of every e-mail address but the stand-in, in any string column of any Parquet file
    under ``run_dir``: found by DuckDB with the simple pattern, and by Python with the PII signal's own pattern (its
    look-ahead is not RE2, which DuckDB speaks)."""
    con = duckdb.connect()
    found = []
    for path in sorted(run_dir.rglob("*.parquet")):
        for field in pq.read_schema(path):
            if str(field.type) not in ("string", "large_string"):
                continue
            rows = con.execute(
                f'SELECT DISTINCT unnest(regexp_extract_all("{field.name}", ?)) AS a FROM read_parquet(?)',
                [SIMPLE_EMAIL, str(path)],
            ).fetchall()
            values = pq.read_table(path, columns=[field.name])[field.name].to_pylist()
            rows += [(m.group(0),) for v in values if v for m in EMAIL.finditer(v)]
            found += [(str(path.relative_to(run_dir)), field.name, a) for (a,) in rows if a != STAND_IN]
    return found


def run_keeping_intermediate_shards(pipeline: str, out, copy_to):
    """Run ``pipeline`` as `curate run` does, copying the intermediate shards aside before the last stage deletes them."""
    from curate.compile import build_executors, build_layout, build_stages
    from curate.config import load_pipeline
    from curate.manifest import start_run
    from curate.steps.internal.datatrove_patches import quiet_datatrove

    spec = load_pipeline(ROOT / "pipelines" / pipeline, output=str(out))  # ROOT / an absolute path: that path
    spec.input.paths = [str(ROOT / p) for p in spec.input.paths]
    layout = build_layout(spec)
    stages = build_stages(spec, layout)
    start_run(layout, spec.resolved(), ["curate", "run", pipeline])
    quiet_datatrove()
    executors = build_executors(spec, layout, stages)
    executors[-2].run()
    segments = sorted(layout.work.glob("segment*"))
    assert segments and all(any(s.glob("*.parquet")) for s in segments)  # a global step: intermediate shards exist
    for seg in segments:
        shutil.copytree(seg, copy_to / seg.name)  # creates copy_to
    executors[-1].run()  # finalize: stats.parquet, run.json; deletes the intermediate shards
    return out


@pytest.fixture(scope="module")
def web_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redaction")
    return run_keeping_intermediate_shards("web.yaml", tmp / "run", tmp / "intermediate"), tmp / "intermediate"


def test_simple_pattern_finds_what_the_sample_holds(web_pages):
    """The check below can fail: the bundled sample's pages hold real addresses before any redaction."""
    raw = {a for _, text, _ in web_pages for a in re.findall(SIMPLE_EMAIL, text)}
    assert len(raw - {STAND_IN}) >= 10


def test_no_email_address_anywhere_in_a_web_run(web_run):
    out, intermediate = web_run
    assert addresses(out) == []
    assert addresses(intermediate) == []


def test_filters_still_judged_the_original_text_and_rejects_say_what_was_redacted(web_run):
    out, _ = web_run
    # pages the Gopher filters dropped held addresses: their rejected rows count them and show the stand-in instead
    rows = run_rows(out, "SELECT step, sum(pii__email), count(*) FROM rejects WHERE pii__email > 0 GROUP BY step")
    assert {step for step, _, _ in rows} >= {"gopher_quality_v1"}
    assert sum(n for _, n, _ in rows) >= 20
    (stand_ins,) = run_rows(out, f"SELECT sum(len(string_split(text, '{STAND_IN}')) - 1) FROM rejects")[0]
    assert stand_ins >= sum(n for _, n, _ in rows)
    # the pii step, after exact dedup, read redacted intermediate shards back and still counted what was replaced
    kept = run_rows(out, "SELECT coalesce(sum(pii__email), 0) FROM docs")[0][0]
    metric = run_rows(out, "SELECT coalesce(sum(value), 0) FROM stats WHERE metric = 'redacted_email'")[0][0]
    assert kept >= 1 and metric == kept


def test_no_address_anywhere_in_a_code_run_wherever_the_redaction_step_stands(tmp_path):
    """code.yaml redacts first; moved last, behind both dedup steps, the run must write no address all the same."""
    shipped = (ROOT / "pipelines" / "code.yaml").read_text()
    moved = shipped.replace("  - code_redact_v1", "  # code_redact_v1 moved last").replace(
        "  - minhash_dedup_v1", "  - minhash_dedup_v1\n  - code_redact_v1", 1
    )
    assert moved.count("- code_redact_v1") == 1 and moved.index("- code_redact_v1") > moved.index("- minhash_dedup")
    (tmp_path / "code_last.yaml").write_text(moved)
    first = run_keeping_intermediate_shards(ROOT / "pipelines" / "code.yaml", tmp_path / "first", tmp_path / "i1")
    last = run_keeping_intermediate_shards(tmp_path / "code_last.yaml", tmp_path / "last", tmp_path / "i2")
    for out in (first, last, tmp_path / "i1", tmp_path / "i2"):
        assert addresses(out) == [], out
    # same redacted text and the same counts either way: the step counted what the writers replaced
    sql = "SELECT id, text, redact__emails FROM docs ORDER BY id"
    assert run_rows(first, sql) == run_rows(last, sql)
    metric = "SELECT sum(value) FROM stats WHERE metric = 'redacted_email'"
    assert run_rows(first, metric) == run_rows(last, metric) and run_rows(first, metric)[0][0] >= 20
