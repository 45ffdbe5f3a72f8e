"""Throughput of pipelines/code.yaml per core, side by side with a read-and-decode baseline, on real source files.

    python benches/code_pipeline.py                    # >= 10,000 source files: the stdlib, then site-packages
    python benches/code_pipeline.py --min-files 30000 --out /tmp/bench/code

Input: the running Python's standard library as one repository (its site-packages is pruned as vendored), then the
top-level packages of site-packages, each as a repository, in name order, until ``--min-files`` files are listed.
All of it is real, mostly permissively licensed code that every machine with curate installed has.

Baseline: what any code reader must do at least, in one process: walk the same files, read the bytes, decode UTF-8.
code.yaml does that and more (git/.gitignore listing, skip rules, licence detection, secret redaction, The Stack /
StarCoder filters, exact dedup, Parquet writing) with one task and one worker, so its figures are per core.
Reported: files/s and MB/s (input bytes of the files that became documents or were filtered) for both, and the ratio.
Every file is read once, untimed, before either is timed, so neither measures the disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def repositories(min_files: int) -> tuple[list[str], int]:
    """The stdlib, then site-packages packages, until at least ``min_files`` files (as a walk counts them)."""
    stdlib, site = Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])
    repos, n = [], 0
    candidates = [stdlib] + sorted(p for p in site.iterdir() if p.is_dir() and not p.name.endswith(".dist-info"))
    for repo in candidates:
        if n >= min_files:
            break
        repos.append(str(repo))
        for dirpath, dirnames, filenames in os.walk(repo):
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "__pycache__")]
            n += len(filenames)
    return repos, n


def baseline(repos: list[str]) -> tuple[int, int, float]:
    """(files decoded, bytes, seconds): walk, read, decode UTF-8; the floor of any code reader's work."""
    t0 = time.perf_counter()
    files = size = 0
    for repo in repos:
        for dirpath, dirnames, filenames in os.walk(repo):
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "__pycache__")]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    continue
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                    data.decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                files += 1
                size += len(data)
    return files, size, time.perf_counter() - t0


def curate_run(repos: list[str], out: Path) -> tuple[float, object]:
    from curate.config import load_pipeline
    from curate.inspect import connect
    from curate.runner import run_pipeline

    spec = load_pipeline(
        ROOT / "pipelines" / "code.yaml",
        inputs=repos,
        output=str(out),
        sets=["executor.tasks=1", "executor.workers=1"],
    )
    t0 = time.perf_counter()
    run_pipeline(spec, force=True)
    return time.perf_counter() - t0, connect([out])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-files", type=int, default=13_500, help="files to list at least (default %(default)s)")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here (benches/code_pipeline.json)")
    args = ap.parse_args()
    load_before = os.getloadavg()
    repos, listed = repositories(args.min_files)
    out = args.out or Path(tempfile.mkdtemp(prefix="curate-code-bench-")) / "run"
    print(f"{len(repos)} repositories, {listed:,} files on disk (first: {repos[0]})")
    baseline(repos)  # untimed: both timed passes then read from the page cache, not the disk
    b_files, b_bytes, b_s = baseline(repos)
    c_s, con = curate_run(repos, out)
    read = con.execute("SELECT sum(value) FROM stats WHERE step = 'code_repo_v1' AND metric = 'kept'").fetchone()[0]
    c_bytes = (
        con.execute("SELECT sum(size) FROM docs").fetchone()[0]
        + (con.execute("SELECT coalesce(sum(size), 0) FROM rejects").fetchone()[0])
    )
    kept = con.execute("SELECT count(*) FROM docs").fetchone()[0]
    print(f"\n{'':<28}{'files':>10}{'MB':>10}{'seconds':>10}{'files/s':>10}{'MB/s':>10}")
    print(
        f"{'baseline (read + decode)':<28}{b_files:>10,}{b_bytes / 1e6:>10.1f}{b_s:>10.2f}"
        f"{b_files / b_s:>10,.0f}{b_bytes / 1e6 / b_s:>10.1f}"
    )
    print(
        f"{'code.yaml, 1 task':<28}{int(read):>10,}{c_bytes / 1e6:>10.1f}{c_s:>10.2f}"
        f"{read / c_s:>10,.0f}{c_bytes / 1e6 / c_s:>10.1f}"
    )
    print(
        f"\nratio code.yaml / baseline: {(read / c_s) / (b_files / b_s):.2f} (files/s), "
        f"{(c_bytes / c_s) / (b_bytes / b_s):.2f} (MB/s); {kept:,} documents kept"
    )
    print("\nseconds per step (code.yaml):")
    for step, secs in con.execute(
        "SELECT step, sum(value) FROM stats WHERE metric = 'seconds' GROUP BY step ORDER BY min(position)"
    ).fetchall():
        print(f"  {step:<24}{secs:>8.2f}")
    from curate.funnel import funnel_lines, stats_rows

    print("\nfunnel:\n" + "\n".join(funnel_lines(stats_rows(con))))
    if args.json:
        import datetime
        import json
        import platform
        import sys

        steps = con.execute(
            "SELECT step, sum(value) FROM stats WHERE metric = 'seconds' GROUP BY step ORDER BY min(position)"
        ).fetchall()
        args.json.write_text(json.dumps({
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "load_before": load_before, "load_after": os.getloadavg(), "repositories": len(repos), "listed": listed,
            "baseline": {"files": b_files, "bytes": b_bytes, "seconds": b_s},
            "code_yaml": {"files": int(read), "bytes": int(c_bytes), "seconds": c_s, "kept": kept},
            "ratio_files_per_s": (read / c_s) / (b_files / b_s), "ratio_mb_per_s": (c_bytes / c_s) / (b_bytes / b_s),
            "step_seconds": dict(steps),
        }, indent=1) + "\n")  # fmt: skip
        print(f"raw results: {args.json}")
    if args.out is None:
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
