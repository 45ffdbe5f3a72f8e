"""`curate plan`: estimates from measured constants, linear in the number of documents, and a real run stays
within the memory it planned."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_plan_is_linear_and_a_million_documents_fit_in_1_5_gb():
    one, two, three = (estimate(n * 1_000_000, 2000, tasks=2) for n in (1, 2, 3))
    for part in ("bucket_gb", "cluster_gb", "disk_gb", "cpu_seconds"):
        a, b, c = (getattr(p, part) for p in (one, two, three))
        assert abs((c - b) - (b - a)) < 1e-9 * c and b > a, part
    assert one.memory_gb < 1.5
    assert estimate(1_000_000, 2000, dup_fraction=0.5).cluster_gb > one.cluster_gb  # more copies, more pairs
    assert estimate(1_000_000, 2000, bands=20, rows=5).disk_gb > one.disk_gb


def test_plan_knows_the_decontamination_index():
    result = CliRunner().invoke(main, ["plan", "--docs", "1000", "--mean-chars", "2000", "--decontam-ngrams",
                                       "100000000"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("decontamination index"))
    gb = float(line.split(": ")[1].split(" GB")[0])
    assert 1.0 <= gb <= 2.0  # 100M n-grams at 10 bytes each, plus what the process adds, plus headroom


def test_plan_rejects_impossible_input_with_a_message():
    result = CliRunner().invoke(main, ["plan", "--docs", "0", "--mean-chars", "2000"])
    assert result.exit_code == 2 and "--docs" in result.output and "Traceback" not in result.output


def test_a_run_stays_within_the_memory_it_planned(tmp_path):
    """A fresh process (not pytest's) runs the dedup; every dedup stage's peak RSS is within the plan."""
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
