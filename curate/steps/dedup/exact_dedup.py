"""exact_dedup_v1: drop documents whose normalised text equals an earlier document's.

Normalisation: NFKC, case-fold, whitespace collapsed (``curate.signals.dedup``). Keeper rule: a copy no earlier step
in tag mode tagged for removal (so the copy kept is the one a filtering run would keep), then the copy whose
``source`` comes first in ``prefer_sources`` (sources not listed come after), then the first in input order (task
rank, then position). The others are rejected as ``exact_duplicate`` with ``duplicate_of`` = the kept id, and the kept
one carries ``exact_dup__copies`` (how many documents share its text). ``minhash_dedup_v1`` uses the same preference.
In tag mode every copy is kept, the others with ``exact_dup__reason`` = ``exact_duplicate`` and
``exact_dup__duplicate_of``; ``exact_dup__copies`` then counts every copy, tagged ones included.

Memory: the one index task holds, per document, its hash, shard, row, source preference and tag flag (18 bytes) and the sort
over them; ids are read only for the kept copy of each duplicate group, row group by row group. Measured with
``python benches/exact_dedup_memory.py`` (10% copies; benches/exact_dedup_memory.json): the task's peak RSS is about
172 MB + 68 bytes a document (240 MB at a million documents). Reading every id and source as Python objects, as
before, cost 259 bytes a document (426 MB at a million; benches/exact_dedup_memory.before.json). ``curate plan``
prints this figure for a given number of documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep
from pydantic import Field

from curate import schema
from curate.io import filled_ints, read_parquet, valid_mask
from curate.registry import register
from curate.signals.dedup import text_hash
from curate.steps.base import GlobalStep, Params, Step
from curate.steps.dedup import duplicate_rows

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


def _tagged(table: pa.Table, columns: list[str]) -> np.ndarray:
    """(rows,) True where an earlier step in tag mode tagged the document for removal (a ``*__reason`` is set)."""
    out = np.zeros(table.num_rows, bool)
    for name in columns:
        out |= valid_mask(table[name])
    return out


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
        hashes, shard, row, pref, tagged = self._columns(files)
        # sort by (hash, untagged first, preference, input order): the first of each run of equal hashes is its keeper
        order = np.lexsort((row, shard, pref, tagged, hashes))
        del pref, tagged
        sorted_hashes = hashes[order]
        del hashes
        starts = np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]] if len(order) else np.zeros(0, bool)
        del sorted_hashes
        group = np.cumsum(starts, dtype=np.int64) - 1
        first = np.flatnonzero(starts)  # position (in sorted order) of each group's keeper
        del starts
        sizes = np.bincount(group) if len(order) else np.zeros(0, np.int64)
        copied = np.flatnonzero(sizes[group] > 1)  # positions of documents that share their text
        doc, keeper, copies = order[copied], order[first[group[copied]]], sizes[group[copied]]
        del order, group, first, sizes
        ids = self._ids(files, shard, row, keeper[keeper != doc])
        by_row = np.lexsort((row[doc], shard[doc]))  # written by (shard, row): each task reads one run of rows
        doc, keeper, copies = doc[by_row], keeper[by_row], copies[by_row]
        with ParquetShardWriter(self.out, DROPS_SCHEMA) as w:
            for i, k, c in zip(doc.tolist(), keeper.tolist(), copies.tolist()):
                w.write({"shard": int(shard[i]), "row": int(row[i]), "copies": c,
                         "duplicate_of": None if k == i else ids[k]})  # fmt: skip
        return iter(())

    def _columns(self, files: list[Path]):
        """(hash, shard, row, source preference, tagged by an earlier step) of every document, as numpy arrays: 18
        bytes a document. One read per shard; sources are read dictionary-encoded, so no Python string is made per
        document; ids are not read here at all."""
        rank_of = {s: i for i, s in enumerate(self.prefer_sources)}
        parts = []
        for f in files:
            pf = pq.ParquetFile(f, read_dictionary=["source"])  # opened once: its schema, then its columns
            tags = schema.reason_columns(pf.schema_arrow.names)
            table = pf.read(columns=["source", HASH, *tags])
            source = table["source"].combine_chunks()
            if not isinstance(source, pa.DictionaryArray):  # an all-null column is not dictionary-encoded
                source = source.dictionary_encode()
            ranks = np.array([rank_of.get(v, len(rank_of)) for v in source.dictionary.to_pylist()] + [len(rank_of)])
            codes = filled_ints(source.indices, len(source.dictionary))
            n = table.num_rows
            hashes = filled_ints(table[HASH])
            parts.append((hashes, np.full(n, int(f.stem), np.int32), np.arange(n, dtype=np.int32),
                          ranks[codes].astype(np.int8), _tagged(table, tags)))  # fmt: skip
            del table, source
        if not parts:
            return (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8),
                    np.zeros(0, bool))
        return tuple(np.concatenate(c) for c in zip(*parts))

    @staticmethod
    def _ids(files: list[Path], shard, row, wanted) -> dict[int, str]:
        """{document: id} for the ``wanted`` documents (keepers of a copy), read row group by row group."""
        # (return_counts: np.unique's plain form asks numpy.ma whether the array is masked, a 0.02 s import)
        wanted = np.unique(wanted, return_counts=True)[0]
        out: dict[int, str] = {}
        by_stem = {int(f.stem): f for f in files}
        for s in np.unique(shard[wanted], return_counts=True)[0].tolist():
            docs = wanted[shard[wanted] == s]
            rows = row[docs]
            pf = pq.ParquetFile(by_stem[s])
            lo = 0
            for g in range(pf.num_row_groups):
                hi = lo + pf.metadata.row_group(g).num_rows
                inside = (rows >= lo) & (rows < hi)
                if inside.any():
                    ids = pf.read_row_group(g, columns=["id"])["id"]
                    for d, r in zip(docs[inside].tolist(), rows[inside].tolist()):
                        out[d] = ids[r - lo].as_py()
                lo = hi
        return out


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

    def removed_rows(self) -> dict[int, np.ndarray]:
        return duplicate_rows(self._drops_path())

    _drops_rank = None

    def _load(self) -> None:
        """The decisions for this task's shard (the same instance may serve several ranks in turn)."""
        table = read_parquet(self._drops_path(), equal=("shard", self.rank))
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
