"""identity_terms_v1: count mentions of identity groups and gendered pronouns in every document (never drops).

Seven groups: gender, religion, race/ethnicity, nationality, sexual orientation, disability, age, from the bundled
English lexicon (curate/assets/identity/lexicon_en.json: the identity terms of Dixon et al. 2018 plus curate's
additions, see its NOTICE.md), and pronoun counts he (he/him/his/himself), she (she/her/hers/herself) and they
(they/them/their/theirs/themselves). Matching rules: ``curate.signals.identity``.

Put this step EARLY in a pipeline, before any filter: the identity columns are then written for kept and rejected
documents alike, and ``curate audit RUN_DIR`` can compare, per filter, how often documents that mention a group are
removed. Documents whose ``lang`` is not English get null counts (not measured), not zeros; documents without
``lang`` are taken to be in ``assume_lang``.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.assets import identity_lexicon, normalise_lang
from curate.registry import register
from curate.signals.identity import compile_lexicon, count_identity
from curate.steps.base import Params, Step

GROUPS = ("gender", "religion", "race_ethnicity", "nationality", "sexual_orientation", "disability", "age")
PRONOUNS = ("he", "she", "they")
LEXICON_LANGS = frozenset({"en"})


class IdentityParams(Params):
    assume_lang: str | None = Field(
        "en", description="Language of documents without `lang` (no language-ID step); null = not measured."
    )


@register
class IdentityTerms(Step):
    """Identity-term counts for 7 groups and he/she/they pronoun counts, as columns (English lexicon)."""

    name = "identity_terms_v1"
    Params = IdentityParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        **{f"identity__{g}": pa.int32() for g in GROUPS},
        **{f"pronoun__{p}": pa.int32() for p in PRONOUNS},
    }
    reasons: ClassVar[dict[str, str]] = {}

    def setup(self) -> None:
        self._lex = compile_lexicon(identity_lexicon("en"))
        missing = set(GROUPS) - set(self._lex.groups)
        if missing:
            from curate.errors import StepError

            raise StepError(f"identity lexicon lacks groups {sorted(missing)}")

    def apply(self, doc: Document) -> str | None:
        lang = normalise_lang(doc.metadata.get("lang")) or normalise_lang(self.params.assume_lang)
        if lang not in LEXICON_LANGS:
            self.count("not_measured")
            return None
        groups, pronouns = count_identity(self._lex, doc.text)
        meta = doc.metadata
        for g in GROUPS:
            meta[f"identity__{g}"] = groups[g]
            if groups[g]:
                self.count(f"mentions_{g}")
        for p in PRONOUNS:
            meta[f"pronoun__{p}"] = pronouns.get(p, 0)
        return None
