"""minhash_dedup_v1: remove near-duplicates (MinHash LSH on word 5-grams), keeping one document per cluster.

What counts as a near-duplicate: two documents whose word 5-gram sets (NFKC, case-folded, punctuation dropped,
digits folded: ``curate.signals.minhash.words``) have a Jaccard similarity of about ``threshold`` or more. FineWeb's
LSH (datatrove: 14 bands x 8 rows) proposes candidate pairs, documents equal on all 8 minima of some band;
a candidate pair is joined only if its 112-position sketch estimates a Jaccard of at least ``threshold``
(``threshold: 0`` joins every candidate, as datatrove does). Joined pairs form clusters (connected components:
a copy of a copy is in its original's cluster). Documents of fewer than 5 words have no shingle and are never
near-duplicates (datatrove skips them too); ``exact_dedup_v1`` handles those.

Which document of a cluster is kept (the keeper rule, in order):

1. the one whose ``source`` comes first in ``prefer_sources`` (sources not listed rank after all listed ones);
2. then the longest text (characters);
3. then the first in input order (task rank, then position).

Kept documents of a cluster carry ``dup_cluster`` (the kept document's id) and ``dup_cluster_size`` (documents in
the cluster); a document with no near-duplicate has ``dup_cluster`` null and ``dup_cluster_size`` 1. Removed ones
go to rejects/ with reason ``near_duplicate``, ``duplicate_of`` = the kept id, the same two columns, and
``dup_similarity``: the estimated Jaccard with the kept document (below ``threshold`` when only a chain of copies
joins them).

Tag mode: every copy is kept; the removed ones get ``minhash_dedup__reason`` = ``near_duplicate`` and
``minhash_dedup__duplicate_of``. Documents an earlier step in tag mode tagged for removal are kept out of the
untagged documents' clusters (they cannot join two of them, and are never kept over an untagged copy), so the
untagged documents cluster exactly as in a filtering run; each tagged one joins the cluster it touches, and
``dup_cluster_size`` counts it.

Memory (``curate plan`` estimates it before a run; the step warns or fails past ``max_memory_gb``; each dedup stage
records ``planned_memory_gb`` and ``peak_rss_gb`` in stats): the signature pass keeps nothing per document in
memory (one batch of 64; 240 bytes a document go to disk under _work/ and are deleted once clustered); a bucket task
holds about 110 bytes a document, the cluster task about 55 bytes a document plus 64 per candidate pair. Measured
(benches/dedup.py, 2 tasks, mean 2,000 characters): the largest process peaks at 0.24 GB for 100k documents and
0.27 GB for one million (datasketch's MinHashLSH: 1.5 GB at 100k).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from curate.io import filled_ints, read_parquet
from curate.registry import register
from curate.steps.base import GlobalStep, Params
from curate.steps.dedup import duplicate_rows
from curate.steps.dedup.minhash.files import SigFiles
from curate.steps.dedup.minhash.stages import NAME, Buckets, Clusters, Signatures

CLUSTER, SIZE, SIMILARITY = "dup_cluster", "dup_cluster_size", "dup_similarity"


class MinhashParams(Params):
    ngram: int = Field(5, ge=1, le=32, description="Words per shingle (FineWeb / datatrove MinhashConfig: 5).")
    bands: int = Field(14, ge=1, le=128, description="LSH bands (FineWeb: 14 buckets).")
    rows: int = Field(8, ge=1, le=32, description="MinHash values per band (FineWeb: 8 hashes per bucket).")
    threshold: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Join a candidate pair only if its estimated 5-gram Jaccard is at least this; 0 joins every "
        "candidate (datatrove). 0.7 sits under FineWeb's 14x8 S-curve midpoint (1/14)^(1/8) = 0.72.",
    )
    seed: int = Field(1, description="Seed of the hash permutations (datatrove MinhashConfig default: 1).")
    prefer_sources: list[str] = Field(
        default_factory=list,
        description="Keeper rule, first criterion: keep the document from the source listed first (e.g. "
        "[books, code, web]); then the longest text, then the first in input order.",
    )
    max_memory_gb: float | None = Field(
        None, gt=0, description="Planned memory (curate plan) a dedup task may use; null = no limit."
    )
    on_over_memory: Literal["warn", "fail"] = Field(
        "warn",
        description="When the plan for the documents found exceeds max_memory_gb: log a warning, or fail "
        "the run before bucketing.",
    )

    @model_validator(mode="after")
    def _check_width(self):
        if self.bands * self.rows > 1024:
            raise ValueError(f"bands x rows = {self.bands * self.rows}; at most 1024 hashes")
        return self


@register
class MinhashDedup(GlobalStep):
    # no class docstring: `curate steps` shows the module's, which explains the rule, the columns and the memory
    name = NAME
    Params = MinhashParams
    signals: ClassVar[dict[str, pa.DataType]] = {CLUSTER: pa.string(), SIZE: pa.int32(), SIMILARITY: pa.float32()}
    reasons: ClassVar[dict[str, str]] = {
        "near_duplicate": "word 5-gram Jaccard about >= threshold with a kept document (duplicate_of)"
    }

    def _files(self) -> SigFiles:
        p = self.params
        return SigFiles(self.layout.work / f"minhash_{self.index:02d}", p.bands, p.bands * p.rows)

    def pre_step(self, stage: str):
        return Signatures(self.params, self.layout, stage, self.index, self._files())

    def global_stages(self, segment_dir, tasks: int):
        bucket_tasks = min(tasks, self.params.bands)
        buckets, clusters = f"minhash_buckets_{self.index:02d}", f"minhash_clusters_{self.index:02d}"
        files, seg = self._files(), str(segment_dir)
        return [
            (buckets, [Buckets(self, files, seg, buckets)], bucket_tasks),
            (clusters, [Clusters(self, files, seg, clusters, bucket_tasks)], 1),
        ]

    shares_segment = True  # after exact dedup: its buckets leave out what exact dedup removes (stages.Buckets)

    def removed_rows(self) -> dict[int, np.ndarray]:
        return duplicate_rows(self._files().clusters_path)

    _loaded_rank = None

    def _load(self) -> None:
        """This rank's clustered rows (sorted), with cluster id, size, duplicate_of, similarity."""
        table = read_parquet(self._files().clusters_path, equal=("shard", self.rank))
        self._loaded_rank = self.rank
        self._rows = filled_ints(table["row"])  # ChunkedArray.to_numpy would import pandas
        self._table = table

    def apply(self, doc):
        if self._loaded_rank != self.rank:
            self._load()
        row = doc.metadata["_row"][1]
        i = int(np.searchsorted(self._rows, row))
        if i == len(self._rows) or self._rows[i] != row:
            doc.metadata[SIZE] = 1
            return None
        t = self._table
        doc.metadata[CLUSTER] = t["cluster"][i].as_py()
        doc.metadata[SIZE] = t["size"][i].as_py()
        dup_of = t["duplicate_of"][i].as_py()
        if dup_of is None:
            return None
        doc.metadata["duplicate_of"] = dup_of
        doc.metadata[SIMILARITY] = t["similarity"][i].as_py()
        return "near_duplicate"
