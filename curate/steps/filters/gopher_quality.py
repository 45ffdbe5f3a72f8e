"""gopher_quality_v1: Gopher's quality rules (Rae et al. 2021, MassiveText, Appendix A.1.1), as datatrove 0.10.1's
``GopherQualityFilter`` applies them, with its defaults (the paper's), many times faster (no spaCy).

English documents get datatrove's verdicts (99.5% agreement on the sample's 219 English pages). Beyond English,
the rules are the paper's where they measure the same thing in every script, and off where their thresholds encode
English. Of the sample's 440 non-English UDHR pages, datatrove keeps 5% (its English stop words drop the rest);
with every rule but the stop words calibrated as for English, 24% are dropped; as below, 1.4%:

* Words come from ``curate.signals.text.split_tokens``: in Chinese, Japanese, Thai, Tibetan... every character
  (Japanese: every kana run) counts as a word, so the 50-word minimum stays a minimum.
* The stop-word rule (at least 2 of "the, be, to, of, and, that, have, with") is English vocabulary: it applies
  to ``stop_words_langs`` only.
* ``english_rules_langs`` keep datatrove's English calibration: mean word length in [3, 10] (Korean syllable
  blocks average 2.8, Greenlandic and Malayalam 11-14), and the alphabetic ratio over all tokens, punctuation
  included. Other languages skip the word-length rule and count the alphabetic ratio over words, as the paper
  words it ("80% of words"), so glottal-stop apostrophes, hyphens and full stops that stand apart (Tongan ‘,
  Maltese tal-, Kannada) are not held against them.
* Hash / ellipsis ratios, bullet lines, ellipsis lines and word count are script-neutral: they apply to all.
* ``languages`` restricts the whole step; other documents pass untouched (metric ``skipped_other_lang``).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.gopher import STOP_WORDS, quality_signals
from curate.steps.base import LangScopedParams, Step
from curate.steps.filters._per_lang import PerLangParams, PerLangStep

_GOPHER = "Gopher (Rae et al. 2021) A.1.1 and datatrove's default"


class GopherQualityParams(LangScopedParams, PerLangParams):
    per_lang_step = "gopher_quality_v1"

    min_doc_words: int | None = Field(50, ge=0, description=f"Drop documents with fewer words. {_GOPHER}: 50.")
    max_doc_words: int | None = Field(100_000, ge=0, description=f"Drop longer documents. {_GOPHER}: 100,000.")
    min_avg_word_length: float | None = Field(3, description=f"Drop if mean word length is below. {_GOPHER}: 3.")
    max_avg_word_length: float | None = Field(10, description=f"Drop if mean word length is above. {_GOPHER}: 10.")
    max_symbol_word_ratio: float | None = Field(
        0.1, description=f"Drop if '#' or '...' per word exceeds this (each). {_GOPHER}: 0.1."
    )
    max_bullet_lines_ratio: float | None = Field(
        0.9, description=f"Drop if more lines start with a bullet (•, -). {_GOPHER}: 0.9."
    )
    max_ellipsis_lines_ratio: float | None = Field(
        0.3, description=f"Drop if more lines end with an ellipsis. {_GOPHER}: 0.3."
    )
    min_alpha_words_ratio: float | None = Field(
        0.8, description=f"Drop if fewer words hold an alphabetic character. {_GOPHER}: 0.8."
    )
    min_stop_words: int | None = Field(2, description=f"Drop with fewer distinct stop words. {_GOPHER}: 2.")
    stop_words: list[str] = Field(list(STOP_WORDS), description=f"The stop words. {_GOPHER}.")
    stop_words_langs: list[str] = Field(["en"], description="Languages of stop_words: the stop-word rule's scope.")
    english_rules_langs: list[str] = Field(
        ["en"],
        description="Languages given datatrove's English calibration (mean word length rule; alphabetic ratio over "
        "all tokens). Others: no word-length rule; alphabetic ratio over words, as the paper words it. curate.",
    )


@register
class GopherQuality(PerLangStep, Step):
    """Gopher's quality rules: length, word length, symbols, bullets, ellipses, alphabetic words, stop words."""

    name = "gopher_quality_v1"
    Params = GopherQualityParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "gopher__word_count": pa.int64(),
        "gopher__mean_word_length": pa.float32(),
        "gopher__spaceless_frac": pa.float32(),
        "gopher__hash_word_ratio": pa.float32(),
        "gopher__ellipsis_word_ratio": pa.float32(),
        "gopher__bullet_lines_frac": pa.float32(),
        "gopher__ellipsis_lines_frac": pa.float32(),
        "gopher__alpha_tokens_frac": pa.float32(),
        "gopher__alpha_words_frac": pa.float32(),
        "gopher__stop_words": pa.int32(),
    }
    reasons: ClassVar[dict[str, str]] = {
        "gopher_short_doc": "fewer than min_doc_words words",
        "gopher_long_doc": "more than max_doc_words words",
        "gopher_mean_word_length": "mean word length outside [min_avg_word_length, max_avg_word_length] (English)",
        "gopher_symbol_ratio": "more than max_symbol_word_ratio '#' or ellipses per word",
        "gopher_bullet_lines": "more than max_bullet_lines_ratio of lines start with a bullet",
        "gopher_ellipsis_lines": "more than max_ellipsis_lines_ratio of lines end with an ellipsis",
        "gopher_alpha_words": "fewer than min_alpha_words_ratio of words hold an alphabetic character",
        "gopher_stop_words": "fewer than min_stop_words distinct English stop words (English only)",
    }

    def judge(self, doc: Document, lang: str, p) -> str | None:
        s = quality_signals(doc.text, p.stop_words)
        doc.metadata.update({f"gopher__{k}": v for k, v in s.items()})
        return self._verdict(p, s, english=lang in p.english_rules_langs, stop_words=lang in p.stop_words_langs)

    @staticmethod
    def _verdict(p: GopherQualityParams, s: dict, english: bool, stop_words: bool) -> str | None:
        """The first rule the signals ``s`` break under parameters ``p``, in datatrove's order."""
        if p.min_doc_words is not None and s["word_count"] < p.min_doc_words:
            return "gopher_short_doc"
        if p.max_doc_words is not None and s["word_count"] > p.max_doc_words:
            return "gopher_long_doc"
        mean = s["mean_word_length"]
        if english and mean is not None and not _within(mean, p.min_avg_word_length, p.max_avg_word_length):
            return "gopher_mean_word_length"
        if p.max_symbol_word_ratio is not None and max(s["hash_word_ratio"], s["ellipsis_word_ratio"]) > (
            p.max_symbol_word_ratio
        ):
            return "gopher_symbol_ratio"
        if p.max_bullet_lines_ratio is not None and s["bullet_lines_frac"] > p.max_bullet_lines_ratio:
            return "gopher_bullet_lines"
        if p.max_ellipsis_lines_ratio is not None and s["ellipsis_lines_frac"] > p.max_ellipsis_lines_ratio:
            return "gopher_ellipsis_lines"
        alpha = s["alpha_tokens_frac" if english else "alpha_words_frac"]
        if p.min_alpha_words_ratio is not None and alpha < p.min_alpha_words_ratio:
            return "gopher_alpha_words"
        if stop_words and p.min_stop_words is not None and s["stop_words"] < p.min_stop_words:
            return "gopher_stop_words"
        return None


def _within(x: float, low: float | None, high: float | None) -> bool:
    return (low is None or x >= low) and (high is None or x <= high)
