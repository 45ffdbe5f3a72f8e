"""decontam_ngram_v1 against a Python set of n-gram hashes (datatrove NGramsDecontFilter's index), side by side.

Real text: "evaluation" data = this Python's standard-library sources (the first ``--eval-mb`` MB of *.py files,
one item per file); "training" documents = the bundled books split into paragraphs plus other stdlib files, with
planted items (a benchmark file's middle pasted into a paragraph). Both sides hash n-grams with the same function
(curate.signals.decontam.ngram_hashes, n = 13), so the comparison is of the index: a sorted uint64 array + uint16
task ids, memory-mapped, looked up with one searchsorted per batch of 256, vs a Python ``set`` of ints looked up
per n-gram. Memory is the resident-set growth of a fresh process that loads the index and looks every training
document up; documents/s is the step's ``apply_batch`` (hashing included).

    python benches/decontam.py --eval-mb 40 --out benches/decontam.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def stdlib_files(mb: float, skip_mb: float = 0) -> list[Path]:
    out, size = [], 0
    for p in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        n = p.stat().st_size
        size += n
        if size <= skip_mb * 1e6:
            continue
        if size > (skip_mb + mb) * 1e6:
            break
        out.append(p)
    return out


def training_docs(eval_files: list[Path], planted: int) -> tuple[list[str], int]:
    docs = []
    for book in sorted((ROOT / "samples" / "books").glob("*.txt")):
        docs += [" ".join(p.split()) for p in re.split(r"\n\s*\n", book.read_text()) if len(p.split()) >= 20]
    docs += [p.read_text(errors="replace") for p in stdlib_files(3, skip_mb=200)]
    sources = [p for p in eval_files if p.stat().st_size > 2000]  # not the empty __init__.py files
    step = max(1, len(sources) // planted)
    for i in range(planted):
        text = sources[i * step].read_text(errors="replace")
        middle = " ".join(text.split()[len(text.split()) // 2 :][:40])
        docs[i * 7] = docs[i * 7] + " " + middle  # planted documents: 0, 7, 14, ...
    return docs, planted


CHILD = r"""
import json, sys, time
import numpy as np
def rss():  # current resident set (file-backed pages of a memory map included), bytes
    return int(open("/proc/self/statm").read().split()[1]) * 4096
sys.path.insert(0, sys.argv[1])
from curate.signals.decontam import ngram_hashes, overlaps
docs = json.load(open(sys.argv[3]))
kind = sys.argv[4]
queries = [ngram_hashes(d) for d in docs]  # hashing before: memory of the index alone
base = rss()
t0 = time.perf_counter()
if kind == "ours":
    from curate.decontam import load
    meta, hashes, tasks = load(sys.argv[2])
    found = sum(int(c > 0) for c in overlaps(hashes, tasks, queries, len(meta["tasks"]))[0])
else:
    s = set(np.load(sys.argv[2] + "/hashes.npy").tolist())
    found = sum(int(any(h in s for h in q.tolist())) for q in queries)
load_and_lookup = time.perf_counter() - t0
peak = rss()
print(json.dumps({"index_rss_bytes": peak - base, "contaminated_docs": found, "seconds": load_and_lookup}))
"""


def child(kind: str, index: str, docs_path: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), index, docs_path, kind], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def throughput(index: str, docs: list[str], planted: int) -> dict:
    """Documents/s of the step's apply_batch (ours) and of the set lookup with the same hashing (baseline)."""
    import numpy as np
    from datatrove.data import Document

    from curate.io import RunLayout
    from curate.signals.decontam import ngram_hashes
    from curate.steps.filters.decontam_ngram import DecontamNgram

    step = DecontamNgram(DecontamNgram.Params(index=index), RunLayout(tempfile.mkdtemp()), "bench", 1)
    step.setup()
    batches = [[Document(text=t, id=str(i)) for i, t in enumerate(docs[j : j + 256])] for j in range(0, len(docs), 256)]
    t0 = time.perf_counter()
    verdicts = [r for b in batches for r in step.apply_batch(b)]
    t_ours = time.perf_counter() - t0
    ours = sum(r == "contaminated" for r in verdicts)
    s = set(np.load(Path(index) / "hashes.npy").tolist())
    t0 = time.perf_counter()
    base = sum(any(h in s for h in ngram_hashes(t).tolist()) for t in docs)
    t_base = time.perf_counter() - t0
    return {"docs": len(docs), "ours_docs_per_s": len(docs) / t_ours, "set_docs_per_s": len(docs) / t_base,
            "ours_contaminated": int(ours), "set_contaminated": int(base),
            "planted_found": sum(verdicts[i * 7] == "contaminated" for i in range(planted))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-mb", type=float, default=40)
    ap.add_argument("--planted", type=int, default=50)
    ap.add_argument("--out", default=str(ROOT / "benches" / "decontam.json"))
    args = ap.parse_args()
    from curate.decontam import build

    eval_files = stdlib_files(args.eval_mb)
    docs, planted = training_docs(eval_files, args.planted)
    work = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    meta = build([str(p) for p in eval_files], str(work / "index"), tasks=["stdlib"], echo=lambda m: None)
    build_s = time.perf_counter() - t0
    (work / "docs.json").write_text(json.dumps(docs))
    result = {
        "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "loadavg_before": os.getloadavg(),
        "eval_files": len(eval_files), "index_ngrams": meta["ngrams"], "build_seconds": build_s,
        "training_docs": len(docs), "planted": planted,
        "throughput": throughput(str(work / "index"), docs, planted),
        "memory_ours": child("ours", str(work / "index"), str(work / "docs.json")),
        "memory_set": child("set", str(work / "index"), str(work / "docs.json")),
        "loadavg_after": os.getloadavg(),
    }
    m = meta["ngrams"] / 1e6
    result["mb_per_million_ngrams"] = {"ours": result["memory_ours"]["index_rss_bytes"] / 1e6 / m,
                                       "set": result["memory_set"]["index_rss_bytes"] / 1e6 / m}
    result["ratios"] = {"docs_per_s": result["throughput"]["ours_docs_per_s"] / result["throughput"]["set_docs_per_s"],
                        "memory": result["mb_per_million_ngrams"]["set"] / result["mb_per_million_ngrams"]["ours"]}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
