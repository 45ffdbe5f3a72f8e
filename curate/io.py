"""Run-directory layout and the atomic Parquet writer.

Nothing half-written is ever visible: a file is written to a temporary name of its own in its final folder
(``<name>.<host>.<pid>-<random>.tmp``) and renamed into place only when complete (``os.replace`` is atomic on POSIX within
one file system). Readers and DuckDB views glob ``*.parquet`` and so never see a partial file. Two writers of the
same path (two attempts of one task, two commands writing one report) never share a temporary file: the last rename
wins, whole. A killed writer leaves only its ``.tmp``, which no reader globs and the next writer of that path
removes.
"""

from __future__ import annotations

import glob
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


class ParquetShardWriter:
    """Buffers rows and writes a row group every ``rows_per_group`` rows or ``bytes_per_group`` bytes of text
    (whichever comes first, so 2,000 whole books never sit in memory) into ``path`` with a declared ``schema``."""

    def __init__(
        self,
        path: Path | str,
        schema: pa.Schema,
        rows_per_group: int = 2000,
        compression: str = "zstd",
        bytes_per_group: int = 64 << 20,
    ):
        self.path = Path(path)
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.bytes_per_group = bytes_per_group
        self.compression = compression
        self.rows = 0
        self._buf: list[dict] = []
        self._buf_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._tmp = partial(self.path)

    def write(self, row: dict) -> None:
        self._buf.append(row)
        text = row.get("text")
        self._buf_bytes += len(text) if isinstance(text, str) else 0  # characters: a cheap bound on the bytes held
        if len(self._buf) >= self.rows_per_group or self._buf_bytes >= self.bytes_per_group:
            self._flush()

    def _flush(self) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=self.compression)
        if self._buf:
            self._writer.write_table(rows_table(self._buf, self.schema))
            self.rows += len(self._buf)
            self._buf = []
            self._buf_bytes = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
        replace(self._tmp, self.path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()
            self._tmp.unlink(missing_ok=True)


def rows_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema=schema)`` (a missing key is a null), built column by column without
    ``pa.array`` on Python lists where the column allows: pyarrow imports pandas (about 0.4 CPU seconds) the first
    time ``pa.array`` is given anything but an Arrow object, to ask whether it is a pandas one."""
    return pa.Table.from_arrays([column([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema)


_NUMERIC = {
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
    pa.bool_(): np.bool_,
}
_SECONDS_UTC = pa.timestamp("s", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT_LIMIT = {np.int32: 1 << 31, np.int64: 1 << 63}
_EXACT_INT = {np.float32: 1 << 24, np.float64: 1 << 53}  # past these pa.array refuses an int for a float column


def column(values: list, typ: pa.DataType) -> pa.Array:
    """``pa.array(values, typ)``: strings through Arrow's StringBuilder, 32/64-bit numbers through numpy; a value
    these might not convert exactly as ``pa.array`` does (another Python type, out of range, unencodable) sends the
    column to ``pa.array`` itself, which converts or raises as it always did."""
    if typ == pa.string() and all(type(v) is str or v is None for v in values):
        builder = pa.lib.StringBuilder()
        try:
            builder.append_values(values)
        except UnicodeEncodeError:  # a lone surrogate: pa.array raises its own error
            return pa.array(values, typ)
        return builder.finish()
    if pa.types.is_list(typ) and typ.value_type == pa.string() and all(type(v) is list or v is None for v in values):
        return _string_lists(values, typ)
    if typ == _SECONDS_UTC and all(type(v) is datetime and v.tzinfo is not None and not v.microsecond for v in values):
        return _seconds(values, typ)
    dtype = _NUMERIC.get(typ)
    if dtype is None or not _plain(values, dtype):
        return pa.array(values, typ)
    nulls = [v is None for v in values]
    has_nulls = any(nulls)
    with np.errstate(over="ignore"):  # a float past float32's range is inf, as pa.array makes it
        data = np.array([0 if v is None else v for v in values] if has_nulls else values, dtype)
    return numpy_array(data, typ, np.array(nulls) if has_nulls else None)


def _string_lists(values: list, typ: pa.DataType) -> pa.Array:
    """From buffers: ``pa.ListArray.from_arrays`` imports pyarrow.compute (0.09 s a process)."""
    nulls = np.array([v is None for v in values], bool)
    offsets = np.zeros(len(values) + 1, np.int32)
    np.cumsum([len(v) if v else 0 for v in values], out=offsets[1:])
    inner = column([x for v in values if v for x in v], typ.value_type)
    valid = pa.py_buffer(np.packbits(~nulls, bitorder="little")) if nulls.any() else None
    return pa.Array.from_buffers(typ, len(values), [valid, pa.py_buffer(offsets)], null_count=int(nulls.sum()),
                                 children=[inner])


def _seconds(values: list, typ: pa.DataType) -> pa.Array:
    nulls = np.array([v is None for v in values], bool)
    second = timedelta(seconds=1)
    data = np.array([0 if v is None else (v - _EPOCH) // second for v in values], np.int64)
    return numpy_array(data, typ, nulls if nulls.any() else None)


def _plain(values: list, dtype) -> bool:
    """Every value converts to ``dtype`` in numpy exactly as pa.array converts it (None aside)."""
    if dtype is np.bool_:
        return all(v is None or type(v) is bool for v in values)
    if dtype in _INT_LIMIT:
        lim = _INT_LIMIT[dtype]
        return all(v is None or (type(v) is int and -lim <= v < lim) for v in values)
    lim = _EXACT_INT[dtype]
    return all(v is None or type(v) is float or (type(v) is int and -lim <= v <= lim) for v in values)


def numpy_array(data: np.ndarray, typ: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """A 1-d numpy array of ``typ``'s own dtype as an Arrow array, nulls where ``mask`` is True, from its buffers:
    ``pa.array(data, typ, mask=mask)`` without pyarrow's pandas import."""
    data = np.ascontiguousarray(data)
    if typ == pa.bool_():
        values = pa.py_buffer(np.packbits(data.astype(bool, copy=False), bitorder="little"))
    else:
        values = pa.py_buffer(data)
    if mask is None or not mask.any():
        return pa.Array.from_buffers(typ, len(data), [None, values], null_count=0)
    valid = pa.py_buffer(np.packbits(~mask.astype(bool, copy=False), bitorder="little"))
    return pa.Array.from_buffers(typ, len(data), [valid, values], null_count=int(mask.sum()))


