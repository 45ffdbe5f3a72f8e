"""lang_lingua_v1: language ID with lingua (``lingua-language-detector``, 75 languages, models inside its wheel), to
tell close languages apart where fastText's lid.176 confuses them (Danish / Norwegian, Portuguese / Spanish,
Indonesian / Malay, Croatian / Serbian / Bosnian, Czech / Slovak).

``rule: combined`` (the default) runs after ``lang_fasttext_v1`` and keeps lid.176 for breadth: lingua decides only
when lid.176's probability is below ``low_score`` (lingua chooses among all its languages, whatever relatives
lid.176's label has) or its label has close relatives (lingua then chooses among that group's languages it knows). A label lingua does not know keeps
lid.176's label (100 languages), unless it has close relatives lingua knows and lid.176 is unsure (below
``unknown_score``): Galician ``gl`` (lingua then chooses among pt/es/ca) and Serbo-Croatian ``sh`` (hr/bs/sr) go to
lingua like the group's other labels. Serbian in Latin script keeps lid.176's ``sr`` (lingua's Serbian is Cyrillic). ``rule: lingua`` lets lingua decide every document. The step
records lid.176's label (``lid__lang``), lingua's (``lingua__lang``, ``lingua__score``; null where lingua did not
run) and the rule that decided (``lang_rule``: lid | lingua_close | lingua_low_score | lingua_only), and
overwrites ``lang`` / ``lang_score`` with the decision (a lingua confidence where lingua decided).
On benches/close_langs.py's real paragraphs of close languages, see benches/README.md for accuracy and cost.

Detectors are built lazily, once per process, with models loaded on first use (the all-language detector with
preloaded models takes about 6 s to build).
"""

from __future__ import annotations

import functools
from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.langid import LID_TO_LINGUA, LINGUA_TO_LID, close_group, decide, lingua_known, text_script
from curate.steps.base import Params, Step


class LinguaParams(Params):
    rule: Literal["combined", "lingua"] = Field(
        "combined", description="combined: lid.176 (lang_fasttext_v1, run before) decides unless its label has close "
        "relatives or a low score; lingua: lingua decides every document. curate."
    )
    low_score: float = Field(
        0.5, ge=0, le=1, description="combined: below this lid.176 probability, lingua decides. curate."
    )
    unknown_score: float = Field(
        0.65,
        ge=0,
        le=1,
        description="combined: a lid.176 label with close relatives that lingua does not know (gl, sh) stands only "
        "at this score or above; below it lingua chooses among the group's languages. "
        "0.65: the score lang_fasttext_v1 / FineWeb require to keep a page.",
    )
    keep: list[str] | None = Field(
        None, description="Language codes (lid.176's: `no` for Bokmål) to keep after the decision; null keeps all."
    )
    max_chars: int | None = Field(
        2000, gt=0, description="lingua reads the first this many characters (its cost is linear in length)."
    )


@functools.cache
def detector(codes: tuple[str, ...] | None):
    """A lingua detector for these ISO 639-1 codes (lingua's), or all 75 languages; built once per process."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError as e:
        from curate.errors import StepError

        raise StepError("lang_lingua_v1 needs lingua: pip install lingua-language-detector==2.1.1") from e
    if codes is None:
        return LanguageDetectorBuilder.from_all_languages().build()
    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes]
    return LanguageDetectorBuilder.from_languages(*langs).build()


@functools.cache
def lingua_codes() -> frozenset[str]:
    """lid.176-style codes of the languages lingua knows."""
    from lingua import Language

    return frozenset(LINGUA_TO_LID.get(c, c) for c in (lang.iso_code_639_1.name.lower() for lang in Language.all()))


def lingua_top(text: str, codes: tuple[str, ...] | None) -> tuple[str | None, float]:
    """(lingua's top language as a lid.176 code, its confidence), or (None, 0) for a text without language."""
    values = detector(codes).compute_language_confidence_values(text)
    if not values or values[0].value <= 0:
        return None, 0.0
    code = values[0].language.iso_code_639_1.name.lower()
    return LINGUA_TO_LID.get(code, code), float(values[0].value)


@register
class LangLingua(Step):
    """Language ID with lingua; with lid.176 run before, lingua decides between close relatives only.

    Put it after lang_fasttext_v1. lang_rule says who decided: lid (lid.176's label stands), lingua_close (lid.176's
    label has close relatives: da/no/nn/sv, pt/es/gl/ca, id/ms, hr/sr/bs/sh, cs/sk), lingua_low_score (lid.176 below
    low_score) or lingua_only (rule: lingua, or no lid.176 label). lang / lang_score hold the decision.
    """

    name = "lang_lingua_v1"
    Params = LinguaParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "lang": pa.string(),
        "lang_score": pa.float32(),
        "lid__lang": pa.string(),
        "lingua__lang": pa.string(),
        "lingua__score": pa.float32(),
        "lang_rule": pa.string(),
    }
    reasons: ClassVar[dict[str, str]] = {"lingua_lang_not_kept": "the decided language is not in keep"}

    def setup(self) -> None:
        self._known = lingua_codes()
        self._keep = set(self.params.keep) if self.params.keep is not None else None

    def apply(self, doc: Document) -> str | None:
        p, meta = self.params, doc.metadata
        lid, lid_score = meta.get("lang"), meta.get("lang_score")
        text = doc.text[: p.max_chars] if p.max_chars else doc.text
        known = lingua_known(self._known, text_script(text))
        rule = "lingua_only" if p.rule == "lingua" else decide(lid, lid_score, known, p.low_score, p.unknown_score)
        meta["lid__lang"], meta["lang_rule"] = lid, rule
        meta["lingua__lang"], meta["lingua__score"] = None, None
        if rule != "lid":
            codes = None
            if rule == "lingua_close":
                codes = tuple(sorted(LID_TO_LINGUA.get(c, c) for c in close_group(lid) & known))
            lang, score = lingua_top(text, codes)
            meta["lingua__lang"], meta["lingua__score"] = lang, score
            if lang is not None:
                meta["lang"], meta["lang_score"] = lang, score
            else:
                meta["lang_rule"] = "lid"  # lingua found no language (digits, symbols): lid.176's label stands
        self.count(f"rule_{meta['lang_rule']}")
        if self._keep is not None and meta.get("lang") not in self._keep:
            return "lingua_lang_not_kept"
        return None
