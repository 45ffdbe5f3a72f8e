"""url_filter_v1 before extraction, on the sample WARC's real URLs (docs.python.org, www.ohchr.org,
docutils.sourceforge.io), with a small UT1-layout block list built here from real domains and URL prefixes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import WEB_SAMPLE, curate_ok, run_rows

from curate.cli import main


def expected(url: str) -> str | None:
    """What the lists below should block a URL for, written out by hand."""
    if "://www.ohchr.org/" in url and not url.endswith("/udhr/eng.html"):
        return "udhr"
    if url.startswith("https://docs.python.org/3.11/library/"):
        return "pydoc"
    if url.startswith("https://docutils.sourceforge.io/"):
        return "banned_word"
    return None


@pytest.fixture
def lists(tmp_path):
    root = tmp_path / "ut1"
    for category, kind, lines in [
        ("udhr", "domains", ["# UT1-style comment", "ohchr.org"]),  # the pages are on www.ohchr.org: a subdomain
        ("pydoc", "urls", ["docs.python.org/3.11/library/"]),  # a URL prefix: c-api, tutorial... stay
        ("unused", "domains", ["python.org"]),  # a category left out by `categories`
    ]:
        (root / category).mkdir(parents=True)
        (root / category / kind).write_text("\n".join(lines) + "\n")
    (tmp_path / "hosting.txt").write_text("sourceforge.net\nexample.com/docutils/\n")  # near-misses: .io, path
    (tmp_path / "allow.txt").write_text("https://www.ohchr.org/udhr/eng.html\n")
    return root, tmp_path / "hosting.txt", tmp_path / "allow.txt"


def pipeline(tmp_path, step: str, reader: str = "warc_v1", paths: str = str(WEB_SAMPLE)) -> str:
    (tmp_path / "p.yaml").write_text(f"""name: urls
source: web
input: {{reader: {reader}, paths: [{paths}]}}
steps:
  - {step}
  - html_extract_v1
output: {tmp_path / 'run'}
executor: {{type: local, tasks: 1}}
""")
    return str(tmp_path / "p.yaml")


def test_blocks_by_category_subdomain_url_prefix_and_host_word_with_allowlist(tmp_path, lists):
    root, hosting, allow = lists
    step = (f"url_filter_v1: {{blocklists: [{root}, {hosting}], categories: [udhr, pydoc], allowlist: [{allow}], "
            "banned_words: [docutils]}")
    curate_ok(["run", pipeline(tmp_path, step)])
    run = tmp_path / "run"
    rejected = run_rows(run, "SELECT url, url__category, reason FROM rejects WHERE step = 'url_filter_v1'")
    kept = run_rows(run, "SELECT url, url__category, url__allowed FROM docs")
    assert rejected and all(reason == "url_blocked" for _, _, reason in rejected)
    assert all(cat == expected(url) for url, cat, _ in rejected)
    assert all(expected(url) is None for url, _, _ in kept)  # nothing it should block got through
    counts = {}
    for _, cat, _ in rejected:
        counts[cat] = counts.get(cat, 0) + 1
    assert counts["udhr"] > 300 and counts["pydoc"] > 100 and counts["banned_word"] > 10
    allowed = [(url, cat) for url, cat, ok in kept if ok]
    assert allowed == [("https://www.ohchr.org/udhr/eng.html", "udhr")]
    stats = dict(run_rows(run, "SELECT metric, sum(value) FROM stats WHERE step = 'url_filter_v1' GROUP BY 1"))
    assert stats["blocked_udhr"] == counts["udhr"] and stats["allowed_udhr"] == 1


def test_documents_without_url_pass_and_are_counted(tmp_path, lists):
    root, _, _ = lists
    (tmp_path / "d.jsonl").write_text(json.dumps({"id": "a", "text": "<p>no url here</p>"}) + "\n" +
                                      json.dumps({"id": "b", "text": "<p>x</p>", "url": "http://en.ohchr.org/x"}) + "\n")
    curate_ok(["run", pipeline(tmp_path, f"url_filter_v1: {{blocklists: [{root}]}}", "jsonl_v1", tmp_path / "d.jsonl")])
    stats = dict(run_rows(tmp_path / "run", "SELECT metric, sum(value) FROM stats WHERE step = 'url_filter_v1' "
                                            "GROUP BY 1"))
    assert stats["skipped_no_url"] == 1 and stats["dropped_url_blocked"] == 1 and stats["kept"] == 1


def test_missing_list_fails_before_work_naming_the_line(tmp_path):
    result = CliRunner().invoke(main, ["run", pipeline(tmp_path, f"url_filter_v1: {{blocklists: [{tmp_path}/nope]}}")])
    assert result.exit_code == 1 and "p.yaml:5" in result.output and "no such file or folder" in result.output
    assert not (tmp_path / "run").exists()
