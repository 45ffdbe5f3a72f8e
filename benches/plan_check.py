"""Benchmark: does `curate plan` hold on this machine? Measured peak memory beside the plan, as a ratio.

    python benches/plan_check.py                     # -> benches/plan_check.json (about 30 s)

The plan's constants (curate/plan.py) were measured on one machine; the tests only check what the planner promises
(its formula on known inputs, and that a run stays under it). This bench checks how close the plan is: a plan well
over twice the measured peak wastes memory a user could have used, one under it lets a run be killed. Measured, each
in a fresh process started through a small intermediate one (Linux carries a parent's peak RSS into a child):

* exact_dedup_v1's index task alone on 300,000 documents (10% copies), against ``exact_index_gb``;
* ``curate run`` of jsonl_v1 -> minhash_dedup_v1 on 200 documents of the King James Bible (250 words each),
  1 task, every dedup stage's ``peak_rss_gb`` from stats.parquet, against ``memory_gb``;
* and the plan itself for the scale table of benches/README.md (100,000 and 1,000,000 documents of 2,000
  characters, 2 tasks): what `curate plan` prints there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_gb_of(code: str) -> float:
    """Peak RSS of ``code`` in a fresh interpreter started by a small one (a child of a big process reports its
    parent's high-water mark)."""
    child = code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    hop = (f"import subprocess, sys; sys.stdout.write(subprocess.run({[sys.executable, '-c', child]!r}, "
           "capture_output=True, text=True, check=True).stdout)")
    out = subprocess.run([sys.executable, "-c", hop], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.split()[-1]) * 1024 / 1e9


def exact_index(tmp: Path, n: int = 300_000) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.plan import estimate
    from curate.steps.dedup.exact_dedup import HASH

    rng = np.random.default_rng(0)
    hashes = rng.integers(-(2**62), 2**62, size=n)
    hashes[: n // 10] = hashes[n // 10 : n // 5]  # 10% copies
    ids = [f"crawl/part-{i // 50_000:05d}.jsonl:{i % 50_000}" for i in range(n)]
    sources = np.array(["web", "books", "code"])[rng.integers(0, 3, size=n)]
    seg = tmp / "segment"
    seg.mkdir()
    pq.write_table(pa.table({"id": ids, "text": ["x"] * n, "source": sources, HASH: hashes}),
                   seg / "00000.parquet", row_group_size=2000)
    code = (f"from curate.steps.dedup.exact_dedup import _Index\n"
            f"_Index({str(seg)!r}, {str(tmp / 'd' / 'drops.parquet')!r}, ['books']).run()")
    measured, planned = peak_rss_gb_of(code), estimate(n, 2000).exact_index_gb
    return {"what": "exact_dedup_v1 index task", "docs": n, "measured_gb": round(measured, 4),
            "planned_gb": round(planned, 4), "measured_over_plan": round(measured / planned, 3)}


def minhash_run(tmp: Path, n: int = 200) -> dict:
    from curate.inspect import connect
    from curate.plan import estimate

    words = (ROOT / "samples" / "books" / "kjv_genesis_exodus.txt").read_text().split()
    docs = [{"id": f"kjv-{i}", "text": " ".join(words[i * 250 : (i + 1) * 250])} for i in range(n)]
    data = tmp / "in.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    yaml = tmp / "p.yaml"
    yaml.write_text(f"name: p\nsource: books\ninput: {{reader: jsonl_v1, paths: [{data}]}}\n"
                    f"steps: [minhash_dedup_v1]\noutput: {tmp / 'run'}\nexecutor: {{tasks: 1, workers: 1}}\n")
    cmd = [sys.executable, "-m", "curate.cli", "run", str(yaml)]
    hop = f"import subprocess, sys; sys.exit(subprocess.run({cmd!r}, capture_output=True).returncode)"
    subprocess.run([sys.executable, "-c", hop], check=True, cwd=ROOT)
    con = connect([tmp / "run"])
    peaks = dict(con.execute("SELECT stage, max(value) FROM stats WHERE metric = 'peak_rss_gb' GROUP BY 1").fetchall())
    planned = estimate(n, sum(len(d["text"]) for d in docs) / n, tasks=1).memory_gb
    measured = max(peaks.values())
    return {"what": "curate run jsonl_v1 -> minhash_dedup_v1, largest dedup stage", "docs": n,
            "stage_peaks_gb": {k: round(v, 4) for k, v in sorted(peaks.items())}, "measured_gb": round(measured, 4),
            "planned_gb": round(planned, 4), "measured_over_plan": round(measured / planned, 3)}


def scale_table_plans() -> list[dict]:
    from curate.plan import estimate

    out = []
    for n in (100_000, 1_000_000):
        p = estimate(n, 2000, tasks=2)
        out.append({"docs": n, "mean_chars": 2000, "tasks": 2, "memory_gb": round(p.memory_gb, 4),
                    "signature_gb": round(p.signature_gb, 4), "bucket_gb": round(p.bucket_gb, 4),
                    "cluster_gb": round(p.cluster_gb, 4)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default=str(ROOT / "benches" / "plan_check.json"))
    args = ap.parse_args()
    result = {"command": "python benches/plan_check.py",
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
              "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        result["checks"] = [exact_index(Path(tmp) / "a"), minhash_run(Path(tmp) / "b")]
    result["scale_table_plans"] = scale_table_plans()
    result["load_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    for c in result["checks"]:
        print(f"{c['what']}, {c['docs']:,} docs: measured {c['measured_gb']:.3f} GB, plan {c['planned_gb']:.3f} GB "
              f"(measured / plan {c['measured_over_plan']:.2f}; within the plan and not under half: "
              f"{0.5 <= c['measured_over_plan'] <= 1})")
    for p in result["scale_table_plans"]:
        print(f"curate plan --docs {p['docs']} --mean-chars 2000 --tasks 2: peak memory per process "
              f"{p['memory_gb']:.2f} GB")
    print(f"-> {args.json}")


if __name__ == "__main__":
    main()
