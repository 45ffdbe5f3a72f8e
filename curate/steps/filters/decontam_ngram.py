"""decontam_ngram_v1: benchmark decontamination by shared word n-grams (GPT-3, Brown et al. 2020, Appendix C; the
13-gram recipe of Llama, datatrove's ``NGramsDecontFilter`` and NeMo Curator's task decontamination).

Build the index first: ``curate decontam index EVAL_FILES... -o INDEX`` (n = 13 by default). Each document's word
n-grams, normalised as near-dedup normalises text, are looked up in the index: ``decont__ngrams`` counts the distinct
indexed n-grams it holds, ``decont__task`` names the task most of them come from (null without overlap). A document
holding more than ``max_ngrams`` of them is dropped as ``contaminated`` (GPT-3 and datatrove: any, i.e. 0);
``max_ngrams: null`` only records the columns. Then ``curate sql "SELECT decont__task, count(*) FROM docs GROUP BY
1" RUN`` answers which documents overlap which benchmark.

Memory: the index is memory-mapped, 10 bytes per indexed n-gram (``curate plan --decontam-ngrams N``); the tasks
of one machine share its pages through the OS page cache.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.steps.base import Params, Step


class DecontamParams(Params):
    index: str = Field(description="An index directory written by `curate decontam index`.")
    max_ngrams: int | None = Field(
        0,
        ge=0,
        description="Drop a document holding more distinct indexed n-grams than this. GPT-3 / datatrove: 0 (any "
        "overlap). null: record decont__ngrams and decont__task only.",
    )


@register
class DecontamNgram(Step):
    """Count each document's n-grams shared with an evaluation-data index; drop contaminated documents.

    Build the index with `curate decontam index EVAL_FILES... -o INDEX` (13-grams, one task per file or --task).
    decont__ngrams: distinct indexed n-grams the document holds; decont__task: the task most of them come from.
    Memory: 10 bytes per indexed n-gram, memory-mapped (`curate plan --decontam-ngrams N`).
    """

    name = "decontam_ngram_v1"
    Params = DecontamParams
    batch_size = 256  # one searchsorted per batch
    signals: ClassVar[dict[str, pa.DataType]] = {"decont__task": pa.string(), "decont__ngrams": pa.int32()}
    reasons: ClassVar[dict[str, str]] = {
        "contaminated": "holds more than max_ngrams distinct n-grams of the evaluation index",
    }

    def setup(self) -> None:
        from curate.decontam import load

        self._meta, self._hashes, self._tasks = load(self.params.index)
        self._n = int(self._meta["n"])
        self._names = list(self._meta["tasks"])

    def apply_batch(self, docs: list[Document]) -> list[str | None]:
        from curate.signals.decontam import ngram_hashes, overlaps

        queries = [ngram_hashes(doc.text, self._n) for doc in docs]
        counts, best = overlaps(self._hashes, self._tasks, queries, len(self._names))
        limit = self.params.max_ngrams
        out = []
        for doc, n, task in zip(docs, counts, best):
            doc.metadata["decont__ngrams"] = int(n)
            doc.metadata["decont__task"] = self._names[task] if task >= 0 else None
            out.append("contaminated" if limit is not None and n > limit else None)
        return out
