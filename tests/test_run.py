"""The run directory contract: docs/rejects/stats/run.json, atomic shards, resume after a kill, --force."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from click.testing import CliRunner
from conftest import curate_ok, run_rows

from curate.cli import main

run, rows = curate_ok, run_rows  # the shared helpers of conftest, under this file's short names


def test_run_directory_contract(tmp_path, tiny_pipeline):
    run(["run", str(tiny_pipeline)])
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["_work", "docs", "rejects", "run.json", "stats.parquet"]
    assert not list(out.rglob("*.tmp"))
    docs = pq.read_table(min((out / "docs").glob("*.parquet")))
    for col in ("id", "text", "source", "url", "lang", "lang_score", "input_file", "exact_dup__copies"):
        assert col in docs.column_names
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "complete" and info["wall_seconds"] >= 0
    assert info["config"]["steps"] == [{"exact_dedup_v1": {"prefer_sources": []}}] and info["versions"]["datatrove"] == "0.10.1"
    # 12 real documents + 2 copies read; 1 invalid line counted with its file; the 2 copies rejected with the keeper
    assert info["docs"] == 12 and info["rejects"] == 2
    rejected = rows(out, "SELECT id, step, reason, duplicate_of FROM rejects ORDER BY id")
    assert rejected == [
        ("copy-of-0", "exact_dedup_v1", "exact_duplicate", "email/__init__.py"),
        ("upper-copy-of-1", "exact_dedup_v1", "exact_duplicate", "email/_encoded_words.py"),
    ]
    err = rows(out, "SELECT metric, value, file FROM stats WHERE metric LIKE 'error_%'")
    assert err == [("error_invalid_json", 1.0, str(tiny_pipeline.parent / "input-a.jsonl"))]
    # every document that entered a step is kept or dropped
    for step, n_in, kept, dropped in rows(
        out,
        """SELECT step, sum(value) FILTER (metric='in'), sum(value) FILTER (metric='kept'),
                  coalesce(sum(value) FILTER (metric='dropped'), 0) FROM stats WHERE position > 0 GROUP BY step""",
    ):
        assert n_in == kept + dropped, step
    assert rows(out, "SELECT max(exact_dup__copies) FROM docs") == [(2,)]


def _docs(out):
    return sorted(rows(out, "SELECT id, text, exact_dup__copies FROM docs"))


def test_killed_run_resumes_to_the_same_result(tmp_path, tiny_pipeline):
    from curate.compile import build_executors, build_layout, build_stages
    from curate.config import load_pipeline
    from curate.manifest import start_run

    run(["run", str(tiny_pipeline), "-o", str(tmp_path / "whole")])
    expected = _docs(tmp_path / "whole")
    expected_rejects = rows(tmp_path / "whole", "SELECT id, reason FROM rejects ORDER BY id")
    # The state a kill leaves: segment0 and the dedup index done, task 0 of segment1 done, task 1 killed while
    # writing its docs shard (a .tmp left behind), finalize never ran.
    spec = load_pipeline(tiny_pipeline)
    layout = build_layout(spec)
    layout.root.mkdir(parents=True)
    start_run(layout, spec.resolved(), ["test"])
    executors = build_executors(spec, layout, build_stages(spec, layout))
    assert [e.logging_dir.path.split("/")[-1] for e in executors] == [
        "segment0", "exact_dedup_01", "segment1", "finalize"]
    executors[1].run()
    executors[2]._run_for_rank(0)
    (layout.docs_dir / "00001.parquet.tmp").write_bytes(b"PAR1 half written")
    assert rows(layout.root, "SELECT count(*) FROM docs")[0][0] < len(expected)  # only complete shards visible
    run(["run", str(tiny_pipeline)])
    assert _docs(layout.root) == expected
    assert rows(layout.root, "SELECT id, reason FROM rejects ORDER BY id") == expected_rejects
    assert not list(layout.root.rglob("*.tmp"))


def test_rerun_of_complete_run_does_nothing_and_force_starts_over(tmp_path, tiny_pipeline):
    run(["run", str(tiny_pipeline)])
    out = tmp_path / "run"
    before = (out / "run.json").read_text()
    result = run(["run", str(tiny_pipeline)])
    assert "already complete" in result.output
    run(["run", str(tiny_pipeline), "--force"])
    assert json.loads((out / "run.json").read_text())["started_at"] > json.loads(before)["started_at"]


def test_different_config_in_same_output_is_refused(tmp_path, tiny_pipeline):
    run(["run", str(tiny_pipeline)])
    result = CliRunner().invoke(main, ["run", str(tiny_pipeline), "--set", "source=books"])
    assert result.exit_code == 1 and "different config" in result.output


def test_output_that_is_not_a_run_dir_is_refused(tmp_path, tiny_pipeline):
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.tex").write_text("do not delete")
    result = CliRunner().invoke(main, ["run", str(tiny_pipeline), "-o", str(other), "--force"])
    assert result.exit_code == 1 and "not a curate run directory" in result.output
    assert (other / "thesis.tex").exists()


def test_shards_load_with_hf_datasets(tmp_path, tiny_pipeline):
    from datasets import load_dataset

    run(["run", str(tiny_pipeline)])
    ds = load_dataset("parquet", data_files=str(tmp_path / "run" / "docs" / "*.parquet"), split="train",
                      cache_dir=str(tmp_path / "hf"))
    assert len(ds) == 12 and set(ds.column_names) >= {"id", "text", "source", "lang"}


def test_exact_dedup_keeps_the_preferred_source(tmp_path, jsonl_input):
    """A copy in a later task from a preferred source wins over the first occurrence (prefer_sources)."""
    import json as _json

    from tests.conftest import stdlib_docs

    book = stdlib_docs(1)[0]
    (tmp_path / "z-web.jsonl").write_text(_json.dumps({"id": "web-copy", "text": book["text"], "src": "web"}) + "\n")
    (tmp_path / "zz-books.jsonl").write_text(_json.dumps({"id": "the-book", "text": book["text"], "src": "books"}))
    pipeline = tmp_path / "pref.yaml"
    pipeline.write_text(
        f"""name: pref
