"""Benchmark: what tag mode costs. `curate run pipelines/web.yaml` as shipped (filtering) and with `--tag-only` (every
filter tags, so every filter sees every document), on the bundled sample, in pairs, order alternating.

    python benches/tag_mode.py                      # 2 pairs -> benches/tag_mode.json (about 2 minutes)

Each run is a fresh `curate run` process with web.yaml's 2 tasks, run by one worker (``executor.workers=1``: the
tasks run inside that process, so the kernel's accounting of the waited-for child holds all their CPU time; pool
workers started through a fork server would escape it; CPU seconds do not depend on how many tasks run at once).
CPU seconds (user + system) do not depend on how busy the shared machine's other core is as wall time does; the
steps' own seconds from stats.parquet are reported beside them. Reported per pair: CPU seconds, step seconds and
wall seconds of both, and the ratios tagged / filtering.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(out: Path, tag: bool) -> dict:
    cmd = [sys.executable, "-m", "curate.cli", "run", str(ROOT / "pipelines" / "web.yaml"), "-o", str(out),
           "--set", "executor.workers=1"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd + (["--tag-only"] if tag else []), check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    import pyarrow.parquet as pq

    stats = pq.read_table(out / "stats.parquet").to_pylist()
    steps = sum(r["value"] for r in stats if r["metric"] == "seconds")
    return {"mode": "tag" if tag else "filter", "cpu_seconds": round(cpu, 2), "step_seconds": round(steps, 2),
            "wall_seconds": round(wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--json", default=str(ROOT / "benches" / "tag_mode.json"))
    args = ap.parse_args()
    result = {"command": " ".join(["python", *sys.argv]),
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
              "load_before": os.getloadavg(), "pairs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.pairs):
            order = (False, True) if i % 2 == 0 else (True, False)
            runs = {("tag" if t else "filter"): one_run(Path(tmp) / f"run-{i}-{int(t)}", t) for t in order}
            pair = {"order": [("tag" if t else "filter") for t in order], **runs,
                    "cpu_ratio_tag_over_filter": round(runs["tag"]["cpu_seconds"] / runs["filter"]["cpu_seconds"], 3),
                    "step_ratio_tag_over_filter": round(runs["tag"]["step_seconds"] / runs["filter"]["step_seconds"],
                                                        3),
                    "wall_ratio_tag_over_filter": round(runs["tag"]["wall_seconds"] / runs["filter"]["wall_seconds"],
                                                        3)}
            result["pairs"].append(pair)
            print(f"pair {i + 1}: filter {runs['filter']['cpu_seconds']:.1f} CPU s, tag "
                  f"{runs['tag']['cpu_seconds']:.1f} CPU s: {pair['cpu_ratio_tag_over_filter']:.2f}x; steps "
                  f"{pair['step_ratio_tag_over_filter']:.2f}x "
                  f"(wall {pair['wall_ratio_tag_over_filter']:.2f}x)")
    result["load_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(f"-> {args.json}")


if __name__ == "__main__":
    main()
