"""exact_dedup_v1: drop documents whose normalised text equals an earlier document's.

Normalisation: NFKC, case-fold, whitespace collapsed (``curate.signals.dedup``). The first occurrence in input order
(task rank, then position) is kept; the others are rejected as ``exact_duplicate`` with ``duplicate_of`` = the kept id,
and the kept one carries ``exact_dup__copies`` (how many documents share its text).

Memory: the one index task holds 8 bytes of hash plus 8 of position per document, and the ids of documents that have
copies: ~24 bytes a document (24 MB per million).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep

from curate.registry import register
from curate.signals.dedup import text_hash
from curate.steps.base import GlobalStep, Params, Step

HASH = "exact_dup__hash"
COPIES = "exact_dup__copies"
DROPS_SCHEMA = pa.schema([("shard", pa.int32()), ("row", pa.int64()), ("duplicate_of", pa.string()), ("copies", pa.int32())])


class ExactDedupParams(Params):
    pass


class _Hash(Step):
    """Runs before the split: computes the hash the index stage reads (only that column is read back)."""

    name = "exact_dedup_v1"

    def apply(self, doc):
        doc.metadata[HASH] = text_hash(doc.text)
        return None

    def finish(self, rank: int) -> None:
        # the documents are counted once, by the filter half after the split; this half only adds its time
        self.counts = Counter({k: v for k, v in self.counts.items() if k[0] == "seconds"})
        super().finish(rank)


class _Index(PipelineStep):
    type = "curate"
    name = "exact_dedup_index"

    def __init__(self, segment_dir: str, out: str):
        super().__init__()
        self.segment_dir = segment_dir
        self.out = out

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from curate.io import ParquetShardWriter

        files = sorted(Path(self.segment_dir).glob("*.parquet"))
        tables = [pq.read_table(f, columns=["id", HASH]) for f in files]
        shard = np.concatenate([np.full(t.num_rows, int(f.stem), np.int32) for f, t in zip(files, tables)] or [[]])
        row = np.concatenate([np.arange(t.num_rows) for t in tables] or [[]]).astype(np.int64)
        hashes = np.concatenate([t[HASH].to_numpy(zero_copy_only=False) for t in tables] or [[]]).astype(np.int64)
        ids = pa.chunked_array([t["id"] for t in tables], type=pa.string()) if tables else pa.chunked_array([], pa.string())
        _, first, inverse, counts = np.unique(hashes, return_index=True, return_inverse=True, return_counts=True)
        with ParquetShardWriter(self.out, DROPS_SCHEMA) as w:
            for i in np.flatnonzero(counts[inverse] > 1):
                keeper = first[inverse[i]]
                dup_of = None if keeper == i else ids[int(keeper)].as_py()
                w.write({"shard": int(shard[i]), "row": int(row[i]), "duplicate_of": dup_of,
                         "copies": int(counts[inverse[i]])})
        return iter(())


@register
class ExactDedup(GlobalStep):
    """Drop documents whose normalised text (NFKC, case-folded, white space collapsed) repeats an earlier one's."""

    name = "exact_dedup_v1"
    Params = ExactDedupParams
    signals = {HASH: pa.int64(), COPIES: pa.int32()}
    reasons = {"exact_duplicate": "same text as an earlier document after NFKC, case-folding and whitespace collapse"}

    def _drops_path(self) -> Path:
        return self.layout.work / f"exact_dedup_{self.index:02d}" / "drops.parquet"

    def pre_step(self) -> Step:
        return _Hash(self.params, self.layout, self.stage, self.index)

    def global_stages(self, segment_dir, tasks: int):
        return [(f"exact_dedup_{self.index:02d}", [_Index(str(segment_dir), str(self._drops_path()))], 1)]

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