source: mixed
input: {{reader: jsonl_v1, paths: ["{tmp_path}/z*.jsonl"], params: {{source_field: src}}}}
steps:
  - exact_dedup_v1: {{prefer_sources: [books, web]}}
output: {tmp_path / "pref"}
executor: {{type: local, tasks: 2, workers: 1}}
"""
    )
    run(["run", str(pipeline)])
    assert rows(tmp_path / "pref", "SELECT id, source FROM docs") == [("the-book", "books")]
    assert rows(tmp_path / "pref", "SELECT id, duplicate_of FROM rejects") == [("web-copy", "the-book")]


def test_a_lone_surrogate_is_repaired_not_fatal(tmp_path):
    """JSON may escape a lone surrogate; it cannot be written to Parquet. The document is kept with U+FFFD, counted,
    and the other documents of its shard are not lost."""
    from tests.conftest import stdlib_docs

    good = stdlib_docs(1)[0]
    (tmp_path / "in.jsonl").write_text(
        '{"id": "cut-emoji", "text": "truncated tweet \\ud83d and more"}\n' + json.dumps(good) + "\n")
    pipeline = tmp_path / "s.yaml"
    pipeline.write_text(f"""name: s
source: web
input: {{reader: jsonl_v1, paths: ["{tmp_path}/in.jsonl"]}}
steps: [exact_dedup_v1]
output: {tmp_path / "out"}
""")
    run(["run", str(pipeline)])
    out = tmp_path / "out"
    assert rows(out, "SELECT id, text FROM docs ORDER BY id")[0] == ("cut-emoji", "truncated tweet \ufffd and more")
    assert rows(out, "SELECT count(*) FROM docs") == [(2,)]
    assert rows(out, "SELECT sum(value) FROM stats WHERE metric = 'repaired_invalid_unicode'") == [(1.0,)]


def test_rereading_a_run_carries_its_signals_unless_recomputed(tmp_path, tiny_pipeline):
    """parquet_v1 over an earlier run's docs keeps that run's columns (dedup.yaml keeps licences, toxicity ...);
    a column a step of the new pipeline computes is computed afresh, not carried stale."""
    run(["run", str(tiny_pipeline)])
    assert rows(tmp_path / "run", "SELECT max(exact_dup__copies) FROM docs") == [(2,)]

    def rerun(name, steps):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"""name: {name}
source: mixed
input: {{reader: parquet_v1, paths: ["{tmp_path}/run/docs/*.parquet"], params: {{source_field: source}}}}
steps: {steps}
output: {tmp_path / name}
""")
        run(["run", str(path)])
        return tmp_path / name

    carried = rerun("carried", "[]")
    assert rows(carried, "SELECT count(*), max(exact_dup__copies), min(source) FROM docs") == [(12, 2, "code")]
    fresh = rerun("fresh", "[exact_dedup_v1]")
    assert rows(fresh, "SELECT count(*), max(exact_dup__copies) FROM docs") == [(12, 1)]


def test_run_json_commit_is_what_git_says_without_starting_git(tmp_path):
    """run.json's git_commit is read from the repository's files: the same as ``git rev-parse HEAD`` for a branch,
    packed refs, a detached HEAD and a linked worktree; a folder outside any repository gives None."""
    import os
    import shutil
    import subprocess

    import pytest

    from curate.manifest import _head_commit, git_commit

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)

    def git(*args, cwd=repo):
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.org", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@e.org", "HOME": str(tmp_path), "PATH": os.environ["PATH"]}
        return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()

    def rev(folder):
        return git("rev-parse", "HEAD", cwd=folder)

    git("init", "-q", "-b", "main")
    (repo / "pkg" / "a.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    assert _head_commit(repo / "pkg") == rev(repo) == git_commit(repo / "pkg")
    git("commit", "-q", "--allow-empty", "-m", "two")
    git("pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert _head_commit(repo / "pkg") == rev(repo)
    git("checkout", "-q", "--detach", "HEAD~1")
    assert _head_commit(repo / "pkg") == rev(repo)
    git("checkout", "-q", "main")
    git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    git("commit", "-q", "--allow-empty", "-m", "three", cwd=tmp_path / "wt")
    assert _head_commit(tmp_path / "wt" / "pkg") == rev(tmp_path / "wt") != rev(repo)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert _head_commit(outside) is None or (tmp_path / ".git").exists()
