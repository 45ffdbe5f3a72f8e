"""Inputs are read as what they are, every input failing fails the run, ids never collide, and no column or row of a
Parquet input is lost without a count (issue: "Trust")."""

from __future__ import annotations

import json
import shutil
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES, WEB_SAMPLE, curate_ok, run_rows, stdlib_docs

from curate.cli import main
from curate.errors import ConfigError
from curate.formats import choose_reader, detect


def write_jsonl(path, docs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))


def pipeline(tmp_path, reader: str, paths: str, steps: str = "[]") -> str:
    (p := tmp_path / "p.yaml").write_text(
        textwrap.dedent(f"""\
        name: t
        source: code
        input: {{reader: {reader}, paths: ['{paths}']}}
        steps: {steps}
        output: {tmp_path / "run"}
        executor: {{type: local, tasks: 1}}
        """)
    )
    return str(p)


# -- the reader follows the input's format ----------------------------------------------------------------------------
def test_dedup_pipeline_given_jsonl_reads_it_as_jsonl(tmp_path):
    """`curate run pipelines/dedup.yaml -i docs.jsonl` used to read JSON Lines as Parquet: 0 documents, exit 0."""
    write_jsonl(src := tmp_path / "docs.jsonl", stdlib_docs(5))
    result = curate_ok(["run", str(ROOT / "pipelines/dedup.yaml"), "-i", str(src), "-o", str(tmp_path / "r")])
    assert "read with jsonl_v1 instead of parquet_v1" in result.output
    assert run_rows(tmp_path / "r", "SELECT count(*) FROM docs") == [(5,)]


def test_format_comes_from_magic_bytes_before_the_name(tmp_path):
    pq.write_table(pa.table({"text": ["x"]}), parquet_named_jsonl := tmp_path / "really-parquet.jsonl")
    shutil.copy(WEB_SAMPLE, warc := tmp_path / "crawl.bin")
    write_jsonl(jsonl := tmp_path / "rows.data", stdlib_docs(1))
    assert detect(str(parquet_named_jsonl)) == "parquet"
    assert detect(str(warc)) == "warc"  # gzip looked through: `WARC/1.` inside
    assert detect(str(jsonl)) == "jsonl"
    assert detect(str(SAMPLES / "books" / "botchan.txt")) == "text"
    assert detect(str(SAMPLES / "books" / "books.jsonl")) == "jsonl"
    assert detect(str(tmp_path)) is None


def test_inputs_of_two_formats_fail_before_any_work_naming_the_key(tmp_path):
    write_jsonl(a := tmp_path / "a.jsonl", stdlib_docs(1))
    pq.write_table(pa.table({"text": ["x"]}), b := tmp_path / "b.parquet")
    with pytest.raises(ConfigError, match=r"--set input.reader=jsonl_v1\|parquet_v1"):
        choose_reader("warc_v1", [str(a), str(b)], forced=False)
    assert choose_reader("jsonl_v1", [str(a)], forced=False) == "jsonl_v1"  # what fits is kept


def test_run_where_every_input_failed_exits_non_zero_with_one_line(tmp_path):
    write_jsonl(src := tmp_path / "docs.jsonl", stdlib_docs(2))
    (bad := tmp_path / "bad.jsonl").write_text("{not json\nnor this\n")
    forced = ["--set", "input.reader=parquet_v1"]  # forced by the user: respected, and every file fails
    result = CliRunner().invoke(main, ["run", pipeline(tmp_path, "jsonl_v1", str(src)), "-i", str(src), *forced])
    assert result.exit_code == 1 and "every input file failed (1 of 1" in result.output
    assert "docs.jsonl: error_ArrowInvalid x1" in result.output
    only_bad = ["run", pipeline(tmp_path, "jsonl_v1", str(bad)), "--force"]
    result = CliRunner().invoke(main, only_bad)
    assert result.exit_code == 1 and "error_invalid_json x2" in result.output
    # one readable file is enough: the run succeeds and counts the other's errors
    curate_ok(["run", pipeline(tmp_path, "jsonl_v1", str(tmp_path / "*.jsonl")), "--force"])
    assert run_rows(tmp_path / "run", "SELECT count(*) FROM docs") == [(2,)]