_HOST = socket.gethostname().replace(".", "_")


def read_parquet(path: Path | str, columns: list[str] | None = None, *, schema: pa.Schema | None = None,
                 read_dictionary: list[str] | None = None, equal: tuple[str, object] | None = None) -> pa.Table:
    """One Parquet file as a table, through ``pq.ParquetFile``: ``pq.read_table`` goes through pyarrow.dataset, whose
    import pulls in pandas and Acero (0.3 s, 4% of a 1,000-page web.yaml run on one core). ``schema``: the columns
    in its order and types; ``equal=(column, value)``: only the rows whose column equals value."""
    table = pq.ParquetFile(path, read_dictionary=read_dictionary).read(columns=columns)
    if schema is not None:
        table = table.select(schema.names)
        if not table.schema.equals(schema):  # a cast imports pyarrow.compute: only when a type differs
            table = table.cast(schema)
    if equal is not None:  # an integer column (shard, rank), compared in numpy: pa.scalar would import pandas
        keep = (filled_ints(table[equal[0]]) == equal[1]) & valid_mask(table[equal[0]])
        at = np.flatnonzero(keep)
        if not len(at) or at[-1] - at[0] + 1 == len(at):  # none, or one run (a file sorted by that column): a
            return table.slice(int(at[0]) if len(at) else 0, len(at))  # slice (filter imports pyarrow.compute)
        table = table.filter(numpy_array(keep, pa.bool_()))
    return table


def filled_ints(array: pa.Array | pa.ChunkedArray, fill: int = 0) -> np.ndarray:
    """An integer Arrow array's values as int64, nulls replaced by ``fill``, read straight from its buffers:
    ``fill_null`` with a Python int and ``to_numpy`` of a chunked array or one with nulls import pandas (0.24 s of a
    web.yaml run that otherwise never needs it)."""
    if isinstance(array, pa.ChunkedArray):
        parts = [filled_ints(c, fill) for c in array.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)
    n, off = len(array), array.offset
    data = array.buffers()[1]
    values = np.frombuffer(data, dtype=np.dtype(f"int{array.type.bit_width}"), count=off + n)[off:].astype(np.int64)
    if array.null_count:
        values[~valid_mask(array)] = fill
    return values


