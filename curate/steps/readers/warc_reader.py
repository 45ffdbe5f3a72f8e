"""Read WARC and WET files (.warc, .warc.gz, .wet.gz, .warc.zst) with fastwarc; HTML responses become documents.

Unlike datatrove's WarcReader (warcio + libmagic), XHTML served as ``text/xml`` is kept (first bytes sniffed), every
record that is no document is counted with its reason, and a corrupt gzip member costs only its own record.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from fastwarc.warc import ArchiveIterator, WarcRecordType
from pydantic import Field

from curate.registry import register
from curate.signals.encoding import decode_html, is_html
from curate.steps.base import Params, Reader, Skip

GZIP, ZSTD, PLAIN = b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd", b"WARC/1."  # how a record starts: member, frame, header


class WarcParams(Params):
    recover: bool = Field(
        True, description="Resume after a corrupt record at the next one (fastwarc, warcio: the rest is lost)."
    )
    max_bad_bytes: float = Field(
        0.001, ge=0, le=1, description="Share of bytes a declared charset may fail on (a page cut mid-character)."
    )


@register
class WarcReader(Reader):
    """WARC/WET reader: `response` records with an HTML payload and WET `conversion` records become documents."""

    name = "warc_v1"
    Params = WarcParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "warc_date": pa.timestamp("s", tz="UTC"),  # WARC-Date: when the page was fetched
        "warc_type": pa.string(),  # response (text is HTML) | conversion (WET: text already extracted)
        "content_type": pa.string(),  # payload MIME type as labelled (WARC-Identified-Payload-Type, else HTTP)
        "charset": pa.string(),  # the Python codec the page was decoded with
    }
    reasons: ClassVar[dict[str, str]] = {
        "skipped_not_response": "a request / metadata / warcinfo / revisit record: no page in it",
        "skipped_non_html": "the payload is not (X)HTML (image, PDF, script, style, feed ...)",
        "skipped_empty_payload": "the response or conversion record has no payload",
        "skipped_http_status": "HTTP status other than 200 (redirects, errors, not-modified)",
        "error_undecodable": "no charset (declared, UTF-8 or detected) decodes the page",
        "error_bad_content_encoding": "the HTTP Content-Encoding (gzip, br) or chunked body cannot be decoded",
        "error_truncated_record": "the record ends before its Content-Length (a cut file or member)",
        "error_corrupt_record": "unreadable gzip member or WARC header; reading resumed at the next record",
    }

    def read_file(self, path: str) -> Iterator[Document | Skip]:
        with self.open(path) as f:
            head = f.read(4)
            marker = GZIP if head.startswith(GZIP) else ZSTD if head.startswith(ZSTD) else PLAIN
            start, counted = 0, False  # counted: this corrupt stretch is counted (once, however many restarts)
            while start is not None:
                f.seek(start)
                last, item = start, None
                try:
                    for record in ArchiveIterator(f, parse_http=True, auto_decode="all"):
                        item = self.record(record, path)
                        last, counted = record.stream_pos, False
                        yield item
                except OSError:  # fastwarc: "Gzip decompression error", "Invalid WARC header"
                    if not counted:
                        yield Skip("corrupt_record", error=True)
                    counted = True
                    start = _find(f, marker, last + 1) if self.params.recover else None
                    continue
                # fastwarc ends quietly in a gzip member cut before its first record: walk the last members with zlib
                truncated = isinstance(item, Skip) and item.reason == "truncated_record"
                if marker == GZIP and not truncated and not _gzip_members_complete(f, last):
                    yield Skip("truncated_record", error=True)
                return

    def record(self, record, path: str) -> Document | Skip:
        """One WARC record -> a Document, or a Skip with its reason."""
        wet = record.record_type == WarcRecordType.conversion
        if record.record_type != WarcRecordType.response and not wet:
            return Skip("not_response")
        if record.headers.get("Content-Length") is None:  # a cut file: the WARC headers themselves are partial
            return Skip("truncated_record", error=True)
        if not wet and (not record.is_http or record.http_headers.status_code != 200):
            return Skip("http_status" if record.is_http else "non_html")
        # auto_decode="all" undid gzip/br Content-Encoding and chunking (kept by non-CC crawlers): lengths differ then
        encoded = not wet and any(map(record.http_headers.get, ("Content-Encoding", "Transfer-Encoding")))
        try:
            body = record.reader.read()
        except OSError:
            if not encoded:
                raise  # the file itself is corrupt: read_file resumes at the next record
            return Skip("bad_content_encoding", error=True)
        if not encoded and len(body) < record.content_length:
            return Skip("truncated_record", error=True)
        if not body.strip():
            return Skip("empty_payload")
        mime, charset = "text/plain", "utf-8"  # WET: UTF-8 plain text, already extracted by Common Crawl
        if not wet:
            mime = (record.headers.get("WARC-Identified-Payload-Type") or record.http_content_type or "").lower()
            mime, charset = mime.split(";")[0].strip(), record.http_charset
            if not is_html(mime, body):
                return Skip("non_html")
        decoded = decode_html(body, charset, self.params.max_bad_bytes)
        if decoded is None:
            return Skip("undecodable", error=True)
        meta = {
            "url": record.headers.get("WARC-Target-URI"),
            "warc_date": record.record_date,
            "warc_type": "conversion" if wet else "response",
            "content_type": mime,
            "charset": decoded.encoding,
        }
        doc_id = record.record_id or f"{self.file_name(path)}:{record.stream_pos}"  # WARC-Record-ID is mandatory
        return Document(text=decoded.text, id=doc_id, metadata=meta)


def _find(f, marker: bytes, pos: int, chunk: int = 1 << 20) -> int | None:
    """Offset of the first ``marker`` at or after ``pos`` in file ``f``, or None."""
    f.seek(pos)
    tail = b""
    while block := f.read(chunk):
        if (i := (tail + block).find(marker)) >= 0:
            return pos - len(tail) + i
        tail, pos = (tail + block)[-(len(marker) - 1) :], pos + len(block)
    return None


def _gzip_members_complete(f, pos: int) -> bool:
    """True if the bytes from ``pos`` to the end of ``f`` are whole gzip members (or ``pos`` starts no member)."""
    f.seek(pos)
    if f.read(3) != GZIP:
        return True  # a single-stream .warc.gz: record offsets are not member starts, nothing to check
    f.seek(pos)
    try:
        with gzip.GzipFile(fileobj=f) as members:  # reads member after member; a cut one raises EOFError
            while members.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error):
        return False
    return True
