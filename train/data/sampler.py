"""Mixture sampler over each source's training stream: source ~ weights, then the next block of that source's
stream (train/data/stream.py: the run's documents in one order per seed and epoch, read front to back).

The global batch of a step is a pure function of (seed, step): which source each of its B sequences comes from is
drawn from (seed, step), and the k-th sequence of source s is the k-th block of that source's stream, read in
LANES lanes side by side (Stream.window). Rank r of W processes takes rows
[r * B / W, (r + 1) * B / W) of it, and gradient accumulation splits those further. So a resumed run sees exactly
the batches it would have seen, 1 or 2 processes see the same global batch, and every arm of one seed draws its
sources in the same order and reads the documents they share in the same order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from train.data.stream import Selection, Stream, select
from train.errors import DataError

LANES = 16  # lanes a source's stream is read in side by side (train/data/stream.py): a fixed number, not the batch


@dataclass
class Shards:
    """One source's training stream and validation tokens (memory-mapped), and its weight in the mix."""

    name: str
    weight: float
    stream: Stream | None  # None: an evaluation-only source (weight 0)
    val: np.ndarray
    directory: Path | None = None

    def train_counts(self, vocab_size: int) -> np.ndarray:
        """How often each token id occurs in one epoch of the run's training stream (vocab_size,)."""
        if self.stream is None:
            return np.zeros(vocab_size, dtype=np.int64)
        return self.stream.counts(vocab_size)

    @property
    def train_tokens(self) -> int:
        """Tokens of one epoch of this run's training stream (repeats and controls included)."""
        return self.stream.epoch_tokens if self.stream is not None else 0

    @classmethod
    def open(cls, name: str, weight: float, directory: Path, block_size: int, label: str = "",
             selection: Selection | None = None, alt_dir: Path | None = None, seed: int = 0) -> Shards:
        meta = json.loads((directory / "meta.json").read_text())
        label = label or name
        n_val = meta["tokens"]["val"]
        if n_val < block_size + 1:
            raise DataError(f"{label}: its val split has {n_val} tokens ({meta['docs']['val']} documents), fewer "
                            f"than block_size + 1 = {block_size + 1}; add documents or raise mix.val_fraction")
        val = np.memmap(directory / "val.bin", dtype=meta["dtype"], mode="r", shape=(n_val,))
        if weight == 0 or selection is None:
            return cls(name, weight, None, val, directory)
        files = [_memmap(directory)] + ([_memmap(alt_dir)] if alt_dir is not None else [])
        stream = Stream(files, selection, seed, LANES)
        if stream.epoch_tokens < block_size + 1:
            raise DataError(f"{label}: it trains on {stream.epoch_tokens} tokens "
                            f"({int((selection.times > 0).sum())} pieces), fewer than block_size + 1 = "
                            f"{block_size + 1}; add documents or lower mix.val_fraction")
        return cls(name, weight, stream, val, directory)


def _memmap(directory: Path) -> np.ndarray:
    meta = json.loads((directory / "meta.json").read_text())
    n = meta["tokens"]["train"]
    if n == 0:
        return np.zeros(0, dtype=meta["dtype"])
    return np.memmap(directory / "train.bin", dtype=meta["dtype"], mode="r", shape=(n,))


