"""exact_dedup_v1: drop documents whose normalised text equals an earlier document's.

Normalisation: NFKC, case-fold, whitespace collapsed (``curate.signals.dedup``). Keeper rule: the copy whose
``source`` comes first in ``prefer_sources`` (sources not listed come after), then the first in input order (task
rank, then position). The others are rejected as ``exact_duplicate`` with ``duplicate_of`` = the kept id, and the kept
one carries ``exact_dup__copies`` (how many documents share its text). ``minhash_dedup_v1`` uses the same preference.

Memory: the one index task holds 8 bytes of hash plus 8 of position per document, and the ids of documents that have
copies: ~24 bytes a document (24 MB per million).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep
from pydantic import Field

from curate.registry import register
from curate.signals.dedup import text_hash
from curate.steps.base import GlobalStep, Params, Step

HASH = "exact_dup__hash"
COPIES = "exact_dup__copies"
DROPS_SCHEMA = pa.schema([("shard", pa.int32()), ("row", pa.int64()), ("duplicate_of", pa.string()), ("copies", pa.int32())])


class ExactDedupParams(Params):
    prefer_sources: list[str] = Field(
        default_factory=list,
        description="Keep the copy from the earliest of these sources (e.g. [books, code, web]: a web page that "
        "copies a book loses); then the first in input order. curate's rule, as minhash_dedup_v1's.",
    )


class _Hash(Step):
    """Runs before the split: computes the hash the index stage reads (only that column is read back)."""

    name = "exact_dedup_v1"
    counts_documents = False

    def apply(self, doc):
        doc.metadata[HASH] = text_hash(doc.text)



class _Index(PipelineStep):
    type = "curate"
    name = "exact_dedup_index"

    def __init__(self, segment_dir: str, out: str, prefer_sources: list[str]):
        super().__init__()
        self.segment_dir = segment_dir
        self.out = out
        self.prefer_sources = prefer_sources

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from curate.io import ParquetShardWriter

        files = sorted(Path(self.segment_dir).glob("*.parquet"))
        tables = [pq.read_table(f, columns=["id", "source", HASH]) for f in files]
        n = sum(t.num_rows for t in tables)
        shard = np.concatenate([np.full(t.num_rows, int(f.stem), np.int32) for f, t in zip(files, tables)] or [[]])
        row = np.concatenate([np.arange(t.num_rows) for t in tables] or [[]]).astype(np.int64)
        hashes = np.concatenate([t[HASH].to_numpy(zero_copy_only=False) for t in tables] or [[]]).astype(np.int64)
        rank_of = {s: i for i, s in enumerate(self.prefer_sources)}
        sources = [s for t in tables for s in t["source"].to_pylist()]
        pref = np.array([rank_of.get(s, len(rank_of)) for s in sources], dtype=np.int32).reshape(n)
        ids = pa.chunked_array([t["id"] for t in tables], type=pa.string()) if tables else None
        # sort by (hash, preference, input order): the first of each run of equal hashes is its keeper
        order = np.lexsort((row, shard, pref, hashes))
        sorted_hashes = hashes[order]
        starts = np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]] if n else np.zeros(0, bool)
        group = np.cumsum(starts) - 1
        keeper = order[np.flatnonzero(starts)][group]
        copies = np.bincount(group)[group] if n else group
        with ParquetShardWriter(self.out, DROPS_SCHEMA) as w:
            for pos in np.flatnonzero(copies > 1):
                i, k = order[pos], keeper[pos]
                w.write({"shard": int(shard[i]), "row": int(row[i]), "copies": int(copies[pos]),
                         "duplicate_of": None if k == i else ids[int(k)].as_py()})
        return iter(())


@register
class ExactDedup(GlobalStep):
    """Drop documents whose normalised text (NFKC, case-folded, white space collapsed) repeats an earlier one's."""

    name = "exact_dedup_v1"
    Params = ExactDedupParams
    signals: ClassVar[dict[str, pa.DataType]] = {HASH: pa.int64(), COPIES: pa.int32()}
    reasons: ClassVar[dict[str, str]] = {"exact_duplicate": "same text as an earlier document after NFKC, case-folding and whitespace collapse"}

    def _drops_path(self) -> Path:
        return self.layout.work / f"exact_dedup_{self.index:02d}" / "drops.parquet"

    def pre_step(self, stage: str) -> Step:
        return _Hash(self.params, self.layout, stage, self.index)

    def global_stages(self, segment_dir, tasks: int):
        index = _Index(str(segment_dir), str(self._drops_path()), list(self.params.prefer_sources))
        return [(f"exact_dedup_{self.index:02d}", [index], 1)]

    _drops_rank = None

    def _load(self) -> None:
        """The decisions for this task's shard (the same instance may serve several ranks in turn)."""
        table = pq.read_table(self._drops_path(), filters=[("shard", "=", self.rank)])
        self._drops_rank = self.rank
        self._drops = {
            r: (d, c) for r, d, c in zip(table["row"].to_pylist(), table["duplicate_of"].to_pylist(),
                                         table["copies"].to_pylist())
        }

    def apply(self, doc):
        if self._drops_rank != self.rank:
            self._load()
        dup_of, copies = self._drops.get(doc.metadata["_row"][1], (None, 1))
        doc.metadata[COPIES] = copies
        if dup_of is not None:
            doc.metadata["duplicate_of"] = dup_of
            return "exact_duplicate"
        return None
