"""SentencePiece training and encoding -> token shards + index, both cached by content.

Tokenizer: BPE with byte fallback (no <unk> in practice), trained on a sample drawn from every source in
proportion to its weight. Whitespace is kept as is (identity normalisation, no dummy prefix), so code indentation
survives and the Hugging Face LlamaTokenizer (Metaspace, prepend_scheme "never") reproduces the ids exactly.

Shards, per source: `train.bin` / `val.bin` hold each document as [<s>] + ids, concatenated (uint16 while the
vocabulary fits); `train.idx.parquet` / `val.idx.parquet` map document id -> (offset, length) in tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from train.config import MixtureConfig, TokenizerConfig
from train.data.sources import Source
from train.errors import ConfigError, DataError
from train.files import cores

SHARD_FORMAT = 3  # 2: held-out split before train_where, chunks, repeat_by; 3: every training document once
BOS_ID = 1
RESERVED_IDS = 259  # <unk>, <s>, </s> and the 256 byte-fallback pieces
SPM_OPTIONS = {
    "model_type": "bpe",
    "byte_fallback": True,
    "character_coverage": 0.9995,
    "normalization_rule_name": "identity",  # keep text byte-exact: code, Unicode, whitespace
    "remove_extra_whitespaces": False,
    "add_dummy_prefix": False,  # HF's Metaspace cannot reproduce SentencePiece's dummy prefix before a leading space
    "split_digits": True,
    "allow_whitespace_only_pieces": True,
    "max_sentence_length": 16384,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": -1,
}
INDEX_SCHEMA = pa.schema([("id", pa.string()), ("offset", pa.int64()), ("length", pa.int64())])
LINE_CHARS = 4096  # SentencePiece trains on lines; longer ones are cut (max_sentence_length is in bytes)


def load(tokenizer_dir: str | Path):
    """The SentencePiece processor in `tokenizer_dir/tokenizer.model`."""
    import sentencepiece as spm

    path = Path(tokenizer_dir) / "tokenizer.model"
    if not path.is_file():
        raise ConfigError("tokenizer.dir", f"no tokenizer.model in {tokenizer_dir}")
    return spm.SentencePieceProcessor(model_file=str(path))


def training_lines(sources: list[Source], mix: MixtureConfig, chars: int) -> list[str]:
    """Lines sampled from each source in proportion to its weight (sources of weight 0 contribute nothing)."""
    lines = []
    for source, weight in zip(sources, mix.weights):
        budget = int(chars * weight)
        for text in source.sample_text(budget, mix.val_fraction) if budget else ():
            for line in text.split("\n"):
                lines.extend(line[i : i + LINE_CHARS] for i in range(0, len(line), LINE_CHARS) if line[i:].strip())
    return lines


def train_or_reuse(sources: list[Source], mix: MixtureConfig, config: TokenizerConfig, cache: Path) -> Path:
    """The tokenizer directory for this mix: `config.dir` if set, else trained once per distinct sample."""
    if config.dir:
        load(config.dir)  # fail early on a directory without a model
        return Path(config.dir)
    import sentencepiece as spm

    lines = training_lines(sources, mix, config.sample_chars)
    options = {**SPM_OPTIONS, "vocab_size": config.vocab_size}
    options["character_coverage"] = character_coverage(lines, config.vocab_size, options["character_coverage"])
    h = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    out = cache / "tokenizers" / h.hexdigest()[:24]
    if (out / "tokenizer.model").is_file():
        return out
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, minloglevel=2,
                                       num_threads=cores(), **options)
    except RuntimeError as e:
        limit = re.search(r"value <= (\d+)", str(e))
        if limit:
            raise ConfigError(
                "tokenizer.vocab_size",
                f"{config.vocab_size} is more than the sampled text supports (at most {limit.group(1)}); "
                "lower it or raise tokenizer.sample_chars",
            ) from None
        raise DataError(f"SentencePiece training failed: {str(e).splitlines()[0]}") from None
    meta = {"vocab_size": config.vocab_size, "lines": len(lines), "chars": sum(map(len, lines)), "options": options}
    with _publish(out) as tmp:
        (tmp / "tokenizer.model").write_bytes(model.getvalue())
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    return out


MIN_COVERAGE = 0.98  # the least character_coverage SentencePiece accepts


def character_coverage(lines: list[str], vocab_size: int, wanted: float) -> float:
    """`wanted`, unless the sample's characters at that coverage leave no room in the vocabulary: SentencePiece
    gives each covered character its own piece and fails when they and the 259 reserved ids exceed vocab_size (a
    multilingual web sample needs ~2,000 characters for 99.95%). Then the coverage is lowered so that the commonest
    characters fill half the free vocabulary (but cover at least 98%, SentencePiece's floor; a vocabulary too small
    for that is a one-line error naming tokenizer.vocab_size); rarer ones are spelt with byte-fallback pieces (no
    text is lost)."""
    counts = Counter()
    for line in lines:
        counts.update(line)
    total = sum(counts.values())
    if not total:
        return wanted
    cumulative = np.cumsum(sorted(counts.values(), reverse=True))
    needed = int(np.searchsorted(cumulative, wanted * total)) + 1  # SentencePiece's rule: add chars until covered
    free = vocab_size - RESERVED_IDS
    if needed <= free:
        return wanted
    keep = max(1, free // 2)
    coverage = float(cumulative[keep - 1]) / total
    if coverage < MIN_COVERAGE:  # SentencePiece refuses less; then it needs room for at least that many characters
        at_min = int(np.searchsorted(cumulative, MIN_COVERAGE * total)) + 1
        if at_min > free:
            raise ConfigError("tokenizer.vocab_size", f"{vocab_size:,} is too small for this mix: its commonest "
                              f"characters ({MIN_COVERAGE:.0%} of the sample) alone take {at_min:,} pieces; "
                              f"use at least {at_min + RESERVED_IDS:,}")
        keep, coverage = at_min, MIN_COVERAGE
    print(f"tokenizer: covering {wanted:.2%} of the sample's characters takes {needed:,} pieces, more than "
          f"tokenizer.vocab_size {vocab_size:,} leaves ({free:,}); character_coverage lowered to {coverage:.4%} "
          f"({keep:,} characters), rarer ones become byte pieces. Raise tokenizer.vocab_size to keep them whole.",
          file=sys.stderr, flush=True)
    return coverage


def build_shards(source: Source, tokenizer_dir: Path, val_fraction: float, cache: Path) -> Path:
    """Token shards and index of one source, cached under (tokenizer, Parquet files, where, val_fraction); the files
    are identified by path, size and modification time, or by content with `--verify` (see Source.fingerprint)."""
    model_bytes = (tokenizer_dir / "tokenizer.model").read_bytes()
    key = hashlib.sha256(
        f"{SHARD_FORMAT}|{hashlib.sha256(model_bytes).hexdigest()}|{source.fingerprint()}|{val_fraction}".encode()
    ).hexdigest()[:24]
    out = cache / "shards" / key
    if (out / "meta.json").is_file():
        return out
    sp = load(tokenizer_dir)
    dtype = np.uint16 if sp.vocab_size() <= 2**16 else np.uint32
    splits = ("train", "val")
    with _publish(out) as tmp, contextlib.ExitStack() as stack:
        files = {split: stack.enter_context(open(tmp / f"{split}.bin", "wb")) for split in splits}
        index = {split: {"id": [], "offset": [], "length": []} for split in splits}
        offset = dict.fromkeys(splits, 0)
        for ids, texts in source.iter_docs():
            for doc_id, doc_tokens in zip(ids, sp.encode(texts, num_threads=cores())):
                for split, tokens in source.pieces(doc_id, doc_tokens, val_fraction):  # held-out split, chunks
                    _append(files[split], index[split], doc_id, tokens, dtype, offset[split])
                    offset[split] += len(tokens) + 1
        for split in splits:
            files[split].close()
            pq.write_table(pa.table(index[split], schema=INDEX_SCHEMA), tmp / f"{split}.idx.parquet")
        counts = np.bincount(np.fromfile(tmp / "train.bin", dtype=dtype), minlength=sp.vocab_size())
        np.save(tmp / "train.counts.npy", counts)  # the unigram baseline's counts, so no run recounts the shard
        meta = {"source": source.config.name, "dtype": np.dtype(dtype).name, "vocab_size": sp.vocab_size(),
                "docs": {s: len(index[s]["id"]) for s in splits}, "tokens": offset}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    return out


def _append(file, index: dict, doc_id: str, tokens: list[int], dtype, offset: int) -> None:
    """Write one piece as [<s>] + tokens and index it (id, offset, length)."""
    file.write(np.asarray([BOS_ID, *tokens], dtype=dtype).tobytes())
    for col, value in zip(("id", "offset", "length"), (doc_id, offset, len(tokens) + 1)):
        index[col].append(value)


SHUFFLE_FORMAT = 1


def build_shuffled(shard_dir: Path, tokenizer_dir: Path, fraction: float, cache: Path) -> Path:
    """The shuffle_words control's copies: every training piece of the shard whose document the control replaces
    (stream.shuffled_docs, a hash of the id), decoded, its words put in a pseudo-random order (stream.shuffle_words,
    seeded by the piece) and encoded again -> train.bin + train.idx.parquet, cached under (shard, fraction). A
    piece is shuffled within itself, so a held-out chunk's words never reach training."""
    from train.data.stream import id_keys, piece_keys, shuffle_words, shuffled_docs

    key = hashlib.sha256(f"{SHUFFLE_FORMAT}|{Path(shard_dir).resolve()}|{fraction!r}".encode()).hexdigest()[:24]
    out = cache / "shuffled" / key
    if (out / "meta.json").is_file():
        return out
    meta = json.loads((shard_dir / "meta.json").read_text())
    dtype = np.dtype(meta["dtype"])
    train = np.memmap(shard_dir / "train.bin", dtype=dtype, mode="r", shape=(meta["tokens"]["train"],))
    idx = pq.read_table(shard_dir / "train.idx.parquet")
    ids = idx.column("id").to_pylist()
    chosen = np.flatnonzero(shuffled_docs(id_keys(ids), fraction))
    pkeys = piece_keys(ids)
    sp = load(tokenizer_dir)
    rows = idx.take(chosen).to_pylist()
    texts = [sp.decode(train[r["offset"] + 1 : r["offset"] + r["length"]].tolist()) for r in rows]
    shuffled = [shuffle_words(t, int(pkeys[i])) for t, i in zip(texts, chosen)]
    index, offset = {"id": [], "offset": [], "length": []}, 0
    with _publish(out) as tmp:
        with open(tmp / "train.bin", "wb") as f:
            for r, tokens in zip(rows, sp.encode(shuffled, num_threads=cores())):
                _append(f, index, r["id"], tokens, dtype, offset)
                offset += len(tokens) + 1
        pq.write_table(pa.table(index, schema=INDEX_SCHEMA), tmp / "train.idx.parquet")
        (tmp / "meta.json").write_text(json.dumps({"shard": str(shard_dir), "fraction": fraction,
                                                   "dtype": dtype.name, "docs": len(rows),
                                                   "tokens": {"train": offset}}, indent=2))
    return out


def bytes_per_piece(tokenizer_dir: Path) -> np.ndarray:
    """UTF-8 bytes each token id stands for (vocab,): a byte-fallback piece 1, <s>/</s>/<unk> 0, any other piece its
    text with SentencePiece's U+2581 as the space it replaced. Bits per byte = nats / ln 2 / these bytes summed
    over the scored tokens: comparable across tokenizers."""
    sp = load(tokenizer_dir)
    out = np.zeros(sp.vocab_size(), dtype=np.int64)
    for i in range(sp.vocab_size()):
        if sp.is_byte(i):
            out[i] = 1
        elif not (sp.is_control(i) or sp.is_unknown(i)):
            out[i] = len(sp.id_to_piece(i).replace("\u2581", " ").encode("utf-8"))
    return out


class _publish:
    """Build a directory under a temporary name and rename it into place: nothing half-written is ever visible,
    and two processes racing to build the same cache entry both end up with a complete one."""

    def __init__(self, out: Path):
        self.out = out

    def __enter__(self) -> Path:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                os.rename(self.tmp, self.out)
            except OSError:  # another process published it first
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
