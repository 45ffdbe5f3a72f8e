"""Benchmark-contamination signals: 64-bit hashes of word n-grams, and their overlap with an index (pure).

The recipe is GPT-3's (Brown et al. 2020, Appendix C: a training document overlaps a benchmark if it shares a
13-gram with it) as Llama, datatrove's ``NGramsDecontFilter`` and NeMo Curator's task decontamination apply it.
Text is normalised as near-dedup normalises it (``curate.signals.minhash.prepare``: NFKC, case-folded,
punctuation and symbols -> space, digits -> ``0``, a Chinese / Japanese character is a word), so "The  answer,
42." and "the answer 00" are the same words. An n-gram's hash combines its words' 64-bit hashes with position
weights (``sum_j K_j * h(w_{i+j})`` mod 2^64, then MurmurHash3's finaliser): 64 bits, so among 10^9 indexed
n-grams a document n-gram collides by chance with probability about 5e-11.

The index is a sorted ``uint64`` array (8 bytes per n-gram) and a parallel ``uint16`` task id (2 bytes): a lookup
is one ``np.searchsorted`` over all the n-grams of a batch of documents.
"""

from __future__ import annotations

import functools

import numpy as np

from curate.signals.minhash import MinHasher, fmix64, prepare

_U64 = np.uint64
SEED = 13  # fixed: an index and the step must hash alike, on every machine


@functools.cache
def _hasher() -> MinHasher:
    return MinHasher(ngram=1, bands=1, rows=1, seed=SEED)  # used for its vectorised word hash only


@functools.cache
def _weights(n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED + n)
    return rng.integers(0, 2**63, size=n, dtype=np.uint64) * _U64(2) + _U64(1)  # odd


def word_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the normalised words of ``text``, in order, (W,) uint64."""
    data = prepare(text).strip()
    if not data:
        return np.empty(0, np.uint64)
    h, _ = _hasher()._word_hashes([data])
    return h


def ngram_hashes(text: str, n: int = 13) -> np.ndarray:
    """Hashes of every word ``n``-gram of ``text`` in order, (max(W - n + 1, 0),) uint64 (repeats kept)."""
    h = word_hashes(text)
    m = len(h) - n + 1
    if m <= 0:
        return np.empty(0, np.uint64)
    k = _weights(n)
    acc = h[:m] * k[0]
    for j in range(1, n):
        acc += h[j : j + m] * k[j]
    return fmix64(acc)


def build_index(hash_arrays: list[np.ndarray], task_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique hashes (N,) uint64, task id of each (N,) uint16) from per-item hash arrays and their task ids.

    An n-gram found in several tasks keeps the lowest task id (the first task listed)."""
    if not hash_arrays:
        return np.empty(0, np.uint64), np.empty(0, np.uint16)
    hashes = np.concatenate(hash_arrays)
    tasks = np.repeat(np.asarray(task_ids, np.uint16), [len(a) for a in hash_arrays])
    order = np.lexsort((tasks, hashes))
    hashes, tasks = hashes[order], tasks[order]
    first = np.ones(len(hashes), bool)
    first[1:] = hashes[1:] != hashes[:-1]
    return hashes[first], tasks[first]


def overlaps(index: np.ndarray, index_tasks: np.ndarray, queries: list[np.ndarray], n_tasks: int):
    """For each query array (one document's n-gram hashes): (distinct indexed n-grams it holds, the task id most of
    them belong to or -1). One ``searchsorted`` over the concatenated queries."""
    counts = np.zeros(len(queries), np.int64)
    best = np.full(len(queries), -1, np.int64)
    if not queries or len(index) == 0:
        return counts, best
    q = np.concatenate(queries)
    if len(q) == 0:
        return counts, best
    # membership of the query hashes, sorted (a sorted probe walks the index in order: about 2x faster; np.sort, not
    # np.unique, which is several times slower on numpy 2.4)
    uq = np.sort(q)
    pos = np.searchsorted(index, uq)
    pos[pos == len(index)] = 0
    found = uq[index[pos] == uq]
    if len(found) == 0:
        return counts, best
    doc = np.repeat(np.arange(len(queries)), [len(a) for a in queries])
    hit = np.isin(q, found)
    d, h = doc[hit], q[hit]
    order = np.lexsort((h, d))  # distinct n-grams per document: first of each (doc, hash) run
    d, h = d[order], h[order]
    first = np.ones(len(d), bool)
    first[1:] = (d[1:] != d[:-1]) | (h[1:] != h[:-1])
    d, h = d[first], h[first]
    task = np.asarray(index_tasks[np.searchsorted(index, h)], np.int64)
    counts[:] = np.bincount(d, minlength=len(queries))
    per = np.zeros((len(queries), max(n_tasks, 1)), np.int64)
    np.add.at(per, (d, task), 1)
    has = counts > 0
    best[has] = per[has].argmax(axis=1)
    return counts, best
