"""Each source's training stream: the same documents in the same order for every arm of a seed.

A source's token shard holds every training document once, whatever an arm's filter says. What one run trains on
(a `Selection`) says how many times each piece of the shard is read (0 for a document the arm's `train_where`
drops, more for `repeat_by`), which pieces a control drops, and which are read as word-shuffled copies. The run's
stream is those pieces in one order per (seed, epoch) that comes from a hash of the piece's id, read front to back,
epoch after epoch, in lanes side by side (a hash of the piece says which). Two arms of one seed therefore read the documents they share in the same
relative order and differ only where their selections differ (common random numbers: their paired difference
measures the selection, not the luck of the draw), and two arms that keep the same documents train bit-identically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

DROP_SALT = 0x64726F70  # "drop": the random_drop control's order, apart from the stream's order
SHUFFLE_SALT = 0x73687566  # "shuf": which documents the shuffle_words control replaces (the same for every seed)
POOL_SALT = 0x706F6F6C  # "pool": which pieces a source's fixed pool holds (the same for every seed and arm)
TOP = 2.0**64


def id_keys(labels) -> np.ndarray:
    """A 64-bit key per label (the first 8 bytes of its md5): stable across runs, machines and file orders."""
    return np.fromiter((int.from_bytes(hashlib.md5(s.encode()).digest()[:8], "little") for s in labels),
                       dtype=np.uint64, count=len(labels))


def piece_keys(ids: list[str]) -> np.ndarray:
    """Keys of a shard's pieces: a document's id, and for its second, third ... piece (chunks of a long document)
    the id with the piece's ordinal, so every piece of one document gets its own place in the order."""
    seen: dict[str, int] = {}
    labels = []
    for doc_id in ids:
        j = seen.get(doc_id, 0)
        seen[doc_id] = j + 1
        labels.append(doc_id if j == 0 else f"{doc_id}#{j}")
    return id_keys(labels)


def mix(keys: np.ndarray, *salt: int) -> np.ndarray:
    """One pseudo-random 64-bit value per key for each salt (seed, epoch, ...): splitmix64 of key xor salt."""
    s = np.zeros(1, dtype=np.uint64)
    for v in salt:
        s = _splitmix(s ^ np.uint64(v % 2**64))
    return _splitmix(keys ^ s[0])


def unit(keys: np.ndarray, *salt: int) -> np.ndarray:
    """mix() as a uniform number in [0, 1) per key."""
    return mix(keys, *salt).astype(np.float64) / TOP


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass
class Selection:
    """What one run reads of one source: per piece (a row of the shard's train index, then a row of the shuffled
    copies' index), its offset and length in its token file, which file (0 shard, 1 shuffled copies), its key and
    how many times the run reads it (0 = not at all)."""

    offsets: np.ndarray  # (P,) int64
    lengths: np.ndarray  # (P,) int64
    files: np.ndarray  # (P,) int8
    keys: np.ndarray  # (P,) uint64
    times: np.ndarray  # (P,) int64
    ids: list[str] = field(default_factory=list)  # (P,) the document each piece belongs to

    @property
    def tokens(self) -> int:
        """Training tokens of one epoch (repeats included)."""
        return int((self.lengths * self.times).sum())


LANE_SALT = 0x6C616E65  # "lane": which lane a piece is read in, the same for every seed and arm


