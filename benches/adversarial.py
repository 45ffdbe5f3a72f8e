"""Benchmark: does any shipped pipeline slow down on text with no line breaks, or no white space at all?

    python benches/adversarial.py                      # 40 MB per input, every pipeline -> benches/adversarial.json
    python benches/adversarial.py --mb 8 --pipelines books web --json /tmp/adv.json

For each shipped pipeline, three inputs of the same size, made of the same real text (the bundled public-domain
books, with OCR-like digits inside 4% of words, for prose; this machine's Python standard library for code):

* ``normal``: the text as it is, with its line breaks;
* ``single_line``: every line break replaced by a space (one line per document);
* ``no_whitespace``: every white-space character removed.

Each input is cut into documents the way the pipeline's reader takes them: books.yaml one 40 MB .txt book (its
reader's limit is 100 MB); web.yaml 1 MB HTML pages in a WARC (html_extract_v1 drops pages over 10 MB unparsed,
Common Crawl truncates at 1 MiB); code.yaml 1 MB files in one repository (The Stack's 1 MB limit); safety.yaml JSONL and
dedup.yaml Parquet rows of 1 MB. Consecutive slices of the repeated text, so no two documents are equal.

Every run is ``python -m curate.cli run <pipeline> -i <input> --set executor.tasks=1 --set executor.workers=1`` in a
fresh process pinned to one CPU; reported: MB/s of input, the slowdown against ``normal`` of the same pipeline (the
target is at most 3x; MB are the documents' UTF-8 bytes, HTML for web), the seconds each step took (from the run's stats) and the load average around the run.
A run past ``--timeout`` is stopped and reported as such.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ("normal", "single_line", "no_whitespace")
UNIT = 1_000_000  # bytes of one document where the pipeline's reader takes many (web, code, safety, dedup)


def prose() -> str:
    """The bundled books, with the damage OCR leaves in scanned books: an "o" inside a word read as "0" ("l0ve",
    "c0uld"), about 4% of words (under book_quality_v1's 5% limit, so the books are kept and go through every step)."""
    text = "\n".join(Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob(str(ROOT / "samples/books/*.txt"))))
    return re.sub(r"(\w{3})o(\w)", r"\g<1>0\g<2>", text)