# -- ids ----------------------------------------------------------------------------------------------------------------
def test_default_ids_unique_across_folders_and_stable_across_reruns(tmp_path):
    """Two `part-0.jsonl` in two folders gave the same ids: `duplicate_of` named the wrong document."""
    docs = [{"text": d["text"]} for d in stdlib_docs(3)]  # no ids: the reader makes them
    write_jsonl(tmp_path / "in" / "a" / "part-0.jsonl", docs[:2])
    write_jsonl(tmp_path / "in" / "b" / "part-0.jsonl", [docs[2], docs[0]])  # b's second row copies a's first
    spec = pipeline(tmp_path, "jsonl_v1", str(tmp_path / "in" / "*" / "*.jsonl"), "[exact_dedup_v1]")
    curate_ok(["run", spec])
    ids = run_rows(tmp_path / "run", "SELECT id FROM docs UNION ALL SELECT id FROM rejects ORDER BY id")
    assert ids == [("a/part-0.jsonl:1",), ("a/part-0.jsonl:2",), ("b/part-0.jsonl:1",), ("b/part-0.jsonl:2",)]
    dup = run_rows(tmp_path / "run", "SELECT r.id, d.text = r.text FROM rejects r JOIN docs d ON d.id = r.duplicate_of")
    assert dup == [("b/part-0.jsonl:2", True)]
    curate_ok(["run", spec, "--force"])
    assert run_rows(tmp_path / "run", "SELECT id FROM docs UNION ALL SELECT id FROM rejects ORDER BY id") == ids


# -- Parquet: columns and rows --------------------------------------------------------------------------------------------
def test_parquet_column_types_that_differ_are_reconciled_or_counted(tmp_path):
    texts = [d["text"] for d in stdlib_docs(4)]
    (tmp_path / "in").mkdir()
    pq.write_table(
        pa.table({"text": texts[:2], "score": pa.array([1, 2], pa.int32()), "tag": [1, 2], "tags": [["x"], ["y"]]}),
        tmp_path / "in" / "a.parquet",
    )
    pq.write_table(
        pa.table({"text": texts[2:], "score": [0.5, 2**40], "tag": ["web", "book"], "tags": [1, 2]}),
        tmp_path / "in" / "b.parquet",
    )
    result = curate_ok(["run", pipeline(tmp_path, "parquet_v1", str(tmp_path / "in" / "*.parquet"))])
    assert "column 'tags' left out" in result.output
    got = run_rows(tmp_path / "run", "SELECT score, tag FROM docs ORDER BY id")
    assert got == [(1.0, "1"), (2.0, "2"), (0.5, "web"), (2.0**40, "book")]  # promoted to double; text
    left = run_rows(tmp_path / "run", "SELECT sum(value) FROM stats WHERE metric = 'values_left_out_tags'")
    assert left == [(4.0,)]  # 2 rows in each file


def test_parquet_corrupt_row_group_counts_the_rows_it_held(tmp_path):
    texts = [d["text"] for d in stdlib_docs(9)]
    pq.write_table(pa.table({"id": [str(i) for i in range(9)], "text": texts}), path := tmp_path / "in.parquet",
                   row_group_size=3)  # fmt: skip
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(1)  # the text of rows 3, 4, 5
    middle = (chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    curate_ok(["run", pipeline(tmp_path, "parquet_v1", str(path))])
    assert run_rows(tmp_path / "run", "SELECT id FROM docs ORDER BY id") == [(str(i),) for i in (0, 1, 2, 6, 7, 8)]
    lost = run_rows(tmp_path / "run", "SELECT value FROM stats WHERE metric = 'error_corrupt_row_group'")
    assert lost == [(3.0,)]
