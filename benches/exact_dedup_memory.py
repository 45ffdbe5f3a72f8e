"""Benchmark: peak memory of exact_dedup_v1's one index task, at 100k and 1M documents.

    python benches/exact_dedup_memory.py                       # 100k and 1M -> benches/exact_dedup_memory.json
    python benches/exact_dedup_memory.py --docs 100000 1000000 3000000 --json /tmp/x.json

The index task reads the ``id``, ``source`` and hash columns of every intermediate shard and decides which documents
are copies (``curate/steps/dedup/exact_dedup.py``). This builds such shards (2 tasks' worth, as ``executor.tasks: 2``
writes them; ids like ``crawl/part-00017.jsonl:123456``, sources web/books/code, 10% of documents copies of another,
a short text so the files stay small: the index never reads the text) and runs the index task in a fresh process,
twice per size: once as is, once stopped just after its imports. Peak RSS (``ru_maxrss``) of the first minus the
second is the index's own memory; bytes a document is its slope between the sizes. ``curate plan`` and the step's
docstring quote that slope.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, sys, json
sys.path.insert(0, {root!r})
from curate.steps.dedup.exact_dedup import _Index
import pyarrow, numpy
if {run}:
    _Index({segment!r}, {out!r}, ["books", "code", "web"]).run()
print(json.dumps({{"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def build_segment(folder: Path, docs: int, tasks: int = 2, seed: int = 0) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.steps.dedup.exact_dedup import HASH

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    hashes = rng.integers(-(2**63), 2**63 - 1, size=docs, dtype=np.int64)
    copies = rng.random(docs) < 0.1
    hashes[copies] = hashes[rng.integers(0, docs, size=int(copies.sum()))]
    sources = np.array(["web", "books", "code"])[rng.integers(0, 3, size=docs)]
    for task in range(tasks):
        lo, hi = task * docs // tasks, (task + 1) * docs // tasks
        ids = [f"crawl/part-{i // 50_000:05d}.jsonl:{i % 50_000}" for i in range(lo, hi)]
        table = pa.table({"id": ids, "text": ["x"] * (hi - lo), "source": sources[lo:hi], HASH: hashes[lo:hi]})
        pq.write_table(table, folder / f"{task:05d}.parquet", row_group_size=100_000)


def peak(segment: Path, out: Path, run: bool) -> int:
    code = CHILD.format(root=str(ROOT), segment=str(segment), out=str(out), run=run)
    # through a small intermediate process: Linux carries a parent's peak RSS into a child it spawns (vfork + exec
    # keeps the high-water mark), so a child of this process, which built the shards, would report this one's peak
    hop = f"import subprocess, sys; sys.stdout.write(subprocess.run({[sys.executable, '-c', code]!r}, " \
          "capture_output=True, text=True, check=True).stdout)"
    proc = subprocess.run([sys.executable, "-c", hop], capture_output=True, text=True, check=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_bytes"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--work", default="/tmp/bench/exact-dedup-memory")
    ap.add_argument("--json", default=str(ROOT / "benches" / "exact_dedup_memory.json"))
    args = ap.parse_args()
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load_before": os.getloadavg(), "sizes": [],
    }  # fmt: skip
    print(f"{'documents':>10}{'index peak RSS MB':>20}{'imports MB':>12}{'index MB':>10}{'bytes/doc':>11}")
    for n in args.docs:
        segment = Path(args.work) / f"segment-{n}"
        if not segment.exists():
            build_segment(segment, n)
        base = peak(segment, segment.parent / "drops.parquet", run=False)
        total = peak(segment, segment.parent / "drops.parquet", run=True)
        row = {"docs": n, "peak_rss_bytes": total, "imports_rss_bytes": base, "index_bytes": total - base}
        result["sizes"].append(row)
        print(f"{n:>10,}{total / 1e6:>20.1f}{base / 1e6:>12.1f}{(total - base) / 1e6:>10.1f}"
              f"{(total - base) / n:>11.1f}", flush=True)  # fmt: skip
    s = result["sizes"]
    if len(s) >= 2:
        slope = (s[-1]["index_bytes"] - s[0]["index_bytes"]) / (s[-1]["docs"] - s[0]["docs"])
        result["bytes_per_doc_slope"] = round(slope, 1)
        print(f"slope between {s[0]['docs']:,} and {s[-1]['docs']:,} documents: {slope:.1f} bytes a document")
    result["load_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(f"raw results: {args.json}")


if __name__ == "__main__":
    main()
