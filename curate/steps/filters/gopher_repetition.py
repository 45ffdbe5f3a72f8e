"""gopher_repetition_v1: Gopher's repetition rules (Rae et al. 2021, MassiveText, Appendix A.1.1, Table A1), as
datatrove 0.10.1's ``GopherRepetitionFilter`` applies them, with its defaults (the paper's), several times faster:
spaCy-free tokens, and n-grams hashed as integers instead of joined into strings.

Beyond English: no rule here uses vocabulary, and lines and paragraphs are script-neutral. In a text mostly in a
script written without spaces (Chinese, Japanese, Thai, Tibetan...), where a token is a character, an "n-gram" is n
words' worth of tokens (``curate.signals.text.tokens_per_word``, measured on the UDHR): per character, the Thai,
Khmer and Tibetan UDHR repeat 5-"grams" on 25-59% of their text and fail, against 6% in English; per word, 2-5%.
Of the sample's 440 non-English UDHR pages, 99.1% are kept. ``languages`` restricts the whole step; other
documents pass untouched (metric ``skipped_other_lang``).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.gopher import repetition_signals
from curate.steps.base import LangScopedParams, Step

_TABLE_A1 = "Gopher (Rae et al. 2021) Table A1 and datatrove's default"
TOP_NS = (2, 3, 4)
DUP_NS = (5, 6, 7, 8, 9, 10)


class GopherRepetitionParams(LangScopedParams):
    max_dup_para_frac: float | None = Field(0.30, description=f"Duplicate paragraph fraction. {_TABLE_A1}: 0.30.")
    max_dup_para_char_frac: float | None = Field(
        0.20, description=f"Characters in duplicate paragraphs. {_TABLE_A1}: 0.20."
    )
    max_dup_line_frac: float | None = Field(0.30, description=f"Duplicate line fraction. {_TABLE_A1}: 0.30.")
    max_dup_line_char_frac: float | None = Field(
        0.20, description=f"Characters in duplicate lines. {_TABLE_A1}: 0.20."
    )
    max_top_ngram_char_frac: dict[int, float | None] = Field(
        {2: 0.20, 3: 0.18, 4: 0.16},
        description=f"n -> most frequent n-gram's character fraction, n in 2..4 (None: off). {_TABLE_A1}.",
    )
    max_dup_ngram_char_frac: dict[int, float | None] = Field(
        {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description=f"n -> characters in repeated n-grams, n in 5..10 (None: off). {_TABLE_A1}.",
    )

    def model_post_init(self, _context) -> None:
        for name, allowed in (("max_top_ngram_char_frac", TOP_NS), ("max_dup_ngram_char_frac", DUP_NS)):
            if not set(getattr(self, name)) <= set(allowed):
                raise ValueError(f"{name}: n must be one of {list(allowed)} (the columns are fixed)")


_RULES = (
    ("dup_para_frac", "max_dup_para_frac", "gopher_dup_paras"),
    ("dup_para_char_frac", "max_dup_para_char_frac", "gopher_dup_para_chars"),
    ("dup_line_frac", "max_dup_line_frac", "gopher_dup_lines"),
    ("dup_line_char_frac", "max_dup_line_char_frac", "gopher_dup_line_chars"),
)


@register
class GopherRepetition(Step):
    """Gopher's repetition rules: duplicate lines and paragraphs, frequent and repeated n-grams."""

    name = "gopher_repetition_v1"
    tag_prefix = "gopher_repetition"  # its signals share gopher__ with gopher_quality_v1: a tag column of its own
    Params = GopherRepetitionParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        **{f"gopher__{signal}": pa.float32() for signal, _, _ in _RULES},
        **{f"gopher__top_{n}gram_char_frac": pa.float32() for n in TOP_NS},
        **{f"gopher__dup_{n}gram_char_frac": pa.float32() for n in DUP_NS},
    }
    reasons: ClassVar[dict[str, str]] = {
        "gopher_empty_doc": "no text",
        "gopher_dup_paras": "more than max_dup_para_frac of paragraphs repeat an earlier one",
        "gopher_dup_para_chars": "more than max_dup_para_char_frac of characters are in repeated paragraphs",
        "gopher_dup_lines": "more than max_dup_line_frac of lines repeat an earlier one",
        "gopher_dup_line_chars": "more than max_dup_line_char_frac of characters are in repeated lines",
        **{f"gopher_top_{n}gram": f"the most frequent {n}-gram covers too many characters" for n in TOP_NS},
        **{f"gopher_dup_{n}gram": f"too many characters are in repeated {n}-grams" for n in DUP_NS},
    }

    def apply(self, doc: Document) -> str | None:
        p = self.params
        if self.doc_lang(doc) is None:
            return None
        if not doc.text:
            return "gopher_empty_doc"
        s = repetition_signals(doc.text, TOP_NS, DUP_NS)
        doc.metadata.update({f"gopher__{k}": v for k, v in s.items()})
        for signal, param, reason in _RULES:
            limit = getattr(p, param)
            if limit is not None and s[signal] > limit:
                return reason
        for kind, limits in (("top", p.max_top_ngram_char_frac), ("dup", p.max_dup_ngram_char_frac)):
            for n, limit in sorted(limits.items()):
                if limit is not None and s[f"{kind}_{n}gram_char_frac"] > limit:
                    return f"gopher_{kind}_{n}gram"
        return None
