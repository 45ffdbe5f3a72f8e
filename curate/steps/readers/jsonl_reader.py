"""Read JSON Lines (.jsonl, .json; plain, .gz or .zst): one document per line; a bad line costs only itself."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.errors import StepError
from curate.registry import register
from curate.steps.base import Params, Reader, Skip


class RowParams(Params):
    """Field names of a row (shared by jsonl_v1 and parquet_v1)."""

    text_field: str = Field("text", description="Field holding the document text (Dolma, C4, FineWeb: `text`).")
    id_field: str = Field(
        "id",
        description="Field holding the document id; rows without one get `<file>:<row number>`, the file named by "
        "its path relative to the folder that holds every input (one input: its name), so two `part-0.jsonl` in "
        "two folders give different ids, and a re-run over the same inputs gives the same ones.",
    )
    url_field: str | None = Field(
        "url", description="Field copied to the `url` column if present (C4, FineWeb: `url`)."
    )
    source_field: str | None = Field(
        None, description="Field whose value, if present, replaces the pipeline's `source` for that row."
    )
    title_field: str | None = Field(
        "title", description="Field copied to `title` if present (kept by gutenberg_strip_v1, which declares it)."
    )
    author_field: str | None = Field(
        "author", description="Field copied to `author` if present (kept by gutenberg_strip_v1, which declares it)."
    )


REASONS = {
    "error_invalid_json": "the line is not valid JSON (or not UTF-8)",
    "error_not_an_object": "the line is valid JSON but not an object",
    "error_missing_text": "the row has no text field, or it is null",
    "error_non_string_text": "the text field is not a string",
    "skipped_empty_text": "the text is empty or only white space",
    "skipped_blank_line": "an empty line between rows",
    "error_corrupt_file": "the compressed stream is cut or corrupt; the rows before it were kept",
}


def row_to_doc(row: dict, params: RowParams, default_id: str) -> Document | Skip:
    """One input row (a dict) -> a Document, or a Skip with its reason (the rules shared by JSONL and Parquet)."""
    text = row.get(params.text_field)
    if text is None:
        return Skip("missing_text", error=True)
    if not isinstance(text, str):
        return Skip("non_string_text", error=True)
    if not text.strip():
        return Skip("empty_text")
    doc_id = row.get(params.id_field)
    meta = {}
    if params.url_field and row.get(params.url_field) is not None:
        meta["url"] = str(row[params.url_field])
    for field, key in ((params.source_field, "source"), (params.title_field, "title"), (params.author_field, "author")):
        if field and row.get(field) is not None:
            meta[key] = str(row[field])
    return Document(text=text, id=default_id if doc_id is None else str(doc_id), metadata=meta)


def open_text_stream(raw, path: str):
    """The decompressed byte stream of ``raw`` by the extension of ``path``: .gz, .zst, or as is."""
    if path.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)
    if path.endswith(".zst"):
        try:
            import zstandard
        except ImportError as e:
            raise StepError(f"{path}: reading .zst files needs zstandard: pip install zstandard") from e
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))
    return raw


@register
class JsonlReader(Reader):
    """JSON Lines reader: `text`/`id` field names configurable; bad lines are counted and skipped."""

    name = "jsonl_v1"
    Params = RowParams
    signals: ClassVar[dict[str, pa.DataType]] = {}
    reasons: ClassVar[dict[str, str]] = REASONS

    def read_file(self, path: str) -> Iterator[Document | Skip]:
        name = self.file_name(path)
        with self.open(path) as raw:
            lines = iter(open_text_stream(raw, path))
            lineno = 0
            while True:
                try:
                    line = next(lines)
                except StopIteration:
                    return
                except Exception:  # noqa: BLE001 - gzip EOFError/BadGzipFile/zlib.error, ZstdError: keep what came before
                    yield Skip("corrupt_file", error=True)
                    return
                lineno += 1
                yield self.line(line, f"{name}:{lineno}")

    def line(self, line: bytes, default_id: str) -> Document | Skip:
        if not line.strip():
            return Skip("blank_line")
        try:
            row = json.loads(line)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            return Skip("invalid_json", error=True)
        if not isinstance(row, dict):
            return Skip("not_an_object", error=True)
        return row_to_doc(row, self.params, default_id)
