"""Side by side on one core: curate's quality steps vs datatrove's filters (docs/s, agreement) on real English pages.

    python benches/quality_filters.py                                   # the committed sample (219 English pages)
    python benches/quality_filters.py --warc /tmp/bench/web-6000.warc.gz --limit 500
    # (build that one with: python samples/build_web_sample.py --pages 6000 --out /tmp/bench/web-6000.warc.gz)

Pages are read and extracted as the web pipeline does (charset sniffing, resiliparse main content), then kept if the
WARC's index (``<warc>.index.csv``, from the sample builder) says their text is English. Each step runs alone on
fresh copies of the documents, then all four in FineWeb's order (repetition, quality, C4, FineWeb) as one pipeline,
where datatrove reuses spaCy's tokens between filters (its ``split_into_words`` keeps the last 5 texts).
Times are CPU seconds of this process, pinned to one core.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)

from curate import schema
from curate.io import RunLayout
from curate.steps.filters.c4_quality import C4Quality
from curate.steps.filters.fineweb_quality import FineWebQuality
from curate.steps.filters.gopher_quality import GopherQuality
from curate.steps.filters.gopher_repetition import GopherRepetition

REPO = Path(__file__).resolve().parents[1]
PAIRS = [
    (GopherRepetition, GopherRepetitionFilter),
    (GopherQuality, GopherQualityFilter),
    (C4Quality, C4QualityFilter),
    (FineWebQuality, FineWebQualityFilter),
]


def english_pages(warc: Path, limit: int) -> list[tuple[str, str]]:
    """(url, extracted text) of the WARC's HTML pages whose index row says lang = en, in WARC order."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text

    from curate.signals.encoding import decode_html

    index = warc.with_name(warc.name.replace(".warc.gz", ".index.csv"))
    langs = None
    if index.exists():
        with open(index) as f:
            langs = {r["url"]: r["lang"] for r in csv.DictReader(f)}
    pages = []
    with open(warc, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            url = record.headers.get("WARC-Target-URI")
            if langs is not None and langs.get(url) != "en":
                continue
            decoded = decode_html(record.reader.read(), record.http_charset)
            text = extract_plain_text(decoded.text, main_content=True) if decoded else ""
            if text.strip():
                pages.append((url, text))
            if len(pages) >= limit:
                break
    return pages


def our_step(cls, root: str):
    layout = RunLayout(root, docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    step = cls(cls.Params(), layout, stage="bench", index=1)
    step.setup()
    return step


def time_ours(step, pages) -> tuple[float, set[str]]:
    docs = [Document(text=t, id=u, metadata={"lang": "en"}) for u, t in pages]
    t0 = time.process_time()
    kept = {d.id for d in docs if step.apply(d) is None}
    return time.process_time() - t0, kept


def time_theirs(flt, pages) -> tuple[float, set[str]]:
    docs = [Document(text=t, id=u) for u, t in pages]
    t0 = time.process_time()
    kept = {d.id for d in docs if flt.filter(d) is True}
    return time.process_time() - t0, kept


def chain(pages, ours: bool, root: str) -> tuple[float, int]:
    """All four as one pipeline, one document at a time."""
    stages = [our_step(a, root) for a, _ in PAIRS] if ours else [b() for _, b in PAIRS]
    docs = [Document(text=t, id=u, metadata={"lang": "en"}) for u, t in pages]
    t0 = time.process_time()
    kept = 0
    for d in docs:
        if all((s.apply(d) is None) if ours else (s.filter(d) is True) for s in stages):
            kept += 1
    return time.process_time() - t0, kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warc", type=Path, default=REPO / "samples" / "web" / "sample.warc.gz")
    ap.add_argument("--limit", type=int, default=500, help="at most this many English pages")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here (benches/quality_filters.json)")
    args = ap.parse_args()
    load_before, rows = os.getloadavg(), []
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pages = english_pages(args.warc, args.limit)
    print(f"{len(pages)} English pages from {args.warc.name}, {sum(len(t) for _, t in pages) / 1e6:.1f} M characters")
    GopherQualityFilter().filter(Document(text="warm up spaCy", id="0"))  # load spaCy outside the timings
    root = tempfile.mkdtemp()
    print(f"{'step':24} {'ours docs/s':>12} {'datatrove docs/s':>17} {'speed-up':>9} {'agree':>7}")
    for ours, theirs in PAIRS:
        t_ours, k_ours = time_ours(our_step(ours, root), pages)
        t_theirs, k_theirs = time_theirs(theirs(), pages)
        agree = sum((u in k_ours) == (u in k_theirs) for u, _ in pages) / len(pages)
        n = len(pages)
        print(f"{ours.name:24} {n / t_ours:12.0f} {n / t_theirs:17.0f} {t_theirs / t_ours:8.1f}x {agree:7.1%}")
        rows.append({"step": ours.name, "ours_docs_per_s": n / t_ours, "datatrove_docs_per_s": n / t_theirs,
                     "speed_up": t_theirs / t_ours, "agreement": agree, "kept_ours": len(k_ours),
                     "kept_datatrove": len(k_theirs)})  # fmt: skip
    t_ours, k_ours = chain(pages, True, root)
    t_theirs, k_theirs = chain(pages, False, root)
    n = len(pages)
    print(f"{'all four, one pipeline':24} {n / t_ours:12.0f} {n / t_theirs:17.0f} {t_theirs / t_ours:8.1f}x")
    print(f"kept by all four: ours {k_ours}, datatrove {k_theirs}")
    if args.json:
        import datetime
        import json
        import platform
        import sys

        rows.append({"step": "all four, one pipeline", "ours_docs_per_s": n / t_ours,
                     "datatrove_docs_per_s": n / t_theirs, "speed_up": t_theirs / t_ours,
                     "kept_ours": str(k_ours), "kept_datatrove": str(k_theirs)})  # fmt: skip
        args.json.write_text(json.dumps({
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "load_before": load_before, "load_after": os.getloadavg(), "pages": n, "warc": str(args.warc),
            "rows": rows,
        }, indent=1) + "\n")  # fmt: skip
        print(f"raw results: {args.json}")


if __name__ == "__main__":
    main()
