"""counterfactual_gender_v1: counterfactual data augmentation for training mixes: swap gendered words (never drops).

``mode: add`` (CDA, Lu et al. 2018, "Gender Bias in Neural Natural Language Processing") keeps every document and
adds, after each one with at least ``min_swaps`` gendered words, a copy with every word of a gendered pair swapped
(he <-> she, his <-> her, king <-> queen, ... : curate/assets/identity/gender_pairs_en.json); the copy's id is
``<id>#cf`` and its ``counterfactual__of`` is the original id. ``mode: replace`` (CDS, Maudslay et al. 2019, "It's
All in the Name") swaps the text in place for a seeded random half of those documents instead, so the corpus does
not grow. Counted: ``added`` / ``replaced``. English only: documents whose ``lang`` is another language pass through.
Use it for training mixes, after filtering and dedup (the copies are near-duplicates by design).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.assets import gender_pairs, normalise_lang
from curate.registry import register
from curate.signals.identity import swap_gendered, swap_regex, swap_table
from curate.steps.base import Params, Step


class CounterfactualParams(Params):
    mode: Literal["add", "replace"] = Field(
        "add", description="add: keep the original and add a swapped copy (CDA); replace: swap in place (CDS)."
    )
    probability: float = Field(
        0.5, ge=0, le=1, description="mode replace: share of eligible documents swapped (Maudslay et al. 2019: 0.5)."
    )
    min_swaps: int = Field(1, ge=1, description="Only documents with at least this many gendered words are swapped.")
    seed: int = Field(0, description="Seed of the replace draw (a hash of seed and document id: reproducible).")
    assume_lang: str | None = Field("en", description="Language of documents without `lang`.")


@register
class CounterfactualGender(Step):
    """Swap gendered words (he<->she, man<->woman, ...): add a swapped copy (CDA) or replace in place (CDS)."""

    name = "counterfactual_gender_v1"
    Params = CounterfactualParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "counterfactual__swaps": pa.int32(),  # gendered words swapped in this document (0: untouched)
        "counterfactual__of": pa.string(),  # for an added copy: the id of the original
    }
    reasons: ClassVar[dict[str, str]] = {}

    def setup(self) -> None:
        self._table = swap_table(gender_pairs("en"))
        self._pattern = swap_regex(self._table)

    def _draw(self, doc_id: str) -> bool:
        h = hashlib.blake2b(f"{self.params.seed}:{doc_id}".encode(), digest_size=8).digest()
        return int.from_bytes(h, "big") / 2**64 < self.params.probability

    def apply(self, doc: Document) -> str | None:
        lang = normalise_lang(doc.metadata.get("lang")) or normalise_lang(self.params.assume_lang)
        doc.metadata["counterfactual__swaps"] = 0
        if lang != "en":
            return None
        swapped, n = swap_gendered(doc.text, self._table, self._pattern)
        if n < self.params.min_swaps:
            return None
        if self.params.mode == "add":
            doc.metadata["_counterfactual"] = (swapped, n)
        elif self._draw(str(doc.id)):
            doc.text = swapped
            doc.metadata["counterfactual__swaps"] = n
            self.count("replaced")
        return None

    def _judge(self, batch: list[Document], rank: int):
        for doc in super()._judge(batch, rank):
            extra = doc.metadata.pop("_counterfactual", None)
            yield doc
            if extra is not None:
                text, n = extra
                meta = {k: v for k, v in doc.metadata.items() if k != "_row"}
                meta.update(counterfactual__swaps=n, counterfactual__of=doc.id)
                self.count("added")
                yield Document(text=text, id=f"{doc.id}#cf", metadata=meta)
