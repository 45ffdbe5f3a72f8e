"""run.json (resolved config, versions, git commit, wall time) and the merged long-format stats.parquet."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.io import RunLayout, atomic_path, atomic_write_text, read_parquet
from curate.schema import STATS_SCHEMA

PACKAGES = (
    "curate", "datatrove", "pyarrow", "duckdb", "fasttext-numpy2-wheel", "resiliparse", "fastwarc", "trafilatura",
    "alt-profanity-check", "scikit-learn",
)


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return out


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _head_commit(path: Path) -> str | None:
    """What ``git rev-parse HEAD`` prints, read from the repository's files (HEAD, a loose or packed ref; a worktree's
    ``.git`` file and ``commondir``) without starting git; None when the files say something else."""
    for folder in (path, *path.parents):
        dot = folder / ".git"
        if dot.is_dir():
            gitdir = dot
            break
        if dot.is_file():
            line = dot.read_text().strip()
            if not line.startswith("gitdir:"):
                return None
            gitdir = (folder / line[len("gitdir:"):].strip()).resolve()
            break
    else:
        return None
    head = (gitdir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head if _SHA.fullmatch(head) else None
    ref = head[len("ref:"):].strip()
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
    for base in (gitdir, common):
        if (base / ref).is_file():
            sha = (base / ref).read_text().strip()
            return sha if _SHA.fullmatch(sha) else None
    if (common / "packed-refs").is_file():
        for line in (common / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.fullmatch(sha):
                return sha
    return None


def git_commit(path: Path) -> str | None:
    """The commit of the code that ran (the curate checkout), or None outside git. Read from the repository's files
    when they are plain (no process started: 0.02-0.03 CPU s of every run), else asked of git."""
    try:
        sha = _head_commit(path.resolve())
    except OSError:
        sha = None
    if sha is not None:
        return sha
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def config_hash(resolved: dict) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:16]


def start_run(layout: RunLayout, resolved: dict, argv: list[str]) -> dict:
    """Write run.json at the start (or keep the one of the run being resumed). Returns it."""
    if layout.run_json.exists():
        info = json.loads(layout.run_json.read_text())
        info.setdefault("resumed_at", []).append(time.time())
    else:
        info = {
            "config": resolved,
            "config_hash": config_hash(resolved),
            "versions": package_versions(),
            "git_commit": git_commit(Path(__file__).parent),
            "command": argv,
            "host": platform.node(),
            "started_at": time.time(),
            "status": "running",
        }
    atomic_write_text(layout.run_json, json.dumps(info, indent=2, default=str))
    return info


def merge_stats(layout: RunLayout) -> pa.Table:
    files = sorted((layout.work / "stats").glob("*/*.parquet"))
    tables = [read_parquet(f, schema=STATS_SCHEMA) for f in files]
    table = pa.concat_tables(tables) if tables else STATS_SCHEMA.empty_table()
    with atomic_path(layout.stats_path) as tmp:
        pq.write_table(table, tmp)
    return table


def finalize_run(layout: RunLayout) -> None:
    """Merge stats, record wall time and totals in run.json, and delete intermediate segment shards."""
    table = merge_stats(layout)
    info = json.loads(layout.run_json.read_text())
    info["finished_at"] = time.time()
    info["wall_seconds"] = round(info["finished_at"] - info["started_at"], 3)
    info["status"] = "complete"
    info["docs"] = sum(pq.ParquetFile(f).metadata.num_rows for f in layout.docs_dir.glob("*.parquet"))
    info["rejects"] = sum(pq.ParquetFile(f).metadata.num_rows for f in layout.rejects_dir.glob("*.parquet"))
    info["stats_rows"] = table.num_rows
    for seg in layout.work.glob("segment*"):
        shutil.rmtree(seg, ignore_errors=True)
    atomic_write_text(layout.run_json, json.dumps(info, indent=2, default=str))
    print(f"run complete: {info['docs']:,} docs kept, {info['rejects']:,} rejected -> {layout.root}", file=sys.stderr)
