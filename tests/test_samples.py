"""The committed sample data (samples/) is what the docs, notebooks and end-to-end tests run on: check that it is
intact and still has the properties those rely on. Reads only committed files; no network."""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
WARC = SAMPLES / "web" / "sample.warc.gz"
# WHATWG decodes these labels with a superset codec (a page labelled ISO-8859-1 is decoded as windows-1252)
WHATWG = {"iso-8859-1": "cp1252", "gb2312": "gbk"}
# The committed WARC may hold only permissively licensed / public-domain pages (share-alike and GPL sources, such as
# debian-handbook, are for larger builds that are not committed): see samples/NOTICE.md.
PERMISSIVE_SOURCES = {"udhr", "pydoc", "docutils"}
PERMISSIVE_HOSTS = {"www.ohchr.org", "docs.python.org", "docutils.sourceforge.io", "docutils.sourceforge.net"}


def _charset(content_type: str) -> str | None:
    m = re.search(r"charset=([\w-]+)", content_type or "", re.IGNORECASE)
    return m.group(1).lower() if m else None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _read_index() -> list[dict]:
    with open(SAMPLES / "web" / "sample.index.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def records() -> list[dict]:
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with open(WARC, "rb") as f:
        for rec in ArchiveIterator(f):
            ctype = rec.http_headers.get_header("Content-Type") if rec.http_headers else None
            out.append(
                {
                    "type": rec.rec_type,
                    "url": rec.rec_headers.get_header("WARC-Target-URI"),
                    "ctype": ctype,
                    "payload": rec.content_stream().read(),
                }
            )
    return out


@pytest.fixture(scope="module")
def html_pages(records) -> list[dict]:
    return [r for r in records if r["type"] == "response" and r["ctype"].startswith("text/html")]


def test_warc_is_a_crawl_with_warcinfo_first_and_records_readers_must_skip(records):
    types = Counter(r["type"] for r in records)
    assert records[0]["type"] == "warcinfo"
    assert types["response"] >= 500
    assert types["request"] >= 1 and types["metadata"] >= 1
    assert WARC.stat().st_size <= 4 * 2**20


def test_warc_holds_no_share_alike_or_gpl_pages(records):
    index = _read_index()
    assert {row["source"] for row in index} <= PERMISSIVE_SOURCES
    hosts = {r["url"].split("/")[2] for r in records if r["type"] in ("response", "request", "metadata")}
    assert hosts <= PERMISSIVE_HOSTS
    info = records[0]["payload"].decode("utf-8")
    assert "handbook" not in info and "GPL" not in info and "CC-BY-SA" not in info
    notice = (SAMPLES / "NOTICE.md").read_text("utf-8")
    assert "no share-alike or GPL" in notice


def test_warc_is_multilingual_and_not_mostly_english(html_pages):
    langs = set()
    for r in html_pages:
        m = re.search(rb'<html[^>]*\blang="([A-Za-z]+)', r["payload"][:2000])
        if m:
            langs.add(m.group(1).decode().lower())
    assert len(langs) >= 8
    assert {"en", "de", "fr", "es", "it", "ja", "zh", "pt", "ru", "ar", "hi", "ko"} <= langs
    index = _read_index()
    html_langs = Counter(row["lang"] for row in index if row["content_type"].startswith("text/html"))
    assert len(html_langs) >= 300  # the UDHR in many languages, most of them one page each
    assert 0.25 <= html_langs["en"] / sum(html_langs.values()) <= 0.40  # English prose, but not most of it


def test_index_matches_the_warc_responses(records):
    index = _read_index()
    assert [row["url"] for row in index] == [r["url"] for r in records if r["type"] == "response"]


def test_legacy_charsets_declared_in_http_header_decode_only_with_that_charset(html_pages):
    legacy = {}
    for r in html_pages:
        cs = _charset(r["ctype"])
        if cs and cs != "utf-8":
            legacy.setdefault(cs, []).append(r)
            assert not _is_utf8(r["payload"]), r["url"]
            r["payload"].decode(WHATWG.get(cs, cs))  # strict: the declared charset must fit the bytes
    assert {"windows-1252", "shift_jis"} <= set(legacy)
    assert {"gbk", "gb2312"} & set(legacy)
    lang_of = {row["url"]: row["lang"] for row in _read_index()}
    langs = {lang_of[r["url"]] for cs in ("windows-1252", "iso-8859-1") for r in legacy.get(cs, [])}
    assert langs & {"fr", "es", "de"}


def test_some_pages_declare_their_charset_only_in_a_meta_tag(html_pages):
    meta_only = []
    for r in html_pages:
        if _charset(r["ctype"]) is None and not _is_utf8(r["payload"]):
            m = re.search(rb'<meta[^>]*charset="?([\w-]+)', r["payload"][:3000], re.IGNORECASE)
            assert m, r["url"]
            r["payload"].decode(codecs.lookup(m.group(1).decode()).name)
            meta_only.append(r["url"])
    assert len(meta_only) >= 2


def test_non_html_responses_carry_their_real_content_type(records):
    by_type = {}
    for r in records:
        if r["type"] == "response" and not r["ctype"].startswith("text/html"):
            by_type.setdefault(r["ctype"].split(";")[0], []).append(r["payload"])
    assert {"image/png", "image/svg+xml", "text/css", "text/javascript"} <= set(by_type)
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in by_type["image/png"])
    assert all(b"<svg" in p[:2000] for p in by_type["image/svg+xml"])


