"""`curate plan`: its documented model worked by hand on known inputs, estimates that grow with the work, bad input
refused, and real runs that stay within their plan. How close the plan comes to measured peaks is machine-bound:
benches/plan_check.py measures it (benches/plan_check.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.inspect import connect
from curate.plan import estimate

ROOT = Path(__file__).resolve().parents[1]


def test_plan_prints_memory_disk_and_time():
    result = CliRunner().invoke(main, ["plan", "--docs", "1000000", "--mean-chars", "2000"])
    assert result.exit_code == 0, result.output
    for what in ("peak memory per process", "signature-pass task", "bucket task", "cluster task", "disk", "time"):
        assert what in result.output
    assert "plan" in CliRunner().invoke(main, ["--help"]).output


def test_plan_grows_with_the_work():
    """More documents, longer documents, more copies or more hashes never plan less memory, disk or time."""
    plans = [estimate(n, 2000, tasks=2) for n in (10_000, 1_000_000, 100_000_000)]
    for part in ("signature_gb", "bucket_gb", "cluster_gb", "exact_index_gb", "disk_gb", "cpu_seconds"):
        values = [getattr(p, part) for p in plans]
        assert values == sorted(values) and values[0] < values[-1], part
    base = plans[1]
    longer = estimate(1_000_000, 20_000, tasks=2)
    assert longer.signature_gb > base.signature_gb and longer.disk_gb > base.disk_gb
    assert longer.cpu_seconds > base.cpu_seconds
    assert estimate(1_000_000, 2000, tasks=2, dup_fraction=0.5).cluster_gb > base.cluster_gb
    assert estimate(1_000_000, 2000, tasks=2, bands=20, rows=5).disk_gb > base.disk_gb
    assert base.cluster_bound_gb >= base.cluster_gb and base.memory_gb >= base.cluster_gb
    assert estimate(1_000_000, 2000, tasks=8).signature_gb < base.signature_gb  # shards split over more tasks


def test_plan_knows_the_decontamination_index():
    result = CliRunner().invoke(main, ["plan", "--docs", "1000", "--mean-chars", "2000", "--decontam-ngrams",
                                       "100000000"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("decontamination index"))
    gb = float(line.split(": ")[1].split(" GB")[0])
    assert 1.0 <= gb <= 2.0  # 100M n-grams at 10 bytes each, plus what the process adds, plus headroom


@pytest.mark.parametrize(
    "option, value", [("--docs", "0"), ("--mean-chars", "-5"), ("--bands", "0"), ("--dup-fraction", "2"),
                      ("--docs", "many")],
)  # fmt: skip
def test_plan_rejects_bad_input_naming_the_option(option, value):
    args = {"--docs": "1000", "--mean-chars": "2000", option: value}
    result = CliRunner().invoke(main, ["plan", *[x for kv in args.items() for x in kv]])
    assert result.exit_code == 2 and option in result.output and "Traceback" not in result.output


def test_plan_on_known_inputs():
    """The documented model (curate/plan.py's docstring and CONSTANTS, HEADROOM 1.2), worked by hand for 1,000,000
    documents of 2,000 characters, 14 bands x 8 rows, 2 tasks, 20% near-copies."""
    p = estimate(1_000_000, 2000, bands=14, rows=8, tasks=2, dup_fraction=0.2)
    # 1.2 x (182e6 + 22,764.3 x 2,000 + 37.8 x 1e6 / 2) = 1.2 x 246.4286e6
    assert p.signature_gb == pytest.approx(0.2957143, rel=1e-6)
    assert p.bucket_gb == pytest.approx(0.22452, rel=1e-6)  # 1.2 x (80e6 + 107.1 x 1e6)
    # pairs = 1.06 x 0.2 x 1e6 = 212,000: 1.2 x (179e6 + 53.5 x 1e6 + 64 x 212,000)
    assert p.cluster_gb == pytest.approx(0.2952816, rel=1e-6)
    assert p.cluster_bound_gb == pytest.approx(1.3542, rel=1e-6)  # every document a pair in every band: 14e6 pairs
    assert p.memory_gb == p.signature_gb  # the largest of the three processes
    # signatures: 16 + 8 x 14 + 14 x 8 = 240 bytes a document; LZ4 shards: 0.79 bytes a character of 2e9
    assert p.disk_gb == pytest.approx(0.24 + 1.58, rel=1e-9)
    assert p.cpu_seconds == pytest.approx(182.0)  # 9.1e-8 s a character
    assert p.exact_index_gb == pytest.approx(0.28788, rel=1e-6)  # 1.2 x (172e6 + 67.9 x 1e6)


def _peak_rss_gb_of(code: str) -> float:
    """Peak RSS of ``code`` run in a fresh interpreter started by a small one (Linux carries a parent's peak RSS
    into a child it spawns: a child of pytest would report pytest's)."""
    child = code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    hop = (f"import subprocess, sys; sys.stdout.write(subprocess.run({[sys.executable, '-c', child]!r}, "
           "capture_output=True, text=True, check=True).stdout)")
    out = subprocess.run([sys.executable, "-c", hop], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.split()[-1]) * 1024 / 1e9


def test_exact_dedup_index_stays_within_its_plan(tmp_path):
    """What the plan promises: the index task on 300,000 documents never needs more than planned. (How close the
    plan comes, measured on this machine: benches/plan_check.py.)"""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.steps.dedup.exact_dedup import HASH

    n, rng = 300_000, np.random.default_rng(0)
    hashes = rng.integers(-(2**62), 2**62, size=n)
    hashes[: n // 10] = hashes[n // 10 : n // 5]  # 10% copies
    ids = [f"crawl/part-{i // 50_000:05d}.jsonl:{i % 50_000}" for i in range(n)]
    sources = np.array(["web", "books", "code"])[rng.integers(0, 3, size=n)]
    pq.write_table(pa.table({"id": ids, "text": ["x"] * n, "source": sources, HASH: hashes}),
                   tmp_path / "00000.parquet", row_group_size=2000)  # fmt: skip
    code = (f"from curate.steps.dedup.exact_dedup import _Index\n"
            f"_Index({str(tmp_path)!r}, {str(tmp_path / 'd' / 'drops.parquet')!r}, ['books']).run()")
    assert _peak_rss_gb_of(code) <= estimate(n, 2000).exact_index_gb
    assert pq.read_metadata(tmp_path / "d" / "drops.parquet").num_rows >= n // 10  # it did the work


def test_a_run_stays_within_the_memory_it_planned(tmp_path):
    """A fresh process (not pytest's) runs the dedup; every dedup stage records its peak RSS and its plan, and stays
    within the plan."""
    words = (ROOT / "samples" / "books" / "kjv_genesis_exodus.txt").read_text().split()
    docs = [{"id": f"kjv-{i}", "text": " ".join(words[i * 250 : (i + 1) * 250])} for i in range(200)]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    yaml = tmp_path / "p.yaml"
    yaml.write_text(f"name: p\nsource: books\ninput: {{reader: jsonl_v1, paths: [{data}]}}\n"
                    f"steps: [minhash_dedup_v1]\noutput: {tmp_path / 'run'}\nexecutor: {{tasks: 1, workers: 1}}\n")
    # through a small intermediate process: Linux carries a parent's peak RSS into a child it spawns (vfork + exec
    # keeps the high-water mark of the memory the child borrowed), so a run started from pytest would report pytest's
    cmd = [sys.executable, "-m", "curate.cli", "run", str(yaml)]
    hop = f"import subprocess, sys; sys.exit(subprocess.run({cmd!r}, capture_output=True).returncode)"
    subprocess.run([sys.executable, "-c", hop], check=True)
    con = connect([tmp_path / "run"])
    peaks = dict(con.execute("SELECT stage, max(value) FROM stats WHERE metric = 'peak_rss_gb' GROUP BY 1").fetchall())
    assert set(peaks) == {"segment0", "minhash_buckets_01", "minhash_clusters_01"}
    plan = estimate(len(docs), sum(len(d["text"]) for d in docs) / len(docs), tasks=1)
    assert max(peaks.values()) <= plan.memory_gb, (peaks, plan)