class MixtureSampler:
    def __init__(self, shards: list[Shards], block_size: int, batch_size: int, seed: int, device=None):
        self.shards = shards
        self.T = block_size
        self.B = batch_size
        self.seed = seed
        self.device = torch.device(device or "cpu")
        weights = np.array([s.weight for s in shards], dtype=np.float64)
        self.p = weights / weights.sum()
        self._before = [np.zeros(len(shards), dtype=np.int64)]  # sequences per source in steps < k
        self._plan: tuple[int, np.ndarray, np.ndarray] | None = None

    def sources(self, step: int) -> np.ndarray:
        """The source index of each of the B sequences of `step` (B,): a pure function of (seed, step)."""
        return np.random.default_rng([self.seed, step]).choice(len(self.shards), size=self.B, p=self.p)

    def before(self, step: int) -> np.ndarray:
        """Sequences each source gave to steps 0 .. step - 1 (S,), so a resumed run starts where it stopped."""
        while len(self._before) <= step:
            k = len(self._before) - 1
            self._before.append(self._before[-1] + np.bincount(self.sources(k), minlength=len(self.shards)))
        return self._before[step]

    def plan(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The global batch of `step`: source index (B,) and number among that source's sequences (B,)."""
        if self._plan is None or self._plan[0] != step:  # batch() and tokens_per_source() ask for the same step
            src = self.sources(step)
            rank = np.zeros(self.B, dtype=np.int64)  # the sequence's place among this step's ones of its source
            for s in np.unique(src):
                mask = src == s
                rank[mask] = np.arange(int(mask.sum()))
            self._plan = step, src, self.before(step)[src] + rank  # the sequence's number among its source's
        return self._plan[1], self._plan[2]

    def batch(self, step: int, rows: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs x (b, T), next-token targets y (b, T) and source index (b,) for `rows` of the global batch, on the
        sampler's device (through pinned memory to a GPU, so the copy does not wait)."""
        src, start = self.plan(step)
        src, start = src[rows], start[rows]
        windows = np.stack([self.shards[s].stream.window(int(k), self.T) for s, k in zip(src, start)])
        w, src_t = torch.from_numpy(windows), torch.from_numpy(src)
        if self.device.type == "cuda":
            w, src_t = w.pin_memory().to(self.device, non_blocking=True), src_t.to(self.device)
        elif self.device.type != "cpu":
            w, src_t = w.to(self.device), src_t.to(self.device)
        return w[:, :-1], w[:, 1:], src_t

    def tokens_per_source(self, step: int) -> np.ndarray:
        """Training tokens each source contributes to the global batch of `step` (S,)."""
        src, _ = self.plan(step)
        return np.bincount(src, minlength=len(self.shards)) * self.T

    def epochs(self, steps: int) -> list[float]:
        """Passes over each source's training stream that `steps` steps make (expected, from the weights)."""
        return [float(steps * self.B * p * self.T / s.train_tokens) if s.train_tokens else 0.0
                for s, p in zip(self.shards, self.p)]

    def val_windows(self, source: int, max_tokens: int) -> np.ndarray:
        """Consecutive, non-overlapping validation windows of T + 1 tokens (n, T + 1): the same every evaluation.
        max_tokens 0 = every held-out token (all whole windows)."""
        val = self.shards[source].val
        whole = (len(val) - 1) // self.T
        n = max(1, min(max_tokens // self.T, whole) if max_tokens else whole)
        return np.stack([val[i * self.T : i * self.T + self.T + 1] for i in range(n)]).astype(np.int64)


def unigram_baseline(shards: Shards, vocab_size: int, block_size: int, max_tokens: int) -> float:
    """Cross-entropy (nats/token) of the validation windows under the run's training-token frequencies (add-one
    smoothed): the loss a model that ignores context would reach. A trained model must beat it."""
    counts = shards.train_counts(vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    whole = (len(shards.val) - 1) // block_size
    n = max(1, min(max_tokens // block_size, whole) if max_tokens else whole)
    targets = shards.val[1 : n * block_size + 1]  # the tokens val_windows predicts
    return float(-logp[targets].mean())


@dataclass
class Prepared:
    """What the training loop needs from the data side: a tokenizer and, per source, its shards and what this run
    reads of them (its Selection, and the shuffled copies' directory of a shuffle_words control)."""

    tokenizer_dir: Path
    vocab_size: int
    names: list[str]
    weights: list[float]
    shard_dirs: list[Path]
    selections: list[Selection | None] = field(default_factory=list)
    alt_dirs: list[Path | None] = field(default_factory=list)
    seed: int = 0

    def open(self, block_size: int) -> list[Shards]:
        n = len(self.names)
        selections = self.selections or [None] * n
        alts = self.alt_dirs or [None] * n
        return [Shards.open(name, w, d, block_size, f"mix.sources[{i}] ({name})", sel, alt, self.seed)
                for i, (name, w, d, sel, alt) in
                enumerate(zip(self.names, self.weights, self.shard_dirs, selections, alts))]


def prepare(config) -> Prepared:
    """Check every source, then train (or reuse) the tokenizer, build (or reuse) the token shards and work out what
    this run reads of each (its Selection). All bad-input errors surface here, before a model is built."""
    from train.data import tokenizer
    from train.data.sources import open_source

    mix = config.mix
    sources = [open_source(s, i, mix) for i, s in enumerate(mix.sources)]
    cache = config.cache_path
    tok_dir = tokenizer.train_or_reuse(sources, mix, config.tokenizer, cache)
    vocab_size = tokenizer.load(tok_dir).vocab_size()
    if config.model.vocab_size and config.model.vocab_size < vocab_size:
        raise DataError(f"model.vocab_size {config.model.vocab_size} is smaller than the tokenizer's {vocab_size}")
    shard_dirs = [tokenizer.build_shards(s, tok_dir, mix.val_fraction, cache) for s in sources]
    selections, alt_dirs = [], []
    for source, shard_dir in zip(sources, shard_dirs):
        cfg = source.config
        alt = (tokenizer.build_shuffled(shard_dir, tok_dir, cfg.shuffle_fraction, cache)
               if cfg.shuffle_fraction and cfg.weight > 0 else None)
        alt_dirs.append(alt)
        selections.append(_selection(source, shard_dir, alt, config.seed) if cfg.weight > 0 else None)
    prepared = Prepared(tok_dir, vocab_size, [s.name for s in mix.sources], mix.weights, shard_dirs, selections,
                        alt_dirs, config.seed)
    prepared.open(config.model.block_size)  # fail now on a split too small for one window
    return prepared


def _selection(source, shard_dir: Path, alt_dir: Path | None, seed: int) -> Selection:
    """What the run reads of one source: its train_where and repeat_by (Source.repeats), then its control."""
    cfg = source.config
    keep_like = source.ids_where(cfg.drop_like) if cfg.drop_like else None
    return select(pq.read_table(shard_dir / "train.idx.parquet"), source.repeats(), seed,
                  alt_index=pq.read_table(alt_dir / "train.idx.parquet") if alt_dir is not None else None,
                  shuffle_fraction=cfg.shuffle_fraction, drop_fraction=cfg.drop_fraction,
                  drop_tokens_unless=keep_like, pool_tokens=cfg.pool_tokens, drop_per_seed=cfg.drop_per_seed)
