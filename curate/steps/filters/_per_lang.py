"""Per-language thresholds (``per_lang: thresholds.yaml``) for the quality and language-ID steps, as FineWeb-2 tunes
them: one threshold per language, chosen from that language's own signal distribution (``curate calibrate``).

A thresholds file maps step -> language (or ``script:<ISO 15924>`` for the languages of a script with too few
documents of their own) -> parameter -> value::

    thresholds:
      gopher_quality_v1:
        fr: {min_doc_words: 41}
        script:Cyrl: {min_doc_words: 37, min_alpha_words_ratio: 0.71}

A document's parameters are the step's, updated by its language's entry, else by its script's entry
(``lang_script``), else left as they are: unlisted languages fall back to the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import yaml
from pydantic import BaseModel, Field, model_validator

from curate.steps.base import Params


class PerLangParams(Params):
    """Mixin: a step's ``per_lang`` parameter, checked (file, step entry, parameter names) when the config loads."""

    per_lang_step: ClassVar[str] = ""  # the step name under `thresholds:` in the file
    per_lang: str | None = Field(
        None,
        description="A thresholds file written by `curate calibrate` (FineWeb-2's per-language thresholds): its "
        "entry for this step gives each listed language (or script) its own thresholds; others keep the defaults.",
    )

    @model_validator(mode="after")
    def _check_per_lang(self):
        if self.per_lang:
            read_table(self.per_lang, self.per_lang_step, type(self))
        return self


def read_table(path: str, step: str, params_cls: type[BaseModel]) -> tuple[dict[str, dict], str | None]:
    """(this step's entries of a thresholds file: {lang or 'script:X': {param: value}}, the file's reference
    language). ValueError names the problem."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"per_lang: no such file {path}")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"per_lang: {path} is not valid YAML ({e})") from None
    table = (data.get("thresholds") or {}).get(step) or {}
    if not isinstance(table, dict):
        raise ValueError(f"per_lang: {path}: thresholds.{step} must be a mapping of language -> parameters")  # noqa: TRY004 - pydantic reports ValueError
    for lang, values in table.items():
        if not isinstance(values, dict | None):
            raise ValueError(f"per_lang: {path}: thresholds.{step}.{lang} must be a mapping of parameter -> value")  # noqa: TRY004
        unknown = set(values or {}) - set(params_cls.model_fields) - {"docs"}
        if unknown:
            raise ValueError(f"per_lang: {path}: thresholds.{step}.{lang}: unknown parameter(s) {sorted(unknown)}")
    entries = {str(k): {n: v for n, v in (vals or {}).items() if n != "docs"} for k, vals in table.items()}
    return entries, data.get("reference")


class PerLang:
    """The parameters for each language: built once per task from the step's params and its thresholds file."""

    def __init__(self, params: BaseModel, step: str):
        self.params = params
        self._table, self._reference = read_table(params.per_lang, step, type(params)) if params.per_lang else ({}, None)
        self._cache: dict[str, BaseModel] = {}

    def __call__(self, lang: str | None, script: str | None = None) -> BaseModel:
        """The parameters for a document of ``lang`` written in ``script`` (a script's entry never applies to the
        reference language, whose defaults the file was calibrated against)."""
        key = None
        if lang in self._table:
            key = lang
        elif lang != self._reference and f"script:{script}" in self._table:
            key = f"script:{script}"
        if key is None:
            return self.params
        if key not in self._cache:
            self._cache[key] = self.params.model_copy(update=self._table[key])
        return self._cache[key]


class PerLangStep:
    """Mixin for a language-scoped step with per-language thresholds (Gopher, C4, FineWeb quality): setup reads the
    thresholds file once; apply finds the document's language (a language the step's `languages` leaves out is
    kept untouched, counted by doc_lang) and its parameters, then asks `judge`."""

    def setup(self) -> None:
        self._per_lang = PerLang(self.params, self.name)

    def apply(self, doc) -> str | None:
        lang = self.doc_lang(doc)
        if lang is None:
            return None
        return self.judge(doc, lang, self._per_lang(lang, doc.metadata.get("lang_script")))

    def judge(self, doc, lang: str, params) -> str | None:
        """The step's rules on one document, with its language's parameters: a drop reason, or None to keep it."""
        raise NotImplementedError
