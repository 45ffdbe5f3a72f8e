"""The atomic write of curate/io.py: whole files or nothing, also with two writers of one path at once."""

from __future__ import annotations

import multiprocessing

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