def code() -> str:
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def shaped(text: str, shape: str, size: int) -> str:
    """``text`` in ``shape``, repeated to at least ``size`` characters."""
    if shape == "single_line":
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    elif shape == "no_whitespace":
        text = re.sub(r"\s+", "", text)
    return text * (size // len(text) + 1)


def slices(text: str, n: int, size: int) -> list[str]:
    """``n`` consecutive documents of about ``size`` UTF-8 bytes each."""
    out, pos = [], 0
    for _ in range(n):
        piece = text[pos : pos + size]
        piece = piece.encode("utf-8")[:size].decode("utf-8", errors="ignore")
        out.append(piece)
        pos += len(piece)
    return out


def build_input(pipeline: str, shape: str, mb: int, work: Path) -> tuple[Path, int]:
    """The input file (or folder) and the UTF-8 bytes of the documents in it (HTML for web: before compression)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = code() if pipeline == "code" else prose()
    text = shaped(base, shape, mb * UNIT + UNIT)
    folder = work / "inputs" / f"{pipeline}-{shape}"
    folder.mkdir(parents=True, exist_ok=True)
    if pipeline == "books":
        (path := folder / "book.txt").write_text(book := slices(text, 1, mb * UNIT)[0], encoding="utf-8")
        return path, len(book.encode())
    docs = slices(text, mb, UNIT)
    size = sum(len(d.encode()) for d in docs)
    if pipeline == "code":
        for i, doc in enumerate(docs):
            (folder / f"module_{i:03d}.py").write_text(doc, encoding="utf-8")
        return folder, size
    if pipeline == "safety":
        path = folder / "docs.jsonl"
        path.write_text("".join(json.dumps({"id": f"d{i}", "text": d}) + "\n" for i, d in enumerate(docs)))
        return path, size
    if pipeline == "dedup":
        table = pa.table({"id": [f"d{i}" for i in range(len(docs))], "text": docs, "source": ["books"] * len(docs)})
        pq.write_table(table, path := folder / "docs.parquet")
        return path, size
    return write_warc(folder / "pages.warc.gz", docs, shape), size


def page(text: str, shape: str) -> bytes:
    if shape == "normal":
        body = "\n".join(f"<p>{line}</p>" for line in text.split("\n"))
        return f"<!doctype html>\n<html>\n<head><title>A book</title></head>\n<body>\n{body}\n</body>\n</html>\n".encode()
    return f"<html><head><title>Abook</title></head><body><p>{text}</p></body></html>".encode()


def write_warc(path: Path, docs: list[str], shape: str) -> Path:
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i, doc in enumerate(docs):
            body = page(doc, shape)
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                f"https://books.example.org/{i}", "response", payload=BytesIO(body), http_headers=http
            )
            writer.write_record(record)
    return path


def step_seconds(run: Path) -> dict[str, float]:
    import pyarrow.parquet as pq

    out: dict[str, float] = {}
    stats = run / "stats.parquet"
    if not stats.exists():
        return out
    for r in pq.read_table(stats).to_pylist():
        if r["metric"] == "seconds":
            out[r["step"]] = round(out.get(r["step"], 0) + r["value"], 2)
    return out


def run_one(pipeline: str, src: Path, out: Path, cpu: int, timeout: float, code: Path = ROOT) -> dict:
    """One `curate run` with the curate package and pipelines of ``code`` (this checkout, or another commit's)."""
    cmd = [sys.executable, "-m", "curate.cli", "run", f"pipelines/{pipeline}.yaml", "-i", str(src), "-o", str(out),
           "--force", "--set", "executor.tasks=1", "--set", "executor.workers=1"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, timeout=timeout, check=False,
                              preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))  # fmt: skip
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"
        funnel = proc.stdout.strip().splitlines()
    except subprocess.TimeoutExpired:
        status, funnel = f"timed out after {timeout:.0f} s", []
    wall = time.perf_counter() - t0
    return {"status": status, "wall_s": round(wall, 2), "load_before": load_before, "load_after": os.getloadavg(),
            "step_seconds": step_seconds(out), "funnel": funnel}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=40, help="input size per run, MB")
    ap.add_argument("--pipelines", nargs="+", default=["books", "web", "code", "safety", "dedup"])
    ap.add_argument("--work", default="/tmp/bench/adversarial")
    ap.add_argument("--cpu", type=int, default=0, help="the CPU every run is pinned to")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds before a run is stopped")
    ap.add_argument("--json", default=str(ROOT / "benches" / "adversarial.json"))
    ap.add_argument("--code", type=Path, default=ROOT,
                    help="run the curate code of this folder (e.g. `git archive <commit> | tar -x -C DIR`: before/after)")
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    args = ap.parse_args()
    work = Path(args.work)
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": _cpu_model()},
        "mb": args.mb, "code": str(args.code.resolve()), "runs": [],
    }  # fmt: skip
    print(f"{'pipeline':<8}{'input':<15}{'MB':>6}{'wall s':>9}{'MB/s':>8}{'slowdown':>10}  status / slowest steps")
    for pipeline in args.pipelines:
        normal_rate = None
        for shape in args.shapes:
            src, size = build_input(pipeline, shape, args.mb, work)
            size /= 1e6
            r = run_one(pipeline, src, work / "runs" / f"{pipeline}-{shape}", args.cpu, args.timeout, args.code)
            rate = size / r["wall_s"] if r["status"] == "ok" else None
            normal_rate = rate if shape == "normal" else normal_rate
            slowdown = normal_rate / rate if rate and normal_rate else None
            r.update(pipeline=pipeline, shape=shape, input_mb=round(size, 2), mb_per_s=rate and round(rate, 3),
                     slowdown_vs_normal=slowdown and round(slowdown, 2))  # fmt: skip
            result["runs"].append(r)
            slow = sorted(r["step_seconds"].items(), key=lambda kv: -kv[1])[:3]
            rate_s, slow_s = f"{rate:.2f}" if rate else "-", f"{slowdown:.2f}x" if slowdown else "-"
            print(f"{pipeline:<8}{shape:<15}{size:>6.1f}{r['wall_s']:>9.1f}{rate_s:>8}{slow_s:>10}  "
                  f"{r['status'] if r['status'] != 'ok' else ', '.join(f'{k} {v:.1f}s' for k, v in slow)}", flush=True)
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(f"raw results: {args.json}")


def _cpu_model() -> str:
    try:
        return next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


if __name__ == "__main__":
    main()
