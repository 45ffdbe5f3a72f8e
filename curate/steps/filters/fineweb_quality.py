"""fineweb_quality_v1: FineWeb's quality rules (Penedo et al. 2024, "The FineWeb Datasets", Section 3.6), as
datatrove 0.10.1's ``FineWebQualityFilter`` applies them, with its defaults (FineWeb's), without spaCy.

Beyond English: terminal punctuation is every script's (datatrove's ``TERMINAL_PUNCTUATION``: ``。`` ``！`` ``।``
``؟`` ``။`` ...), and no rule uses vocabulary. Thai and Lao end sentences with a space, not a mark: the
line-punctuation rule skips ``unpunctuated_langs``. ``languages`` restricts the whole step; other documents pass
untouched (metric ``skipped_other_lang``).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.fineweb import fineweb_signals
from curate.steps.base import LangScopedParams, Step
from curate.steps.filters._per_lang import PerLangParams, PerLangStep

_FW = "FineWeb (Penedo et al. 2024) and datatrove's default"


class FineWebQualityParams(LangScopedParams, PerLangParams):
    per_lang_step = "fineweb_quality_v1"

    line_punct_thr: float | None = Field(
        0.12, description=f"Drop if fewer lines end in terminal punctuation. {_FW}: 0.12."
    )
    line_punct_exclude_zero: bool = Field(
        False, description=f"Keep documents where no line ends in punctuation (ratio 0). {_FW}: false."
    )
    short_line_thr: float | None = Field(0.67, description=f"Drop if more lines are short. {_FW}: 0.67.")
    short_line_length: int = Field(30, ge=0, description=f"A short line has at most this many characters. {_FW}: 30.")
    char_duplicates_ratio: float | None = Field(
        0.01, description=f"Drop if more characters are in duplicate lines. {_FW}: 0.01."
    )
    new_line_ratio: float | None = Field(0.3, description=f"Drop if more newlines per word (lists). {_FW}: 0.3.")
    unpunctuated_langs: list[str] = Field(
        ["th", "lo"], description="Languages written without sentence-final marks: no line-punctuation rule. curate."
    )


@register
class FineWebQuality(PerLangStep, Step):
    """FineWeb's rules: punctuated lines, short lines, duplicated lines, list-like pages."""

    name = "fineweb_quality_v1"
    Params = FineWebQualityParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "fineweb__line_punct_ratio": pa.float32(),
        "fineweb__short_line_ratio": pa.float32(),
        "fineweb__char_dup_ratio": pa.float32(),
        "fineweb__list_ratio": pa.float32(),
    }
    reasons: ClassVar[dict[str, str]] = {
        "fineweb_empty": "no non-blank line",
        "fineweb_line_punct": "fewer than line_punct_thr of lines end in terminal punctuation",
        "fineweb_short_lines": "more than short_line_thr of lines have at most short_line_length characters",
        "fineweb_char_dup": "more than char_duplicates_ratio of characters are in duplicate lines",
        "fineweb_list_ratio": "more than new_line_ratio newlines per word",
    }

    def judge(self, doc: Document, lang: str, p) -> str | None:
        s = fineweb_signals(doc.text, short_line_length=p.short_line_length)
        if s["lines"] == 0:
            return "fineweb_empty"
        doc.metadata.update({f"fineweb__{k}": v for k, v in s.items() if k != "lines"})
        punct = s["line_punct_ratio"]
        punct_rule = p.line_punct_thr is not None and lang not in p.unpunctuated_langs
        if punct_rule and punct < p.line_punct_thr and not (punct == 0 and p.line_punct_exclude_zero):
            return "fineweb_line_punct"
        if p.short_line_thr is not None and s["short_line_ratio"] > p.short_line_thr:
            return "fineweb_short_lines"
        if p.char_duplicates_ratio is not None and s["char_dup_ratio"] > p.char_duplicates_ratio:
            return "fineweb_char_dup"
        if p.new_line_ratio is not None and s["list_ratio"] > p.new_line_ratio:
            return "fineweb_list_ratio"
        return None