def valid_mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which entries are not null, as a numpy bool array (from the validity bitmap: no pandas)."""
    if isinstance(array, pa.ChunkedArray):
        parts = [valid_mask(c) for c in array.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, bool)
    n, off = len(array), array.offset
    if not array.null_count:
        return np.ones(n, bool)
    validity = array.buffers()[0]
    if validity is None:  # the null type: no bitmap, every entry null
        return np.zeros(n, bool)
    return np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little", count=off + n)[off:].astype(bool)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}


def table_rows(table: pa.Table) -> list[dict]:
    """``table.to_pylist()``, except that UTC timestamp columns (warc_date) become ``datetime`` objects here, from
    their integers: pyarrow converts a zoned timestamp through pandas. The same instants, in ``datetime.UTC``."""
    zoned = {f.name: _UNITS[f.type.unit] for f in table.schema
             if pa.types.is_timestamp(f.type) and f.type.tz in ("UTC", "+00:00") and f.type.unit in _UNITS}
    for name in zoned:  # replaced in place, so every row keeps the file's column order
        i = table.schema.get_field_index(name)
        # view, not cast: the same buffers read as int64 (a cast imports pyarrow.compute, 0.09 s a process)
        ints = pa.chunked_array([c.view(pa.int64()) for c in table.column(i).chunks], pa.int64())
        table = table.set_column(i, name, ints)
    rows = table.to_pylist()
    for name, unit in zoned.items():
        for rec in rows:
            if rec[name] is not None:
                rec[name] = _EPOCH + timedelta(**{unit: rec[name]})
    return rows


def partial(path: Path) -> Path:
    """Where ``path`` is written until complete: a name unique to this writer (host, process id and a random part)
    in the same folder, so the rename is atomic and concurrent writers of one path never write into each other's
    file."""
    return path.with_name(f"{path.name}.{_HOST}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def replace(tmp: Path, path: Path) -> None:
    """Rename a finished ``tmp`` into place, then remove what killed writers of ``path`` left: temporaries of this
    host whose process is gone, and the ``<name>.tmp`` of older versions. A live writer's file is never touched."""
    os.replace(tmp, path)
    for left in path.parent.glob(f"{glob.escape(path.name)}.*tmp"):
        rest = left.name[len(path.name) + 1 : -len(".tmp")]
        host, _, pid = rest.rpartition(".")
        pid = pid.split("-")[0]
        if left.name == f"{path.name}.tmp" or (host == _HOST and pid.isdigit() and not _alive(int(pid))):
            left.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """The one way curate writes a file: yield a temporary path beside ``path``, unique to this writer; on success
    rename it into place, on an exception remove it. Readers never see a partial file; of concurrent writers the last
    to finish wins, whole; a killed writer leaves only a ``.tmp``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    replace(tmp, path)


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@dataclass
class RunLayout:
    """Where everything of one run lives, and the schemas of its shards. Picklable: travels to workers."""

    root: Path
    docs_schema: pa.Schema = field(default_factory=lambda: pa.schema([]))
    carried_columns: tuple[str, ...] = ()  # input columns the reader copies through (see Reader.input_columns)
    redactors: tuple[tuple[str, str], ...] = ()  # (step name, params JSON) of the pipeline's redaction steps

    def __post_init__(self):
        self.root = Path(self.root).absolute()

    @property
    def rejects_schema(self) -> pa.Schema:
        from curate.schema import rejects_schema

        return rejects_schema(self.docs_schema)

    @property
    def docs_dir(self) -> Path:
        return self.root / "docs"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    @property
    def work(self) -> Path:
        """Intermediate shards, per-task counters and datatrove's completion markers (what makes resume work)."""
        return self.root / "_work"

    @property
    def stats_path(self) -> Path:
        return self.root / "stats.parquet"

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    def segment_dir(self, segment: int) -> Path:
        return self.work / f"segment{segment}"

    def logs(self, stage: str) -> Path:
        return self.work / "logs" / stage
