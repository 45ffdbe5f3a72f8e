"""The report's Parquet tables, written atomically: a reader never sees half a file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from train.files import atomic_path


def write_parquet(path: Path, rows: list[dict], schema: pa.Schema | None = None) -> None:
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