class Stream:
    """The training tokens of one source for one run and seed: `lanes` endless sequences of epochs read side by side.

    Each read of a piece (a document, a chunk of a long one, or a repeat_by copy) belongs to one lane by a hash of
    its key, the same in every arm and seed; a lane holds its pieces in this seed and epoch's order. The k-th
    sequence of the source is block k // lanes of lane k % lanes. So one batch draws from many documents rather
    than consecutive blocks of one long document, and a document an arm drops moves only the blocks after it in its
    own lane: every other lane reads exactly what the baseline reads, at the same steps."""

    def __init__(self, files: list[np.ndarray], selection: Selection, seed: int, lanes: int = 1):
        read = np.flatnonzero(selection.times)
        copies = selection.times[read]
        piece = np.repeat(read, copies)  # one entry per read of a piece
        copy = np.arange(len(piece)) - np.repeat(np.cumsum(copies) - copies, copies)  # 0, 1, .. per piece
        keys = selection.keys[piece]
        for c in range(1, int(copies.max(initial=1))):  # a repeat_by copy takes its own place in the order
            keys[copy == c] = mix(keys[copy == c], c)
        self.files, self.seed, self.keys = files, seed, keys
        self.pieces = piece  # each read's row of the Selection
        self.offsets, self.lengths = selection.offsets[piece], selection.lengths[piece]
        self.which = selection.files[piece]
        self.epoch_tokens = int(self.lengths.sum())
        lane = (mix(keys, LANE_SALT) % np.uint64(max(1, lanes))).astype(np.int64)
        self.lanes = [np.flatnonzero(lane == i) for i in range(max(1, lanes))]
        self.lanes = [m for m in self.lanes if len(m)] or [np.arange(len(keys))]  # a lane with no piece is skipped
        self.lane_tokens = [int(self.lengths[m].sum()) for m in self.lanes]
        self._epochs: dict[tuple[int, int], np.ndarray] = {}

    def lane_order(self, lane: int, e: int) -> np.ndarray:
        """The entries of one lane (indices into this stream's reads) in this seed and epoch's order."""
        members = self.lanes[lane]
        return members[np.argsort(mix(self.keys[members], self.seed, e), kind="stable")]

    def _lane_epoch(self, lane: int, e: int) -> np.ndarray:
        """The tokens of epoch e of one lane: its pieces in this seed and epoch's order."""
        if (lane, e) not in self._epochs:
            self._epochs = {k: v for k, v in self._epochs.items() if k[0] != lane or k[1] >= e - 1}
            self._epochs[(lane, e)] = self._concat(self.lane_order(lane, e))
        return self._epochs[(lane, e)]

    def _concat(self, order: np.ndarray) -> np.ndarray:
        parts = [self.files[w][o : o + n] for w, o, n in
                 zip(self.which[order].tolist(), self.offsets[order].tolist(), self.lengths[order].tolist())]
        dtype = self.files[0].dtype
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    def epoch(self, e: int) -> np.ndarray:
        """Every piece of the stream once, in this seed and epoch's order (all lanes together)."""
        return self._concat(np.argsort(mix(self.keys, self.seed, e), kind="stable"))

    def window(self, k: int, block_size: int) -> np.ndarray:
        """The k-th sequence of this source: block_size + 1 tokens from block k // lanes of lane k % lanes."""
        lane, j = k % len(self.lanes), k // len(self.lanes)
        return self.take(lane, j * block_size, block_size + 1)

    def take(self, lane: int, start: int, n: int) -> np.ndarray:
        """Tokens [start, start + n) of one lane's endless stream (its epochs back to back)."""
        out, got = np.empty(n, dtype=np.int64), 0
        e, pos = divmod(start, self.lane_tokens[lane])
        while got < n:
            chunk = self._lane_epoch(lane, e)[pos : pos + n - got]
            out[got : got + len(chunk)] = chunk
            got, e, pos = got + len(chunk), e + 1, 0
        return out

    def counts(self, vocab_size: int) -> np.ndarray:
        """How often each token id occurs in one epoch (vocab_size,)."""
        return np.bincount(self.epoch(0), minlength=vocab_size)


def random_drop(doc_keys: np.ndarray, times: np.ndarray, lengths: np.ndarray, seed: int, *,
                fraction: float = 0.0, tokens: int = 0) -> np.ndarray:
    """`times` with a random set of documents dropped, chosen by a hash of (document, seed): `fraction` of the
    documents the selection reads, or (with `tokens`) documents in that hash order until at least `tokens` training
    tokens are gone. `doc_keys`: each piece's document key (every piece of a document goes or stays together)."""
    read = times > 0
    docs = np.unique(doc_keys[read])
    u = unit(docs, seed, DROP_SALT)
    if tokens:
        per_doc = np.zeros(len(docs))
        np.add.at(per_doc, np.searchsorted(docs, doc_keys[read]), (lengths * times)[read])
        order = np.argsort(u, kind="stable")
        gone = np.cumsum(per_doc[order])
        dropped = docs[order[: int(np.searchsorted(gone, tokens)) + 1]]
    else:
        dropped = docs[u < fraction]
    out = times.copy()
    out[np.isin(doc_keys, dropped)] = 0
    return out


