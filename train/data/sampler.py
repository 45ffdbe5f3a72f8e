"""Mixture sampler over token shards: source ~ weights, window ~ uniform over that source's training shard.

The global batch of a step is a pure function of (seed, step): rank r of W processes takes rows
[r * B / W, (r + 1) * B / W) of it, and gradient accumulation splits those further. So a resumed run sees exactly
the batches it would have seen, and 1 or 2 processes see the same global batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from train.errors import DataError
from train.files import atomic_path


@dataclass
class Shards:
    """One source's token streams (memory-mapped) and its weight in the mix."""

    name: str
    weight: float
    train: np.ndarray
    val: np.ndarray
    directory: Path | None = None

    def train_counts(self, vocab_size: int) -> np.ndarray:
        """How often each token id occurs in the training split (vocab_size,)."""
        path = self.directory / "train.counts.npy" if self.directory else None
        if path is not None and path.is_file():
            counts = np.load(path)
            return np.pad(counts, (0, max(0, vocab_size - len(counts))))
        counts = np.bincount(self.train, minlength=vocab_size)
        if path is not None:  # a shard from before counts were stored: keep them for the next run
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.save(f, counts)
        return counts

    @classmethod
    def open(cls, name: str, weight: float, directory: Path, block_size: int, label: str = "") -> Shards:
        meta = json.loads((directory / "meta.json").read_text())
        splits = {}
        for split in ("train", "val"):
            n = meta["tokens"][split]
            if split == "train" and n == 0 and weight == 0:  # an evaluation-only source (eval_all)
                splits[split] = np.zeros(0, dtype=meta["dtype"])
                continue
            if n < block_size + 1:
                hint = "raise mix.val_fraction" if split == "val" else "lower mix.val_fraction"
                raise DataError(
                    f"{label or name}: its {split} split has {n} tokens ({meta['docs'][split]} documents), "
                    f"fewer than block_size + 1 = {block_size + 1}; add documents or {hint}"
                )
            splits[split] = np.memmap(directory / f"{split}.bin", dtype=meta["dtype"], mode="r", shape=(n,))
        return cls(name, weight, splits["train"], splits["val"], directory)


class MixtureSampler:
    def __init__(self, shards: list[Shards], block_size: int, batch_size: int, seed: int, device=None):
        self.shards = shards
        self.T = block_size
        self.B = batch_size
        self.seed = seed
        self.device = torch.device(device or "cpu")
        weights = np.array([s.weight for s in shards], dtype=np.float64)
        self.p = weights / weights.sum()
        self.n_windows = np.array([len(s.train) - self.T for s in shards])  # starts 0 .. len - T - 1
        self.offsets = np.arange(self.T + 1)
        self._plan: tuple[int, np.ndarray, np.ndarray] | None = None

    def plan(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The global batch of `step`: source index (B,) and window start (B,) of each sequence."""
        if self._plan is None or self._plan[0] != step:  # batch() and tokens_per_source() ask for the same step
            rng = np.random.default_rng([self.seed, step])
            src = rng.choice(len(self.shards), size=self.B, p=self.p)
            u = rng.random(self.B)
            n_windows = self.n_windows[src]
            self._plan = step, src, np.minimum((u * n_windows).astype(np.int64), n_windows - 1)
        return self._plan[1], self._plan[2]

    def batch(self, step: int, rows: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs x (b, T), next-token targets y (b, T) and source index (b,) for `rows` of the global batch, on the
        sampler's device (through pinned memory to a GPU, so the copy does not wait)."""
        src, start = self.plan(step)
        src, start = src[rows], start[rows]
        windows = np.empty((len(src), self.T + 1), dtype=np.int64)
        for s in np.unique(src):  # one fancy-indexed read per source
            mask = src == s
            windows[mask] = self.shards[s].train[start[mask, None] + self.offsets]
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

    def val_windows(self, source: int, max_tokens: int) -> np.ndarray:
        """Consecutive, non-overlapping validation windows of T + 1 tokens (n, T + 1): the same every evaluation."""
        val = self.shards[source].val
        n = max(1, min(max_tokens // self.T, (len(val) - 1) // self.T))
        return np.stack([val[i * self.T : i * self.T + self.T + 1] for i in range(n)]).astype(np.int64)


def unigram_baseline(shards: Shards, vocab_size: int, block_size: int, max_tokens: int) -> float:
    """Cross-entropy (nats/token) of the validation windows under the source's training-token frequencies
    (add-one smoothed): the loss a model that ignores context would reach. A trained model must beat it.
    The counts are the shard's `train.counts.npy` (written with the shard), counted once for older shards."""
    counts = shards.train_counts(vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    n = max(1, min(max_tokens // block_size, (len(shards.val) - 1) // block_size))
    targets = shards.val[1 : n * block_size + 1]  # the tokens val_windows predicts
    return float(-logp[targets].mean())


@dataclass
class Prepared:
    """What the training loop needs from the data side: a tokenizer and, per source, its shards."""

    tokenizer_dir: Path
    vocab_size: int
    names: list[str]
    weights: list[float]
    shard_dirs: list[Path]

    def open(self, block_size: int) -> list[Shards]:
        return [Shards.open(n, w, d, block_size, f"mix.sources[{i}] ({n})")
                for i, (n, w, d) in enumerate(zip(self.names, self.weights, self.shard_dirs))]


def prepare(config) -> Prepared:
    """Check every source, then train (or reuse) the tokenizer and build (or reuse) the token shards.
    All bad-input errors surface here, before a model is built."""
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
    prepared = Prepared(tok_dir, vocab_size, [s.name for s in mix.sources], mix.weights, shard_dirs)
    prepared.open(config.model.block_size)  # fail now on a split too small for one window
    return prepared
