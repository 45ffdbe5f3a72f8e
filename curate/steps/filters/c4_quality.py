"""c4_quality_v1: C4's line and page rules (Raffel et al. 2020, Section 2.2), as datatrove 0.10.1's
``C4QualityFilter`` applies them, with its defaults (the C4 reference code's), without spaCy.

Like datatrove, the step rewrites the text (``filter_lines``): it keeps only the lines that pass, stripped and with
Wikipedia-style citations removed, and records how many lines went (``c4__lines_removed``; per rule in the stats as
``lines_removed_<rule>``). With ``filter_lines: false`` it only measures and decides; the text stays as it was.

Beyond English (``curate.signals.c4``): lines may end in any script's terminal mark (``。`` ``！`` ``।`` ``؟`` ...,
also before a closing CJK quote: ``。」``); a line of space-less script (Chinese, Japanese, Thai...) counts
characters (Japanese: kana runs) as words; ``。`` ends a sentence without a following space; Thai and Lao, written without sentence-final
marks, skip the terminal-punctuation rule (``unpunctuated_langs``). The javascript and cookie / terms-of-use
rules are English phrases and apply only to ``english_rules_langs``; lorem ipsum and curly brackets apply to all.
``languages`` restricts the whole step; other documents pass untouched (metric ``skipped_other_lang``).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.c4 import C4Rules
from curate.signals.text import remember_token_count
from curate.steps.base import LangScopedParams, Step
from curate.steps.filters._per_lang import PerLangParams, PerLangStep

_C4 = "C4 (Raffel et al. 2020) and datatrove's default"


class C4QualityParams(LangScopedParams, PerLangParams):
    per_lang_step = "c4_quality_v1"

    filter_lines: bool = Field(True, description="Replace the text by its kept lines (datatrove does).")
    remove_citations: bool = Field(True, description=f"Remove [1], [edit], [citation needed]. {_C4}: true.")
    filter_no_terminal_punct: bool = Field(
        True, description=f"Drop lines not ending in terminal punctuation, or ending in '...'. {_C4}: true."
    )
    min_words_per_line: int | None = Field(3, description=f"Drop lines with fewer words. {_C4}: 3.")
    max_word_length: int | None = Field(1000, description=f"Drop lines with a longer word. {_C4}: 1000.")
    min_num_sentences: int | None = Field(
        5, description=f"Drop documents with fewer sentences in the kept lines. {_C4}: 5."
    )
    filter_lorem_ipsum: bool = Field(True, description=f"Drop documents saying 'lorem ipsum'. {_C4}: true.")
    filter_javascript: bool = Field(True, description=f"Drop lines mentioning javascript. {_C4}: true.")
    filter_curly_bracket: bool = Field(True, description=f"Drop documents with a '{{'. {_C4}: true.")
    filter_policy: bool = Field(
        True, description=f"Drop lines about cookie / terms-of-use / privacy policies. {_C4}: true."
    )
    english_rules_langs: list[str] = Field(
        ["en"], description="Languages the English phrase rules (javascript, policy) apply to. curate: English."
    )
    unpunctuated_langs: list[str] = Field(
        ["th", "lo"],
        description="Languages written without sentence-final marks: no terminal-punctuation rule. curate.",
    )


@register
class C4Quality(PerLangStep, Step):
    """C4's rules: keep lines that end in punctuation and have 3+ words; drop pages with too few sentences."""

    name = "c4_quality_v1"
    Params = C4QualityParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "c4__lines": pa.int32(),
        "c4__lines_removed": pa.int32(),
        "c4__sentences": pa.int32(),
    }
    reasons: ClassVar[dict[str, str]] = {
        "c4_lorem_ipsum": "a kept line says 'lorem ipsum'",
        "c4_curly_bracket": "a kept line holds a curly bracket",
        "c4_too_few_sentences": "fewer than min_num_sentences sentences in the kept lines",
    }

    def setup(self) -> None:
        super().setup()  # min_num_sentences per language; the line rules stay as they are
        p = self.params
        self._rules = {  # (English?, punctuated?) -> the rules for such a language
            (english, punctuated): C4Rules(
                max_word_length=p.max_word_length,
                remove_citations=p.remove_citations,
                terminal_punct=p.filter_no_terminal_punct and punctuated,
                min_words_per_line=p.min_words_per_line,
                lorem_ipsum=p.filter_lorem_ipsum,
                javascript=p.filter_javascript and english,
                curly_bracket=p.filter_curly_bracket,
                policy=p.filter_policy and english,
            )
            for english in (True, False)
            for punctuated in (True, False)
        }

    def judge(self, doc: Document, lang: str, p) -> str | None:
        result = self._rules[lang in p.english_rules_langs, lang not in p.unpunctuated_langs].apply(doc.text)
        doc.metadata.update(
            {"c4__lines": result.lines, "c4__lines_removed": result.lines_removed, "c4__sentences": result.sentences}
        )
        if result.page_rule is not None:
            return f"c4_{result.page_rule}"
        for rule, n in result.removed.items():
            self.count(f"lines_removed_{rule}", n)
        if p.min_num_sentences is not None and result.sentences < p.min_num_sentences:
            return "c4_too_few_sentences"
        if p.filter_lines:
            doc.text = result.text
            remember_token_count(doc.text, result.tokens)  # FineWeb's list ratio needs it next
        return None