def shuffled_docs(doc_keys: np.ndarray, fraction: float) -> np.ndarray:
    """Which pieces' documents the shuffle_words control replaces: a hash of the document, the same for every seed."""
    return unit(doc_keys, SHUFFLE_SALT) < fraction


def shuffle_words(text: str, key: int) -> str:
    """The text's whitespace-separated words in a pseudo-random order (seeded by `key`), joined by single spaces:
    the same words without their order."""
    words = text.split()
    rng = np.random.default_rng(key)
    return " ".join(words[i] for i in rng.permutation(len(words)))


def pool(keys: np.ndarray, lengths: np.ndarray, tokens: int) -> np.ndarray:
    """Which pieces a fixed pool of `tokens` training tokens holds: pieces in the order of a hash of their keys alone
    (the same for every seed and arm) until at least `tokens` are in; every piece when the source has fewer."""
    order = np.argsort(unit(keys, POOL_SALT), kind="stable")
    n = int(np.searchsorted(np.cumsum(lengths[order]), tokens)) + 1
    inside = np.zeros(len(keys), dtype=bool)
    inside[order[:n]] = True
    return inside


def select(index, times_by_id: dict[str, int], seed: int, *, alt_index=None, shuffle_fraction: float = 0.0,
           drop_fraction: float = 0.0, drop_tokens_unless: set[str] | None = None, pool_tokens: int = 0,
           drop_per_seed: bool = True) -> Selection:
    """The Selection of one run from a source's train index (a pyarrow table: id, offset, length), the times its
    documents are read ({id: times}: train_where and repeat_by; absent = not read) and a control: shuffled copies
    (`alt_index`, the index of the shuffled-copies file, for the `shuffle_fraction` of documents it replaces),
    `drop_fraction` of the documents, or as many tokens as keeping only `drop_tokens_unless` (an arm's documents)
    would remove. `pool_tokens`: read only the source's fixed pool of that many tokens (pool()), which every arm's
    filter and control then act within. `drop_per_seed`: a random_drop draws a new set at every seed (True) or one
    set for every seed, as a filter's is (False)."""
    ids = index.column("id").to_pylist()
    doc = id_keys(ids)
    times = np.fromiter((times_by_id.get(i, 0) for i in ids), dtype=np.int64, count=len(ids))
    offsets = index.column("offset").to_numpy().astype(np.int64)
    lengths = index.column("length").to_numpy().astype(np.int64)
    keys, files = piece_keys(ids), np.zeros(len(ids), dtype=np.int8)
    if pool_tokens:
        times = np.where(pool(keys, lengths, pool_tokens), times, 0)
    drop_seed = seed if drop_per_seed else 0
    if drop_tokens_unless is not None:
        removed = int(sum(n * t for i, n, t in zip(ids, lengths.tolist(), times.tolist())
                          if t and i not in drop_tokens_unless))
        times = random_drop(doc, times, lengths, drop_seed, tokens=removed) if removed else times
    elif drop_fraction:
        times = random_drop(doc, times, lengths, drop_seed, fraction=drop_fraction)
    if alt_index is not None and shuffle_fraction:
        alt_ids = alt_index.column("id").to_pylist()
        alt_doc = id_keys(alt_ids)
        replaced = shuffled_docs(doc, shuffle_fraction)
        alt_times = np.fromiter((times_by_id.get(i, 0) for i in alt_ids), dtype=np.int64, count=len(alt_ids))
        alt_times[~np.isin(alt_doc, doc[(times > 0) & replaced])] = 0  # a dropped document has no copy either
        times = np.where(replaced, 0, times)
        offsets = np.concatenate([offsets, alt_index.column("offset").to_numpy().astype(np.int64)])
        lengths = np.concatenate([lengths, alt_index.column("length").to_numpy().astype(np.int64)])
        keys = np.concatenate([keys, piece_keys(alt_ids)])  # a copy takes its document's place in the order
        files = np.concatenate([files, np.ones(len(alt_ids), dtype=np.int8)])
        times = np.concatenate([times, alt_times])
        ids = ids + alt_ids
    return Selection(offsets, lengths, files, keys, times, ids)
