"""The stages of minhash_dedup_v1 hidden behind its one YAML entry: signatures, buckets, clusters.

1. ``Signatures`` (the pre-step, at the end of the segment before the split): band keys, sketch and keeper facts
   of every document, appended to ``sigs/<rank>.*`` (nothing held per document in memory);
2. ``Buckets`` (``min(tasks, bands)`` tasks, band b in task b % tasks): the candidate pairs of its bands, among the
   documents an upstream step in the same segment (exact dedup; ``GlobalStep.shares_segment``) did not remove;
3. ``Clusters`` (one task): pairs whose estimated Jaccard reaches the threshold are joined (union-find), each
   cluster's keeper chosen by the rule of :func:`curate.steps.dedup.minhash.cluster.keepers`, one row per clustered
   document written to ``clusters.parquet``, which the step reads at the start of the next segment.

Each stage is a datatrove stage with its own completion markers, so a killed run resumes at the stage (and task)
it was in; each writes its files atomically.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep

from curate import schema
from curate.io import atomic_path, numpy_array, read_parquet
from curate.plan import bucket_bytes, cluster_bytes
from curate.signals.minhash import MinHasher, estimate_jaccard
from curate.steps.base import Step, write_stats
from curate.steps.dedup.minhash.cluster import band_pairs, components, keepers, unpack
from curate.steps.dedup.minhash.files import CLUSTERS_SCHEMA, META, SigFiles, save_atomic

NAME = "minhash_dedup_v1"
TAGGED_RANK = 1 << 20  # added to the source rank of a tagged document: the keeper rule then prefers untagged ones


class Signatures(Step):
    """Runs before the split: appends each document's band keys, sketch and keeper facts to this rank's files."""

    name = NAME
    counts_documents = False  # counted once, by the filter half after the split
    batch_size = 64  # documents per call; hashed in groups of 1 MB of text (curate.signals.minhash.GROUP)

    def __init__(self, params, layout, stage, index, files: SigFiles):
        super().__init__(params, layout, stage, index)
        self.files = files
        self._writer = None

    def setup(self) -> None:
        p = self.params
        self._hasher = MinHasher(p.ngram, p.bands, p.rows, p.seed)
        self._source_rank = {s: i for i, s in enumerate(p.prefer_sources)}

    def apply_batch(self, docs):
        cpu = time.process_time()
        keys, sketch, counts = self._hasher.signatures([d.text for d in docs])
        meta = np.empty(len(docs), META)
        meta["chars"] = [len(d.text) for d in docs]
        meta["shingles"] = counts
        unlisted = len(self._source_rank)
        # a document an earlier step in tag mode tagged ranks after every untagged one (see live_components)
        meta["source_rank"] = [self._source_rank.get(d.metadata.get("source"), unlisted)
                               + TAGGED_RANK * schema.is_tagged(d.metadata) for d in docs]
        if self._writer is None:
            self._writer = self.files.writer(self.rank)
        self._writer.write(keys, sketch, meta)  # last: a batch that raised above wrote nothing
        self.count("cpu_seconds", time.process_time() - cpu)
        return [None] * len(docs)

    def finish(self, rank: int) -> None:
        if self._writer is None:  # an empty shard still gets (empty) files: every rank has its row count
            self._writer = self.files.writer(rank)
        self._writer.close()
        self._writer = None
        self.counts[("peak_rss_gb", None)] = peak_rss_gb()
        super().finish(rank)


def peak_rss_gb() -> float:
    """Peak resident set of this process so far, GB (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


class _GlobalStage(PipelineStep):
    type = "curate"

    def __init__(self, step, files: SigFiles, segment_dir: str):
        super().__init__()
        self.params, self.layout, self.index = step.params, step.layout, step.index
        self.files = files
        self.segment_dir = segment_dir
        self.upstream = step.upstream  # global steps applied just before this one, in the same segment

    def _upstream_rows(self, tagged: bool) -> dict[int, np.ndarray]:
        """{shard: rows} that the upstream steps in tag mode tag (``tagged``), or in filter mode remove."""
        out: dict[int, list] = {}
        for step in (s for s in self.upstream if (s.mode == "tag") == tagged):
            for shard, rows in step.removed_rows().items():
                out.setdefault(shard, []).append(rows)
        return {shard: np.unique(np.concatenate(rows)) for shard, rows in out.items()}

    def _write_stats(self, rank: int, counts: Counter, cpu0: float) -> None:
        counts.update(peak_rss_gb=peak_rss_gb(), cpu_seconds=time.process_time() - cpu0)
        rows = Counter({(k, None): v for k, v in counts.items()})
        write_stats(self.layout, self.stage, self.index, NAME, rank, rows)

    def check_memory(self, planned_bytes: float, counts: Counter, what: str) -> None:
        """Compare the planned peak with ``max_memory_gb``: warn (a log line) or fail; the plan goes to stats."""
        from curate.plan import check_memory

        counts["planned_memory_gb"] = check_memory(planned_bytes, self.params, what)


class Buckets(_GlobalStage):
    name = "minhash_buckets"

    def __init__(self, step, files, segment_dir, stage: str):
        super().__init__(step, files, segment_dir)
        self.stage = stage

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        t0, cpu0, counts = time.perf_counter(), time.process_time(), Counter()
        ranks, offsets = self.files.offsets()
        self.check_memory(bucket_bytes(offsets[-1]), counts, f"bucket task for {offsets[-1]:,} documents")
        # documents without shingles (fewer than ngram words) have no keys to compare, and those an upstream step
        # removes are not there: the documents a segment of this step's own would have held
        index, removed = [], self._upstream_rows(tagged=False)
        for r, o in zip(ranks, offsets):
            present = np.ones(self.files.rows(r), bool)
            present[removed.get(r, [])] = False
            shingled = self.files.column(r, "meta", "shingles") > 0
            index.append(o + np.flatnonzero(present & shingled))
            if rank == 0:  # every bucket task sees every document: one counts
                counts["no_shingles"] += int((present & ~shingled).sum())
        pairs = np.empty(0, np.uint64)
        for band in range(rank, self.params.bands, world_size):
            keys = np.concatenate(
                [self.files.column(r, "keys", band)[i - o] for r, o, i in zip(ranks, offsets, index)]
                or [np.empty(0, np.uint64)]
            )
            found = band_pairs(keys, np.concatenate(index or [np.empty(0, np.int64)]))
            counts["band_pairs"] += len(found)
            pairs = np.unique(np.concatenate([pairs, found]))
        save_atomic(self.files.pairs_path(rank), pairs)
        counts["seconds"] = time.perf_counter() - t0
        self._write_stats(rank, counts, cpu0)
        return iter(())


class Clusters(_GlobalStage):
    name = "minhash_clusters"

    def __init__(self, step, files, segment_dir, stage: str, bucket_tasks: int):
        super().__init__(step, files, segment_dir)
        self.stage, self.bucket_tasks = stage, bucket_tasks

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        if self.files.clusters_path.exists():  # written last, atomically: an earlier attempt did all the work
            return iter(())
        t0, cpu0, counts = time.perf_counter(), time.process_time(), Counter()
        ranks, offsets = self.files.offsets()
        paths = [self.files.pairs_path(t) for t in range(self.bucket_tasks)]
        n_pairs = sum(len(np.load(p, mmap_mode="r")) for p in paths)  # the header only: pairs before any load
        self.check_memory(
            cluster_bytes(offsets[-1], n_pairs),
            counts,
            f"cluster task for {offsets[-1]:,} documents and {n_pairs:,} candidate pairs",
        )
        pairs = np.unique(np.concatenate([np.load(p) for p in paths]))
        u, v = unpack(pairs)
        del pairs
        nodes = np.unique(np.concatenate([u, v]))  # every document of a candidate pair, in input order
        sketch = self._rows(nodes, ranks, offsets, "sketch")
        iu, iv = np.searchsorted(nodes, u), np.searchsorted(nodes, v)
        del u, v
        ok = _similarity(sketch, iu, iv) >= self.params.threshold
        counts.update(candidate_pairs=len(ok), joined_pairs=int(ok.sum()))
        meta = self._rows(nodes, ranks, offsets, "meta")
        self._tag_upstream(meta, nodes, ranks, offsets)
        label = live_components(iu[ok], iv[ok], meta, nodes)
        del iu, iv, ok
        keep = keepers(label, meta["source_rank"], meta["chars"], nodes)
        size = np.bincount(label, minlength=len(nodes))[label]
        clustered = np.flatnonzero(size >= 2)
        sim = _similarity(sketch, clustered, keep[clustered]).astype(np.float32)
        table = self._table(nodes, clustered, keep, size, sim, ranks, offsets)
        counts.update(
            clusters=int((keep[clustered] == clustered).sum()),
            clustered_docs=len(clustered),
            largest_cluster=int(size.max(initial=0)),
            seconds=time.perf_counter() - t0,
        )
        self._write_stats(rank, counts, cpu0)
        path = self.files.clusters_path
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, row_group_size=1 << 16)
        self.files.remove_inputs()  # the signatures and pairs are not needed again (240 bytes a document)
        return iter(())

    def _tag_upstream(self, meta: np.ndarray, nodes: np.ndarray, ranks: list[int], offsets: np.ndarray) -> None:
        """Rank the nodes an upstream step in tag mode tagged as tagged (Signatures ran before it decided)."""
        first = dict(zip(ranks, offsets.tolist()))  # global index of each shard's row 0
        tagged = [rows + first[shard] for shard, rows in self._upstream_rows(tagged=True).items()]
        if tagged:
            hit = np.isin(nodes, np.concatenate(tagged)) & (meta["source_rank"] < TAGGED_RANK)
            meta["source_rank"][hit] += TAGGED_RANK

    def _rows(self, nodes: np.ndarray, ranks: list[int], offsets: np.ndarray, kind: str) -> np.ndarray:
        """Rows of ``kind`` for the global indices ``nodes`` (sorted), read shard by shard."""
        lo = np.searchsorted(nodes, offsets)
        parts = [self.files.select(r, kind, nodes[lo[i] : lo[i + 1]] - offsets[i]) for i, r in enumerate(ranks)]
        return np.concatenate(parts) if parts else self.files.empty(kind)

    def _ids(self, index: np.ndarray, ranks: list[int], offsets: np.ndarray) -> pa.Array:
        """The ``id`` of the documents at global indices ``index`` (sorted, unique), from the segment shards."""
        lo = np.searchsorted(index, offsets)
        parts = []
        for i, r in enumerate(ranks):
            if lo[i + 1] > lo[i]:
                ids = read_parquet(Path(self.segment_dir) / f"{r:05d}.parquet", ["id"])["id"]
                rows = numpy_array((index[lo[i] : lo[i + 1]] - offsets[i]).astype(np.int64), pa.int64())
                parts.append(ids.take(rows).combine_chunks())
        return pa.concat_arrays(parts) if parts else pa.nulls(0, pa.string())  # pa.array imports pandas

    def _table(self, nodes, clustered, keep, size, sim, ranks, offsets) -> pa.Table:
        """One row per clustered document: its shard and row, cluster (kept id), size, duplicate_of, similarity."""
        import pyarrow.compute as pc  # here, not at the top: every `curate run` imports every step module

        glob, keeper_glob = nodes[clustered], nodes[keep[clustered]]
        kept_ids, where = np.unique(keeper_glob, return_inverse=True)
        cluster = self._ids(kept_ids, ranks, offsets).take(numpy_array(np.asarray(where, np.int64), pa.int64()))
        is_keeper = keeper_glob == glob
        shard = np.searchsorted(offsets, glob, side="right") - 1
        return pa.table(
            {
                # numpy_array, not pa.array: pyarrow imports pandas for the latter
                "shard": numpy_array((np.asarray(ranks, np.int32)[shard] if len(ranks) else shard).astype(np.int32),
                                     pa.int32()),
                "row": numpy_array((glob - offsets[shard]).astype(np.int64), pa.int64()),
                "cluster": cluster,
                "size": numpy_array(np.asarray(size[clustered], np.int32), pa.int32()),
                "duplicate_of": pc.if_else(numpy_array(is_keeper, pa.bool_()), pa.nulls(len(glob), pa.string()),
                                           cluster),
                "similarity": numpy_array(np.asarray(sim, np.float32), pa.float32(), mask=is_keeper),
            },
            schema=CLUSTERS_SCHEMA,
        )


def live_components(u: np.ndarray, v: np.ndarray, meta: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Cluster labels of the nodes joined by edges (u, v), with documents tagged by an earlier step in tag mode
    (``source_rank >= TAGGED_RANK``) unable to join two clusters: the untagged documents cluster among themselves,
    exactly as in a run that had dropped the tagged ones, and each tagged document joins the cluster of its
    component's keeper (an untagged document when the component has one). Without tagged documents: components."""
    live = meta["source_rank"] < TAGGED_RANK
    both = live[u] & live[v]
    label = components(u[both], v[both], len(nodes))
    if live.all():
        return label
    keep = keepers(components(u, v, len(nodes)), meta["source_rank"], meta["chars"], nodes)
    label[~live] = label[keep[~live]]  # a tagged node is alone in `label`: label[node] == node before this line
    return label


def _similarity(sketch: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Estimated Jaccard of the node pairs (a[i], b[i]), a chunk at a time (a (chunk, 112) bool temporary)."""
    out = np.empty(len(a), np.float64)
    for s in range(0, len(a), chunk):
        out[s : s + chunk] = estimate_jaccard(sketch[a[s : s + chunk]], sketch[b[s : s + chunk]])
    return out
