"""HTML -> main-content plain text, in process, with resiliparse (default) or trafilatura.

datatrove runs its extractors in a child process with a per-document timeout, which added 50-90% to extraction time
when timed on one core over 5,593 real web pages (docs.python.org, the Debian handbook, the UDHR), in process vs not. Here the guard is the page size instead: a page over ``max_html_bytes`` is dropped unparsed, since
parse and extraction time grow with the size of the page.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.steps.base import Params, Step


class HtmlExtractParams(Params):
    extractor: Literal["resiliparse", "trafilatura"] = Field(
        "resiliparse",
        description="resiliparse: fast (C++), DCLM's and Dolma's; trafilatura: slower, datatrove's and FineWeb's.",
    )
    main_content: bool = Field(
        True, description="resiliparse: keep only main-content elements (drops navigation, footers, sidebars)."
    )
    favor_precision: bool = Field(
        True, description="trafilatura: prefer less, cleaner text (datatrove's Trafilatura default, used by FineWeb)."
    )
    deduplicate: bool = Field(
        False,
        description="trafilatura: drop text segments it has seen before in this process. datatrove's default is "
        "True, but the cache makes a page's text depend on which pages came before it in the task (measured: a "
        "rerun in one process loses pages); curate dedups in its own steps.",
    )
    max_html_bytes: int = Field(
        10_000_000,
        gt=0,
        description="Pages larger than this (UTF-8 bytes) are dropped unparsed (curate's choice: Common Crawl "
        "truncates payloads at 1 MiB, so only non-crawl inputs reach 10 MB).",
    )


@register
class HtmlExtract(Step):
    """Replace a page's HTML with its extracted text; WET pages (`warc_type: conversion`) are already text."""

    name = "html_extract_v1"
    can_tag = False  # a page it drops has no extracted text to keep: like a reader's skip, it filters in tag mode too
    Params = HtmlExtractParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "html_bytes": pa.int64(),  # size of the HTML in UTF-8 bytes (null for pages that were already text)
        "text_chars": pa.int64(),  # characters of extracted text
    }
    reasons: ClassVar[dict[str, str]] = {
        "html_too_large": "the HTML is larger than max_html_bytes",
        "extract_empty": "the extractor found no text (an empty page, a frameset, a page of scripts)",
    }

    def setup(self) -> None:
        p = self.params
        if p.extractor == "resiliparse":
            from resiliparse.extract.html2text import extract_plain_text

            self._extract = lambda html: extract_plain_text(html, main_content=p.main_content)
        else:
            try:
                import trafilatura
            except ImportError as e:  # trafilatura is a datatrove[processing] extra, not a curate requirement
                from curate.errors import StepError

                raise StepError(f"extractor: trafilatura needs trafilatura: pip install trafilatura ({e})") from e

            def _extract(html: str) -> str:
                return trafilatura.extract(
                    html, favor_precision=p.favor_precision, include_comments=False, deduplicate=p.deduplicate
                )

            self._extract = _extract

    def apply(self, doc: Document) -> str | None:
        if doc.metadata.get("warc_type") == "conversion":  # WET: Common Crawl already extracted the text
            doc.metadata["text_chars"] = len(doc.text)
            return None
        size = len(doc.text.encode("utf-8", errors="surrogatepass"))
        doc.metadata["html_bytes"] = size
        if size > self.params.max_html_bytes:
            return "html_too_large"
        text = (self._extract(doc.text) or "").strip()
        doc.metadata["text_chars"] = len(text)
        if not text:
            return "extract_empty"
        doc.text = text
        return None
