"""books_txt_v1: plain-text books, one document per .txt file (a folder is read file by file).

Decoding: a UTF-8 / UTF-16 byte order mark decides; else UTF-8; else the ``Character set encoding:`` a Gutenberg
header declares (older e-texts are ISO-8859-1); else windows-1252, the usual encoding of older plain-text books, which
fails only on five unassigned bytes. Line ends are normalised to ``\\n``. A file holding NUL bytes is not text
(``binary``); an empty or all-white-space file is ``empty_book``. Title and author are read by ``gutenberg_strip_v1``,
which sees the header before removing it (and so works for books read from JSONL or Parquet too).
"""

from __future__ import annotations

import codecs
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.steps.base import Params, Reader, Skip

_DECLARED = re.compile(rb"Character set encoding:\s*([A-Za-z0-9_.:-]{2,30})", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_book(data: bytes) -> tuple[str | None, str]:
    """(text or None, codec or reason) per the module docstring."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), codec
            except UnicodeDecodeError:
                return None, "undecodable"
    if b"\x00" in data:
        return None, "binary"
    candidates = ["utf-8"]
    if m := _DECLARED.search(data[:20_000]):
        candidates.append(m.group(1).decode("ascii"))
    for codec in candidates + ["cp1252"]:
        try:
            return data.decode(codec), codecs.lookup(codec).name
        except (UnicodeDecodeError, LookupError):
            continue
    return None, "undecodable"


class BooksTxtParams(Params):
    max_bytes: int = Field(
        100_000_000,
        gt=0,
        description="Skip larger files unread (the King James Bible is 4.3 MB; 100 MB is no single book).",
    )


@register
class BooksTxtReader(Reader):
    """Plain-text books (.txt files, or folders of them): one document per file, line ends normalised."""

    name = "books_txt_v1"
    Params = BooksTxtParams
    signals: ClassVar[dict[str, pa.DataType]] = {"book__encoding": pa.string()}
    reasons: ClassVar[dict[str, str]] = {
        "skipped_not_txt": "a file in an input folder whose name does not end in .txt",
        "skipped_empty_book": "the file is empty or only white space",
        "skipped_too_large": "larger than max_bytes (not read)",
        "error_binary": "the file holds NUL bytes: not a text file",
        "error_undecodable": "a BOM that does not decode, or bytes no candidate encoding decodes",
    }

    def read_file(self, path: str) -> Iterator[Document | Skip]:
        if not path.lower().endswith(".txt"):
            yield Skip("not_txt")
            return
        if os.path.getsize(path) > self.params.max_bytes:
            yield Skip("too_large")
            return
        with self.open(path) as f:
            data = f.read()
        text, codec = decode_book(data)
        if text is None:
            yield Skip(codec, error=True)
            return
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            yield Skip("empty_book")
            return
        if getattr(self, "_ids", None) is None:
            self._ids = short_ids(self.paths)
        yield Document(text=text, id=self._ids.get(path, path), metadata={"url": path, "book__encoding": codec})


def short_ids(paths: list[str]) -> dict[str, str]:
    """A stable id per input file: ``folder/name``, lengthened by one more folder where two inputs would collide
    (``shakespeare/texts/metadata.txt`` vs ``milton/texts/metadata.txt``). All paths are known to every task, so
    every task computes the same ids."""
    pending = {p: p.replace(os.sep, "/").strip("/").split("/") for p in paths}
    ids, k = {}, 2
    while pending:
        tails = Counter(tuple(c[-k:]) for c in pending.values())
        for p, comps in list(pending.items()):
            if tails[tuple(comps[-k:])] == 1 or k >= len(comps):
                ids[p] = "/".join(comps[-k:])
                del pending[p]
        k += 1
    return ids
