"""Language identification with fastText (lid.176, bundled offline), as datatrove's ``LanguageFilter`` and FineWeb.

The prediction fills the base columns ``lang`` (the label without ``__label__``: ISO 639-1 where one exists, else
639-3, e.g. ``en``, ``ja``, ``als``) and ``lang_score`` (the model's probability, in [0, 1]). ``keep`` is judged on
the top language; datatrove keeps a document if *any* kept language scores above the threshold, which is the same
rule whenever min_score >= 0.5 (probabilities sum to 1).

``lang_script`` is the text's script (ISO 15924: ``Latn``, ``Cyrl``, ``Hani``, ``Jpan`` ...): from the label of a
model that names it (GlotLID's ``__label__eng_Latn`` gives ``lang`` ``eng`` and ``lang_script`` ``Latn``; ``keep``
may name ``eng`` or ``eng_Latn``), else from the text's letters (the most frequent script among the first 2,000).
``per_lang`` (a ``curate calibrate`` file) gives each language its own ``min_score``.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.langid import parse_label, text_script
from curate.steps.base import Step
from curate.steps.filters._per_lang import PerLang, PerLangParams


class LangParams(PerLangParams):
    per_lang_step = "lang_fasttext_v1"

    min_score: float = Field(
        0.65,
        ge=0,
        le=1,
        description="Drop a document whose top language has a lower probability "
        "(datatrove LanguageFilter's language_threshold, used by FineWeb).",
    )
    keep: list[str] | None = Field(
        None,
        description="Language codes to keep, as the model labels them (lid.176: `en`, `fr`, `zh` ...; GlotLID: "
        "`eng_Latn` ...); null keeps every language (datatrove LanguageFilter's default).",
    )
    max_chars: int | None = Field(
        None,
        gt=0,
        description="Predict on the first this many characters only; null = the whole text (as datatrove). "
        "fastText's cost is linear in length; a few thousand characters decide the language of most pages.",
    )
    model_path: str | None = Field(
        None,
        description="A fastText language-ID model of your own (GlotLID's model_v3.bin, the full lid.176.bin); "
        "null = the bundled lid.176.ftz (curate/assets/NOTICE.md).",
    )


@register
class LangFastText(Step):
    """Predict each document's language; drop low-confidence predictions and languages not in `keep`."""

    name = "lang_fasttext_v1"
    Params = LangParams
    # Documents are judged 64 at a time, one prediction after another: interleaved page by page with the extraction
    # and the steps around it, lid.176's tables fall out of the CPU caches between pages and its predictions cost
    # 1.5x as much (2.1 s against 1.4 s for the same 1,000 web pages, one core). Decisions are the same.
    batch_size = 64
    # the base columns lang and lang_score, filled here (schema.run_schema accepts a step re-declaring a base column)
    signals: ClassVar[dict[str, pa.DataType]] = {
        "lang": pa.string(), "lang_score": pa.float32(), "lang_script": pa.string()
    }
    reasons: ClassVar[dict[str, str]] = {
        "lang_low_score": "the top language's probability is below min_score",
        "lang_not_kept": "the top language is not in keep",
    }

    def setup(self) -> None:
        from pathlib import Path

        from fasttext.FastText import _FastText  # _FastText, not load_model: the latter prints a deprecation warning

        from curate.assets import asset_path
        from curate.errors import StepError

        path = Path(self.params.model_path) if self.params.model_path else asset_path("lid.176.ftz")
        if not path.is_file():
            raise StepError(f"model_path: no such file {path}")
        self._model = _FastText(model_path=str(path))
        self._keep = set(self.params.keep) if self.params.keep is not None else None
        self._per_lang = PerLang(self.params, self.name)

    def apply(self, doc: Document) -> str | None:
        text = doc.text[: self.params.max_chars] if self.params.max_chars else doc.text
        # fastText reads one line per prediction: newlines become spaces (as datatrove's FastTextLID does)
        labels, scores = self._model.predict(text.replace("\n", " ").replace("\r", " "), k=1)
        lang, script = parse_label(labels[0]) if labels else (None, None)
        script = script or text_script(text)
        score = min(float(scores[0]), 1.0) if len(scores) else 0.0  # the softmax can exceed 1 by rounding
        doc.metadata["lang"], doc.metadata["lang_score"], doc.metadata["lang_script"] = lang, score, script
        if self._keep is not None and lang not in self._keep and f"{lang}_{script}" not in self._keep:
            return "lang_not_kept"
        if score < self._per_lang(lang, script).min_score:
            return "lang_low_score"
        return None
