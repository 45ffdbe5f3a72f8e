"""The pure array parts of MinHash dedup: candidate pairs from band keys, connected components, the keeper rule.

Documents are numbered globally in input order (task rank, then row): ``index = offset[rank] + row``. A pair is
packed into one uint64 ``(u << 32) | v`` with u < v, so sets of pairs are deduplicated with one ``np.unique``.
"""

from __future__ import annotations

import numpy as np

_SHIFT = np.uint64(32)
_LOW = np.uint64(0xFFFFFFFF)


def pack(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u.astype(np.uint64) << _SHIFT) | v.astype(np.uint64)


def unpack(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (pairs >> _SHIFT).astype(np.int64), (pairs & _LOW).astype(np.int64)


def band_pairs(keys: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Packed candidate pairs of one band: every document with the key of an earlier one is paired with the first.

    ``keys`` (N,) uint64 and ``index`` (N,) int64 ascending. A bucket of k documents gives k - 1 pairs (a star on
    its first document, as datatrove's bucket stage does), not k(k-1)/2: the components are the same.
    """
    order = np.argsort(keys, kind="stable")  # stable: within a bucket, documents stay in input order
    k, i = keys[order], index[order]
    same = k[1:] == k[:-1]  # (N-1,) element p+1 is in the bucket of element p
    if not same.any():
        return np.empty(0, np.uint64)
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    first = np.repeat(i[starts], np.diff(np.append(starts, len(k))))
    member = np.concatenate([[False], same])
    return pack(first[member], i[member])


def components(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Connected components of the graph on nodes 0..n-1 with edges (u, v): (n,) label = the smallest node id.

    Union-find done as array passes (hook each edge's larger root under its smaller one, then compress paths by
    pointer jumping) so that a million edges take a few numpy calls per round, and O(log n) rounds.
    """
    label = np.arange(n, dtype=np.int64)
    while len(u):
        lu, lv = label[u], label[v]
        differ = lu != lv
        if not differ.any():
            break
        lo, hi = np.minimum(lu[differ], lv[differ]), np.maximum(lu[differ], lv[differ])
        np.minimum.at(label, hi, lo)  # hook roots: hi's label becomes the smaller root
        while True:  # pointer jumping until every node points at its root
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt
    return label


def keepers(label: np.ndarray, source_rank: np.ndarray, chars: np.ndarray, index: np.ndarray) -> np.ndarray:
    """For every node, the node kept of its component, by the keeper rule:

    1. the preferred source (lowest ``source_rank``: position in ``prefer_sources``, unlisted sources last),
    2. then the longest text (``chars``),
    3. then the first in input order (``index``).
    """
    order = np.lexsort((index, -chars, source_rank, label))  # last key sorts first: by label, then the rule
    first = np.concatenate([[True], label[order][1:] != label[order][:-1]])[: len(label)]
    best = np.empty(len(label), dtype=np.int64)  # best[label] = keeper node of that component
    best[label[order][first]] = order[first]
    return best[label]
