"""blocklist_ldnoobw_v1: drop documents that contain words of the LDNOOBW list of their language (C4's bad-words rule).

The lists are the 28 "List of Dirty, Naughty, Obscene, and Otherwise Bad Words" files C4 used, bundled offline from
npm ``naughty-words@1.2.0`` (CC-BY-4.0; curate/assets/blocklists/NOTICE.md). The list is chosen by each document's
``lang`` (``default_lang`` when it has none); a document whose language has no list is kept, with null signals, and
counted as ``no_list``. Matching is C4's and datatrove's ``C4BadWordsFilter``'s (whole words and phrases, lower-cased;
substrings for ja, th, zh): see ``curate.signals.toxicity``.

Rules: ``c4`` drops on any match (C4); ``ratio`` drops when matched entries per word exceed ``threshold``.
Mitigation: with ``protected_terms: true`` a match on an entry that is an ordinary identity word (``sex``,
``sexuality``, ``homosexual`` in Portuguese ...; protected_terms.json) does not count, so a document whose only
matches are such words is kept (counted as ``kept_protected``). C4's rule is known to remove harmless text about
minorities more often than other text (Dodge et al. 2021, "Documenting Large Webtext Corpora"); ``curate audit``
measures it.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.assets import ldnoobw_langs, ldnoobw_words, normalise_lang, protected_terms
from curate.registry import register
from curate.signals.toxicity import Blocklist, compile_blocklist, find_terms
from curate.steps.base import Params, Step

MAX_TERMS = 20  # distinct matched entries kept in blocklist__terms


class BlocklistParams(Params):
    rule: Literal["c4", "ratio"] = Field(
        "c4",
        description="c4: drop on any match (C4, Raffel et al. 2020; made for web pages: a book has a few list "
        "words somewhere whatever it is, so for long text use ratio); ratio: drop when matches / words > threshold, "
        "which judges a text by its length.",
    )
    threshold: float = Field(
        0.02,
        ge=0,
        le=1,
        description="For rule ratio: matched entries per word above which a document is dropped. 0.02 (one match "
        "in 50 words) has the best F1 of the rule alone on the train split of curate's labelled English set "
        "(test F1 0.367, benches/toxicity.py; C4 has no such rule). The shipped pipelines use 0.15 with "
        "toxicity_sklearn_v1 before it: see benches/README.md.",
    )
    protected_terms: bool = Field(
        False, description="Do not count matches on identity words (protected_terms.json); C4 has no such rule."
    )
    default_lang: str | None = Field(
        "en", description="List used for documents without `lang` (datatrove C4BadWordsFilter's default_language)."
    )


@register
class BlocklistLdnoobw(Step):
    """LDNOOBW bad-words lists (28 languages) chosen by `lang`: C4's any-match rule or a ratio rule."""

    name = "blocklist_ldnoobw_v1"
    Params = BlocklistParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "blocklist__matches": pa.int32(),  # occurrences of list entries (all, protected ones included)
        "blocklist__protected": pa.int32(),  # occurrences of protected identity entries among them (always counted)
        "blocklist__ratio": pa.float32(),  # counted matches / words (protected ones excluded if protected_terms)
        "blocklist__terms": pa.list_(pa.string()),  # distinct matched entries, sorted (at most 20)
    }
    reasons: ClassVar[dict[str, str]] = {
        "blocklist_c4": "contains a word or phrase of its language's LDNOOBW list (C4's rule)",
        "blocklist_ratio": "LDNOOBW matches per word above threshold",
    }

    def setup(self) -> None:
        self._langs = set(ldnoobw_langs())
        self._lists: dict[str, tuple[Blocklist, frozenset[str]] | None] = {}

    def _list(self, lang: str | None) -> tuple[Blocklist, frozenset[str]] | None:
        if lang not in self._lists:
            if lang not in self._langs:
                self._lists[lang] = None
            else:
                self._lists[lang] = (compile_blocklist(ldnoobw_words(lang), lang), protected_terms(lang))
        return self._lists[lang]

    def apply(self, doc: Document) -> str | None:
        lang = normalise_lang(doc.metadata.get("lang")) or normalise_lang(self.params.default_lang)
        compiled = self._list(lang)
        if compiled is None:
            self.count("no_list")
            return None
        blocklist, protected = compiled
        found, n_words = find_terms(blocklist, doc.text)
        total = sum(found.values())
        shielded = sum(n for term, n in found.items() if term in protected)
        counted = total - shielded if self.params.protected_terms else total
        meta = doc.metadata
        meta["blocklist__matches"], meta["blocklist__protected"] = total, shielded
        meta["blocklist__ratio"] = counted / n_words if n_words else 0.0
        meta["blocklist__terms"] = sorted(found)[:MAX_TERMS]
        drop = self._drops(counted, n_words)
        if not drop and counted < total and self._drops(total, n_words):
            self.count("kept_protected")  # dropped but for the protected terms
        return f"blocklist_{self.params.rule}" if drop else None

    def _drops(self, matches: int, n_words: int) -> bool:
        if self.params.rule == "c4":
            return matches > 0
        return n_words > 0 and matches / n_words > self.params.threshold
