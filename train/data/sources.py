"""Curated run directories as DuckDB views. The Parquet schema is the only contract with curate:
`docs/*.parquet` with at least `id` and `text` (plus `source`, `url`, `lang`, `lang_score` and signal columns,
which a mix's `where` and `train_where` may use). Every check here runs before any training work.

The held-out split is decided before any training filter: a document (or, in a run of few documents, each chunk of
`val_chunk_tokens` tokens) is validation when the hash of its id (and chunk index) says so, among the documents the
source's `where` selects; `train_where` (an arm's filter), `repeat_by` and the controls act on the rest only, when
a run starts (train/data/stream.py). So every arm of a sweep is judged on the same validation tokens.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from train.config import SourceConfig
from train.errors import DataError

REQUIRED_COLUMNS = ("id", "text")


def is_val(doc_id: str, fraction: float) -> bool:
    """Held-out split by document id: the first 32 bits of md5(id) as a fraction. Stable across runs and machines,
    independent of file order, so a document never moves between train and validation when the mix changes."""
    return int(hashlib.md5(doc_id.encode()).hexdigest()[:8], 16) < fraction * 2**32


def val_sql(fraction: float, column: str = "id") -> str:
    """is_val as a DuckDB expression over `column`."""
    return f"(('0x' || left(md5({column}), 8))::UBIGINT < {math.ceil(fraction * 2**32)})"  # x < f <=> x < ceil(f)


def chunk_key(doc_id: str, k: int) -> str:
    """The string whose hash decides whether chunk k of a document is held out."""
    return f"{doc_id}#{k}"


@dataclass
class Source:
    """One source of the mix, opened and checked: `n_docs` documents pass its `where`; `run_docs` documents with
    text are in its run directory (before any `where`); `chunked`: held out by chunks, not whole documents."""

    config: SourceConfig
    index: int
    files: list[Path]
    n_docs: int
    run_docs: int = 0
    chunked: bool = False
    chunk_tokens: int = 2048
    _repeats: dict | None = None

    @property
    def label(self) -> str:
        return f"mix.sources[{self.index}] ({self.config.name})"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB view `docs` over the run's shards, for the config's SQL (`where`, `train_where`, arms). Offline:
        no extension is installed or loaded for a query that names an https:// or s3:// path, and the setting is
        locked so the SQL cannot turn it back on."""
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.files)
        con.execute(f"CREATE VIEW docs AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
        con.execute("SET lock_configuration = true")
        return con

    @property
    def condition(self) -> str:
        where = f"({self.config.where})" if self.config.where else "TRUE"
        return f"{where} AND id IS NOT NULL AND text IS NOT NULL AND length(text) > 0"

    @property
    def train_condition(self) -> str:
        """The documents this source may train on (before the held-out split removes some of them)."""
        if self.config.eval_all:
            return "FALSE"
        return f"{self.condition} AND ({self.config.train_where})" if self.config.train_where else self.condition

    def iter_docs(self, batch_rows: int = 2048, order: str = "id") -> Iterator[tuple[list[str], list[str]]]:
        """Yield (ids, texts) batches of the selected documents in a fixed order (by id: file order is not). The
        shard holds every one of them: an arm's train_where, repeat_by and controls choose among its training
        documents when a run starts (train/data/stream.py), so every arm of a sweep shares one shard per source."""
        con = self.connect()
        where = self.condition
        # DuckDB 2: stream with a relation's Arrow reader (an executed cursor would copy every row first)
        for batch in con.sql(f"SELECT id, text FROM docs WHERE {where} ORDER BY {order}").to_arrow_reader(batch_rows):
            yield batch.column(0).to_pylist(), batch.column(1).to_pylist()

    def repeats(self) -> dict[str, int]:
        """{id: times} of the training documents: 1 each, or repeat_by's value rounded and capped. Missing ids are
        not trained on (train_where removes them)."""
        if self._repeats is None:
            cfg = self.config
            times = (f"least({cfg.repeat_max}, greatest(1, coalesce(round({cfg.repeat_by}), 1)))::BIGINT"
                     if cfg.repeat_by else "1")
            rows = self.connect().execute(f"SELECT id, {times} FROM docs WHERE {self.train_condition}").fetchall()
            self._repeats = dict(rows)
        return self._repeats

    def pieces(self, doc_id: str, tokens: list[int], val_fraction: float) -> Iterator[tuple[str, list[int]]]:
        """(split, tokens) of one document: whole, or chunk by chunk when the source is held out by chunks. Every
        training piece is in the shard once; which ones a run reads, and how often, is the run's Selection."""
        if self.config.eval_all:
            yield "val", tokens
            return
        if not self.chunked:
            yield ("val" if is_val(doc_id, val_fraction) else "train"), tokens
            return
        size = self.chunk_tokens
        for k in range(max(1, -(-len(tokens) // size))):
            piece = tokens[k * size : (k + 1) * size]
            yield ("val" if is_val(chunk_key(doc_id, k), val_fraction) else "train"), piece

    def ids_where(self, condition: str) -> set[str]:
        """Ids of the documents that meet the source's own condition and `condition` (a random_drop control's
        `like` arm: the documents that arm keeps)."""
        sql = f"SELECT id FROM docs WHERE {self.condition} AND ({condition})"
        return {row[0] for row in self.connect().execute(sql).fetchall()}

    def sample_text(self, chars: int, val_fraction: float) -> Iterator[str]:
        """About `chars` characters of training documents (never held-out ones), in a fixed pseudo-random order."""
        con = self.connect()
        rows = con.execute(f"SELECT id, length(text) FROM docs WHERE {self.condition} ORDER BY md5(id)").fetchall()
        chosen, total = [], 0
        for doc_id, n in rows:
            if total >= chars:
                break
            if self.chunked or not is_val(doc_id, val_fraction):  # chunked: the tokenizer may read held-out
                chosen.append(doc_id)  # chunks' text (the model never trains on them)
                total += n
        con.register("chosen", pa.table({"id": pa.array(chosen, pa.string())}))
        sql = f"SELECT text FROM docs WHERE {self.condition} AND id IN (SELECT id FROM chosen) ORDER BY md5(id)"
        left = chars
        for batch in con.sql(sql).to_arrow_reader(1024):
            for text in batch.column(0).to_pylist():
                if left <= 0:
                    return
                yield text[:left]
                left -= len(text)

    def fingerprint(self) -> str:
        """Identity of the run's Parquet files and of what selects the shard's documents (`where`, held-out
        chunks, eval_all; not an arm's train_where or repeat_by, which choose within the shard): token shards are
        cached under it. Files by path, size and modification time
        (instant on any corpus); with TRAIN_VERIFY=1 (`--verify`) by every byte instead."""
        import os

        c = self.config
        spec = [c.where, c.eval_all, self.chunked, self.chunk_tokens]
        h = hashlib.sha256(repr(spec).encode())
        verify = os.environ.get("TRAIN_VERIFY") == "1"
        for path in self.files:
            h.update(path.name.encode())
            if not verify:
                stat = path.stat()
                h.update(f"|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
                continue
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        return h.hexdigest()


def open_source(config: SourceConfig, index: int, mix=None) -> Source:
    """Open and check one source: the run directory exists, holds documents, and its `where` selects some; with
    the mix config, also its held-out chunking, train_where and repeat_by."""
    label = f"mix.sources[{index}] ({config.name})"
    run = Path(config.run)
    if not run.is_dir():
        raise DataError(f"{label}: run directory not found: {run}")
    files = sorted((run / "docs").glob("*.parquet"))
    if not files:
        raise DataError(f"{label}: empty source, no docs/*.parquet in {run}")
    source = Source(config, index, files, 0)
    con = source.connect()
    try:
        columns = {row[0] for row in con.execute("DESCRIBE docs").fetchall()}
    except duckdb.Error as e:
        raise DataError(f"{label}: cannot read {run}/docs/*.parquet: {_first_line(e)}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"{label}: docs/*.parquet in {run} lack column(s) {', '.join(missing)}")
    (total,) = con.execute("SELECT count(*) FROM docs WHERE text IS NOT NULL AND length(text) > 0").fetchone()
    if total == 0:
        raise DataError(f"{label}: empty source, {run} has no documents with text")
    try:
        (selected,) = con.execute(f"SELECT count(*) FROM docs WHERE {source.condition}").fetchone()
    except duckdb.Error as e:
        raise DataError(f"{label}: where {config.where!r} is not valid SQL over docs: {_first_line(e)}") from None
    if selected == 0:
        raise DataError(f"{label}: where {config.where!r} selects none of the {total} documents in {run}")
    source.n_docs, source.run_docs = selected, total
    if mix is not None:
        source.chunk_tokens = mix.val_chunk_tokens
        source.chunked = 0 < total < mix.val_chunk_below_docs
        _check_training(source, con, columns, label)
    return source


def _check_training(source: Source, con, columns: set[str], label: str) -> None:
    cfg = source.config
    if cfg.repeat_by and cfg.repeat_by not in columns:
        raise DataError(f"{label}: repeat_by {cfg.repeat_by!r} is not a column of {cfg.run}/docs")
    try:
        (n,) = con.execute(f"SELECT count(*) FROM docs WHERE {source.train_condition}").fetchone()
    except duckdb.Error as e:
        raise DataError(f"{label}: train_where {cfg.train_where!r} is not valid SQL over docs: "
                        f"{_first_line(e)}") from None
    if n == 0 and cfg.weight > 0:
        raise DataError(f"{label}: train_where {cfg.train_where!r} selects none of its {source.n_docs} documents")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
