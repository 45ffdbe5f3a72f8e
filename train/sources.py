"""Curated run directories as DuckDB views. The Parquet schema is the only contract with curate:
`docs/*.parquet` with at least `id` and `text` (plus `source`, `url`, `lang`, `lang_score` and signal columns,
which a mix's `where` may use). Every check here runs before any training work.
"""

from __future__ import annotations

import hashlib
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


@dataclass
class Source:
    """One source of the mix, opened and checked: `n_docs` documents pass its `where`."""

    config: SourceConfig
    index: int
    files: list[Path]
    n_docs: int

    @property
    def label(self) -> str:
        return f"mix.sources[{self.index}] ({self.config.name})"

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.files)
        con.execute(f"CREATE VIEW docs AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
        return con

    @property
    def condition(self) -> str:
        where = f"({self.config.where})" if self.config.where else "TRUE"
        return f"{where} AND id IS NOT NULL AND text IS NOT NULL AND length(text) > 0"

    def iter_docs(self, batch_rows: int = 2048, order: str = "id") -> Iterator[tuple[list[str], list[str]]]:
        """Yield (ids, texts) batches of the selected documents in a fixed order (by id: file order is not)."""
        con = self.connect()
        # DuckDB 2: stream with a relation's Arrow reader (an executed cursor would copy every row first)
        for batch in con.sql(f"SELECT id, text FROM docs WHERE {self.condition} ORDER BY {order}").to_arrow_reader(
            batch_rows
        ):
            yield batch.column(0).to_pylist(), batch.column(1).to_pylist()

    def sample_text(self, chars: int, val_fraction: float) -> Iterator[str]:
        """About `chars` characters of training documents (never held-out ones), in a fixed pseudo-random order."""
        con = self.connect()
        rows = con.execute(f"SELECT id, length(text) FROM docs WHERE {self.condition} ORDER BY md5(id)").fetchall()
        chosen, total = [], 0
        for doc_id, n in rows:
            if total >= chars:
                break
            if not is_val(doc_id, val_fraction):
                chosen.append(doc_id)
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
        """Identity of the run's Parquet files and of the `where`: token shards are cached under it. By path, size
        and modification time (instant on any corpus); with TRAIN_VERIFY=1 (`--verify`) by every byte instead."""
        import os

        h = hashlib.sha256((self.config.where or "").encode())
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


def open_source(config: SourceConfig, index: int) -> Source:
    """Open and check one source: the run directory exists, holds documents, and its `where` selects some."""
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
    source.n_docs = selected
    return source


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
