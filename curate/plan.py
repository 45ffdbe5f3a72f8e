"""`curate plan`: memory, disk and time of near-dedup (minhash_dedup_v1) for N documents, before running it.

The estimates are linear models whose constants were measured on real text and are stored below with the command
that measured them (``python benches/dedup.py --calibrate``; run it on other hardware and paste its output over
``CONSTANTS`` to plan for that machine); every memory figure carries ``HEADROOM``. Memory is the peak resident set
(RSS) of one process:

* a signature-pass task (the segment before the split: reader, batches of 64 documents, the shard writer, which
  buffers 2,000 documents): ``signature_rss_bytes + signature_rss_bytes_per_char * mean_chars +
  signature_rss_bytes_per_task_doc * N / tasks`` (the last term is the reader and writer's, not the dedup's);
* the bucket task: ``bucket_base_bytes + bucket_bytes_per_doc * N`` (one band's keys and their sort at a time);
* the cluster task: ``cluster_base_bytes + cluster_bytes_per_doc * N + cluster_bytes_per_pair * P`` for P
  candidate pairs (about ``pairs_per_removed_doc`` per removed document; at most bands x N). A run counts P before
  it clusters and checks the plan again with it (``max_memory_gb``); every dedup stage records its
  ``planned_memory_gb`` and its measured ``peak_rss_gb`` in stats.parquet.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1e9

# Measured by `python benches/dedup.py --calibrate` (AMD EPYC Zen 4, 2 cores shared with other jobs, Python 3.11.7,
# numpy 2.4.6, pyarrow 26.0.1, datatrove 0.10.1): synthetic documents of real sentences, mean 2,000 characters, 100k
# and 1M documents, and 20k documents of 20,000 characters, 2 tasks each; CPU seconds, not wall seconds.
CONSTANTS = {
    "signature_rss_bytes": 182e6,
    "signature_rss_bytes_per_char": 22764.3,  # the shard writer buffers 2,000 documents: long documents cost
    "signature_rss_bytes_per_task_doc": 37.8,
    "bucket_base_bytes": 80e6,
    "bucket_bytes_per_doc": 107.1,
    "cluster_base_bytes": 179e6,
    "cluster_bytes_per_doc": 53.5,
    "cluster_bytes_per_pair": 64,  # the arrays the cluster task holds per candidate pair (not fitted)
    "pairs_per_removed_doc": 1.06,
    # exact_dedup_v1's one index task (hash, shard, row, source preference and their sort; ids of keepers only):
    # `python benches/exact_dedup_memory.py`, 100k and 1M documents, peak RSS of the whole process
    "exact_index_rss_bytes": 172e6,
    "exact_index_bytes_per_doc": 67.9,
    # the whole `curate run` of parquet_v1 -> minhash_dedup_v1, re-measured after MinHash's speed-ups (7 Dec 2026):
    # benches/plan_cpu.json, two runs of `benches/dedup.py`'s scale() at 100k documents (8.78e-8, 9.43e-8; the
    # constant before them, 1.12e-7, was measured at 1M documents, within 3% of its own 100k figure)
    "run_cpu_seconds_per_char": 9.1e-08,
    # the segment shards (LZ4, curate.compile.SEGMENT_COMPRESSION) of `benches/dedup.py`'s synthetic text: 0.793
    # bytes a character at 20,000 documents (zstd: 0.517)
    "shard_bytes_per_char": 0.79,
    # decontam_ngram_v1: resident growth of a process that memory-maps an index and looks documents up in it, per
    # indexed n-gram (8-byte hash + 2-byte task id = 10 in theory); `python benches/decontam.py` (benches/decontam.json)
    "decontam_rss_bytes_per_ngram": 10.4,  # 3.79M n-grams of stdlib source; 10.4-11.4 over runs
}


@dataclass
class Plan:
    docs: int
    mean_chars: float
    bands: int
    rows: int
    tasks: int
    dup_fraction: float
    signature_gb: float
    bucket_gb: float
    cluster_gb: float
    cluster_bound_gb: float
    disk_gb: float
    cpu_seconds: float
    exact_index_gb: float = 0.0

    @property
    def memory_gb(self) -> float:
        return max(self.signature_gb, self.bucket_gb, self.cluster_gb)


HEADROOM = 1.2  # over the measured peaks: allocator, library versions and machine load move them by some percent


def signature_bytes(docs: float, mean_chars: float, tasks: int) -> float:
    c = CONSTANTS
    return HEADROOM * (c["signature_rss_bytes"] + c["signature_rss_bytes_per_char"] * mean_chars
                       + c["signature_rss_bytes_per_task_doc"] * docs / tasks)


def bucket_bytes(docs: float) -> float:
    return HEADROOM * (CONSTANTS["bucket_base_bytes"] + CONSTANTS["bucket_bytes_per_doc"] * docs)


def cluster_bytes(docs: float, pairs: float) -> float:
    c = CONSTANTS
    per_doc, per_pair = c["cluster_bytes_per_doc"], c["cluster_bytes_per_pair"]
    return HEADROOM * (c["cluster_base_bytes"] + per_doc * docs + per_pair * pairs)


def estimate(docs: int, mean_chars: float, bands: int = 14, rows: int = 8, tasks: int = 1,
             dup_fraction: float = 0.2) -> Plan:
    """The plan for ``docs`` documents of ``mean_chars`` characters of which ``dup_fraction`` are near-copies."""
    c = CONSTANTS
    chars = docs * mean_chars
    return Plan(
        docs=docs, mean_chars=mean_chars, bands=bands, rows=rows, tasks=tasks, dup_fraction=dup_fraction,
        signature_gb=signature_bytes(docs, mean_chars, tasks) / GB,
        bucket_gb=bucket_bytes(docs) / GB,
        cluster_gb=cluster_bytes(docs, c["pairs_per_removed_doc"] * dup_fraction * docs) / GB,
        cluster_bound_gb=cluster_bytes(docs, bands * docs) / GB,
        # signatures (keys, sketch, facts) + the segment shards of the split, which hold the texts again
        disk_gb=(docs * (16 + 8 * bands + bands * rows) + c["shard_bytes_per_char"] * chars) / GB,
        cpu_seconds=c["run_cpu_seconds_per_char"] * chars,  # measured at 14 x 8; more hashes cost more
        exact_index_gb=exact_index_bytes(docs) / GB,
    )


def exact_index_bytes(docs: float) -> float:
    """Peak RSS of exact_dedup_v1's index task for ``docs`` documents (one process, every document of the run)."""
    return HEADROOM * (CONSTANTS["exact_index_rss_bytes"] + CONSTANTS["exact_index_bytes_per_doc"] * docs)


def check_memory(planned_bytes: float, params, what: str) -> float:
    """Compare a planned peak with ``params.max_memory_gb``: log a warning or raise StepError. Returns GB."""
    gb = planned_bytes / GB
    if params.max_memory_gb is not None and gb > params.max_memory_gb:
        msg = (f"minhash_dedup_v1: the {what} is planned to need {gb:.2f} GB, over max_memory_gb="
               f"{params.max_memory_gb} (see `curate plan`)")
        if params.on_over_memory == "fail":
            from curate.errors import StepError

            raise StepError(msg)
        from loguru import logger

        logger.warning(msg)
    return gb


def decontam_bytes(ngrams: int) -> float:
    """Resident memory of a decontam_ngram_v1 index of ``ngrams`` n-grams (shared by the tasks of one machine)."""
    return HEADROOM * CONSTANTS["decontam_rss_bytes_per_ngram"] * ngrams
