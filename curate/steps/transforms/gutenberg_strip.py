"""gutenberg_strip_v1: remove Project Gutenberg boilerplate, record how much, and read title and author.

What counts as boilerplate is in ``curate.signals.books.strip_gutenberg`` (header through the START line and the
production credit, footer from the END line, transcriber's notes). A book without the START marker is left exactly
as it is. The characters removed are columns, so the removal can be checked in SQL::

    SELECT id, gutenberg__chars_removed, gutenberg__header_chars, gutenberg__footer_chars FROM docs

``title`` and ``author`` come from the header's ``Title:``/``Author:`` lines; failing those, from the first lines of
the text (``curate.signals.books.title_author``); a value the reader already set (a JSONL ``title`` field read into
the metadata) is kept.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.books import strip_gutenberg, title_author
from curate.steps.base import Params, Step


class GutenbergParams(Params):
    title_from_text: bool = Field(
        True, description="Without a Gutenberg header, guess title and author from the first lines of the text."
    )


@register
class GutenbergStrip(Step):
    """Remove Gutenberg headers, licence footers and transcriber's notes; fill title and author."""

    name = "gutenberg_strip_v1"
    Params = GutenbergParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "title": pa.string(),
        "author": pa.string(),
        "gutenberg__chars_removed": pa.int64(),
        "gutenberg__header_chars": pa.int64(),
        "gutenberg__footer_chars": pa.int64(),
        "gutenberg__notes_chars": pa.int64(),
    }
    reasons: ClassVar[dict[str, str]] = {
        "gutenberg_only_boilerplate": "nothing but white space is left once the boilerplate is removed",
    }

    def apply(self, doc: Document) -> str | None:
        s = strip_gutenberg(doc.text)
        removed = s.header_chars + s.footer_chars + s.notes_chars
        meta = doc.metadata
        meta.update(
            {
                "gutenberg__chars_removed": removed,
                "gutenberg__header_chars": s.header_chars,
                "gutenberg__footer_chars": s.footer_chars,
                "gutenberg__notes_chars": s.notes_chars,
            }
        )
        title, author = s.title, s.author
        if title is None and author is None and self.params.title_from_text:
            title, author = title_author(s.text)
        meta["title"] = meta.get("title") or title
        meta["author"] = meta.get("author") or author
        if removed:
            self.count("books_stripped")
            self.count("chars_removed", removed)
            doc.text = s.text.strip("\n") + "\n"
            if not doc.text.strip():
                return "gutenberg_only_boilerplate"
        return None