def test_some_pages_are_xhtml_and_say_so(records):
    """XHTML pages (`<?xml ...?>` first) served as text/html: readers that sniff types must not drop them."""
    xhtml = [
        r
        for r in records
        if r["type"] == "response" and r["ctype"].startswith("text/html") and r["payload"].lstrip()[:5] == b"<?xml"
    ]
    assert len(xhtml) >= 5
    identified = {row["url"]: row["identified_type"] for row in _read_index()}
    assert all(identified[r["url"]] == "application/xhtml+xml" for r in xhtml)


def test_some_pages_are_exact_duplicates_under_another_url(html_pages):
    urls_by_digest = {}
    for r in html_pages:
        urls_by_digest.setdefault(hashlib.sha256(r["payload"]).digest(), set()).add(r["url"])
    assert sum(1 for urls in urls_by_digest.values() if len(urls) > 1) >= 2


def _shingles(path: Path, n: int = 3) -> set:
    words = re.findall(r"[a-z]+", path.read_text("utf-8-sig").lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_books_are_plain_text_with_and_without_gutenberg_boilerplate():
    books = sorted((SAMPLES / "books").glob("*.txt"))
    assert 6 <= len(books) <= 10
    assert sum(b.stat().st_size for b in books) <= 4 * 2**20
    texts = {b.name: b.read_text("utf-8-sig") for b in books}
    assert any(
        "*** START OF THIS PROJECT GUTENBERG EBOOK" in t and "End of Project Gutenberg" in t for t in texts.values()
    )
    assert any("gutenberg" not in t.lower() for t in texts.values())
    with open(SAMPLES / "books" / "books.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert 2 <= len(rows) <= 3
    assert all(set(row) == {"id", "text", "title", "author"} and row["text"] for row in rows)


def test_books_hold_two_editions_of_one_play():
    books = SAMPLES / "books"
    modern, folio, other = (_shingles(books / n) for n in ["macbeth.txt", "macbeth_first_folio.txt", "hamlet.txt"])
    same_work = len(modern & folio) / len(modern | folio)
    different = len(modern & other) / len(modern | other)
    assert same_work > 10 * different


def test_code_repositories_carry_licences_and_files_readers_must_skip():
    code = SAMPLES / "code"
    for repo in ["cpython-json-email", "cpython-tools"]:
        assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in (code / repo / "LICENSE").read_text("utf-8")
        assert list((code / repo).rglob("*.py"))
    node = code / "node-debug"
    assert "MIT" in (node / "LICENSE").read_text("utf-8") or "Permission is hereby granted" in (
        node / "LICENSE"
    ).read_text("utf-8")
    assert (node / "node_modules").is_dir() and list(node.rglob("*.min.js"))
    assert json.loads((node / "package-lock.json").read_text("utf-8"))["lockfileVersion"] == 3
    assert sum(f.stat().st_size for f in code.rglob("*") if f.is_file()) <= 2 * 2**20


def test_notice_lists_every_sample_file_with_its_sha256():
    notice = (SAMPLES / "NOTICE.md").read_text("utf-8")
    listed = {
        path: sha for sha, path in re.findall(r"^\| ([0-9a-f]{64}) \| [\d,]+ \| `([^`]+)` \|$", notice, re.MULTILINE)
    }
    on_disk = {
        f.relative_to(SAMPLES).as_posix()
        for d in ["web", "books", "code"]
        for f in (SAMPLES / d).rglob("*")
        if f.is_file()
        and f.name not in {"ruff.toml", ".gitignore"}  # tooling, not data
        and not any(p.startswith(".") or p == "__pycache__" for p in f.relative_to(SAMPLES).parts)  # caches
    }
    assert set(listed) == on_disk
    for path, sha in listed.items():
        assert hashlib.sha256((SAMPLES / path).read_bytes()).hexdigest() == sha, path


def test_samples_stay_small():
    assert sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file()) <= 10 * 2**20
