"""The atomic write of curate/io.py: whole files or nothing, also with two writers of one path at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.io import ParquetShardWriter, atomic_path, atomic_write_text, partial


def test_two_writers_of_one_path_never_share_a_temporary_file(tmp_path):
    """Interleaved as two processes can interleave them: both writes complete, the last rename wins whole."""
    path = tmp_path / "report.md"
    with atomic_path(path) as a, atomic_path(path) as b:
        assert a != b and a.parent == b.parent == tmp_path
        a.write_text("first writer\n" * 1000)
        b.write_text("second\n")
    assert path.read_text() == "first writer\n" * 1000  # `a` was renamed last (the outer context exits last)
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "run.json"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def _write_shard(args):
    path, value = args
    schema = pa.schema([("id", pa.string())])
    for _ in range(20):
        with ParquetShardWriter(path, schema, rows_per_group=100) as w:
            for i in range(2000):
                w.write({"id": f"{value}-{i}"})
    return value


def test_concurrent_shard_writers_leave_one_whole_shard(tmp_path):
    """Two processes rewriting one shard 20 times each: the shard is always one writer's 2,000 rows, never a mix."""
    path = tmp_path / "00000.parquet"
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert sorted(pool.map(_write_shard, [(path, "a"), (path, "b")])) == ["a", "b"]
    ids = pq.read_table(path).column("id").to_pylist()
    assert len(ids) == 2000 and len({i.split("-")[0] for i in ids}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["00000.parquet"]


def test_the_next_writer_removes_what_a_killed_writer_left(tmp_path):
    """A killed writer's temporary (its process gone) is removed by the next write of that path; a live writer's
    temporary (this process's) is left alone."""
    import subprocess
    import sys

    path = tmp_path / "00000.parquet"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    left = partial(path).name.split(".")
    left[-2] = f"{dead.stdout.strip()}-0000"  # <name>.<host>.<pid of a finished process>-<random>.tmp
    (tmp_path / ".".join(left)).write_bytes(b"PAR1 half written")
    live = partial(path)
    live.write_bytes(b"PAR1 being written")
    atomic_write_text(path, "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, live.name])


def test_shard_rows_convert_as_pyarrow_converts_them(tmp_path):
    """The writer builds its columns without pa.array where it can; the file must equal pyarrow's from_pylist."""
    from datetime import UTC, datetime, timedelta, timezone

    schema = pa.schema(
        [("id", pa.string()), ("f32", pa.float32()), ("i32", pa.int32()), ("i64", pa.int64()),
         ("f64", pa.float64()), ("flag", pa.bool_()), ("terms", pa.list_(pa.string())),
         ("when", pa.timestamp("s", tz="UTC"))]
    )  # fmt: skip
    values = {
        "id": ["a", "é中", "", None],
        "f32": [0.1, 3, 1e40, None],  # an int, a float past float32's range (inf), a null
        "i32": [2**31 - 1, -(2**31), 0, None],
        "i64": [2**62, -1, 0, None],
        "f64": [0.3, 2**53, float("inf"), None],
        "flag": [True, False, None, True],
        "terms": [["x", "y"], [], None, ["z"]],
        "when": [datetime(2024, 5, 6, 7, 8, 12, tzinfo=UTC), None,
                 datetime(1960, 1, 1, tzinfo=timezone(timedelta(hours=3))), datetime(2000, 1, 1, tzinfo=UTC)],
    }  # fmt: skip
    rows = [{k: v[i] for k, v in values.items() if not (k == "f64" and i == 2)} for i in range(4)]  # one key absent
    with ParquetShardWriter(tmp_path / "ours.parquet", schema) as w:
        for row in rows:
            w.write(row)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "pyarrow.parquet", compression="zstd")
    ours, theirs = pq.read_table(tmp_path / "ours.parquet"), pq.read_table(tmp_path / "pyarrow.parquet")
    assert ours.equals(theirs) and ours.num_rows == 4


@pytest.mark.parametrize(
    "column, value",
    [(pa.int32(), 2**31), (pa.float32(), 2**24 + 1), (pa.int32(), True), (pa.string(), 3)],
)
def test_a_value_pyarrow_refuses_is_refused_by_the_writer_too(tmp_path, column, value):
    schema = pa.schema([("v", column)])
    with pytest.raises(pa.ArrowException):
        pa.Table.from_pylist([{"v": value}], schema=schema)
    with pytest.raises(pa.ArrowException), ParquetShardWriter(tmp_path / "x.parquet", schema) as w:
        w.write({"v": value})


def segment_rows() -> list[dict]:
    """Rows as a segment shard of a real run holds them: a zoned timestamp, an integer and a string with nulls."""
    import datetime as dt

    when = [dt.datetime(2024, 5, 1, 12, 30, 5, 123000, tzinfo=dt.UTC), None, dt.datetime(1969, 12, 31, tzinfo=dt.UTC)]
    return [{"id": "abc"[i % 3], "shard": [0, 1, None][i % 3], "warc_date": when[i % 3],
             "source": ["web", None, "code"][i % 3]} for i in range(9)]


def test_arrow_helpers_read_what_pyarrow_reads_without_importing_pandas(tmp_path):
    """read_parquet, filled_ints, valid_mask, numpy_array and the segment reader's table_rows give what
    pq.read_table, fill_null, is_valid, pa.array and to_pylist give, in a process where pandas never loads."""
    import subprocess
    import sys
    import textwrap

    from curate.io import read_parquet

    rows = segment_rows()
    types = {"shard": pa.int32(), "warc_date": pa.timestamp("ms", tz="UTC")}
    table = pa.Table.from_pylist(rows, schema=pa.schema([(k, types.get(k, pa.string())) for k in rows[0]]))
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=4)  # three row groups
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        from curate.io import filled_ints, numpy_array, read_parquet, table_rows, valid_mask
        from test_io import segment_rows
        rows, path = segment_rows(), {str(path)!r}
        got = read_parquet(path)
        assert got.column("id").to_pylist() == [r["id"] for r in rows] and got.column("shard").null_count == 3
        assert read_parquet(path, equal=("shard", 1)).column("id").to_pylist() == ["b"] * 3
        pf = pq.ParquetFile(path)
        got_rows = [r for g in range(pf.num_row_groups) for r in table_rows(pf.read_row_group(g))]
        assert got_rows == rows and [list(r) for r in got_rows] == [list(r) for r in rows]
        shard = got.column("shard")
        assert filled_ints(shard, -1).tolist() == [0, 1, -1] * 3
        assert filled_ints(shard.chunk(0).slice(2), 7).tolist() == [7, 0, 1, 7, 0, 1, 7]
        assert valid_mask(got.column("source")).tolist() == [True, False, True] * 3
        assert numpy_array(np.array([True, False, True]), pa.bool_()).to_pylist() == [True, False, True]
        print("ok", "pandas" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok", "False"]
    assert read_parquet(path).equals(pq.read_table(path))
    assert table.to_pylist() == rows  # pyarrow's own conversion of the zoned column: the same instants


def test_one_shards_rows_and_list_columns_without_pyarrow_compute(tmp_path):
    """A task reads its own shard's rows of a file sorted by shard as a slice, and shard rows with lists of strings
    become Arrow lists from buffers: the same tables as filter and pa.array give, in a process that never imports
    pyarrow.compute (0.09 s, 1.5% of a 1,000-page web.yaml run). An unsorted file still gives the right rows."""
    import subprocess
    import sys
    import textwrap

    from curate.io import column, read_parquet

    ids = [f"d{i}" for i in range(9)]
    sorted_path, mixed_path = tmp_path / "sorted.parquet", tmp_path / "mixed.parquet"
    pq.write_table(pa.table({"shard": pa.array([0, 0, 0, 1, 1, 2, 2, 2, 2], pa.int32()), "id": ids}), sorted_path)
    pq.write_table(pa.table({"shard": pa.array([0, 1, 2] * 3, pa.int32()), "id": ids}), mixed_path)
    lists = [["a", "é"], None, [], ["日本"]]
    code = textwrap.dedent(f"""
        import sys
        import pyarrow as pa
        from curate.io import column, read_parquet
        assert read_parquet({str(sorted_path)!r}, equal=("shard", 1)).column("id").to_pylist() == ["d3", "d4"]
        assert read_parquet({str(sorted_path)!r}, equal=("shard", 2)).num_rows == 4
        assert read_parquet({str(sorted_path)!r}, equal=("shard", 5)).num_rows == 0
        got = column({lists!r}, pa.list_(pa.string()))
        got.validate(full=True)
        assert got.to_pylist() == {lists!r} and got.null_count == 1
        print("ok", "pyarrow.compute" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok", "False"]
    assert column(lists, pa.list_(pa.string())).equals(pa.array(lists, pa.list_(pa.string())))
    assert read_parquet(mixed_path, equal=("shard", 1)).column("id").to_pylist() == ["d1", "d4", "d7"]
