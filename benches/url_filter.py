"""url_filter_v1 against datatrove 0.10.1's URLFilter, side by side, on the same real block lists.

Lists: the block lists datatrove ships in its wheel (``datatrove/assets/url_filterblacklistsv0_3_0.tar.gz``: a
``domains`` file of ~5M adult domains and a ``urls`` file, from UT1), laid out here as UT1 category ``adult``, and
datatrove's ``banned_words.txt``; plus the small lists of tests/test_url_filter.py (``udhr``: ohchr.org; ``pydoc``:
docs.python.org/3.11/library/; banned word ``docutils``). Documents: the sample WARC's 675 real URLs, plus URLs on
listed domains (every 5,000th domain, as ``https://www.<domain>/index.html`` and ``https://m.<domain>/a/b``) and
every 500th listed URL. The baseline gets the same lists (its integrated lists are these files) and datatrove's
banned / soft-banned words and subwords as it ships them; tldextract runs offline (``suffix_list_urls=()``).

    python benches/url_filter.py --out benches/url_filter.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6


def build_lists(work: Path) -> tuple[Path, list[str]]:
    from datatrove.utils._import_utils import ASSETS_PATH

    ut1 = work / "ut1"
    (ut1 / "adult").mkdir(parents=True)
    with tarfile.open(Path(ASSETS_PATH) / "url_filterblacklistsv0_3_0.tar.gz") as t:
        t.extractall(ut1 / "adult", filter="data")
    (ut1 / "udhr").mkdir()
    (ut1 / "udhr" / "domains").write_text("ohchr.org\n")
    (ut1 / "pydoc").mkdir()
    (ut1 / "pydoc" / "urls").write_text("docs.python.org/3.11/library/\n")
    words = [w.strip() for w in (Path(ASSETS_PATH) / "banned_words.txt").read_text().splitlines() if w.strip()]
    return ut1, words + ["docutils"]


def documents(ut1: Path) -> list[str]:
    with open(ROOT / "samples" / "web" / "sample.index.csv") as f:
        urls = [r["url"] for r in csv.DictReader(f)]
    domains = (ut1 / "adult" / "domains").read_text().splitlines()[::5000]
    urls += [u for d in domains for u in (f"https://www.{d}/index.html", f"https://m.{d}/a/b")]
    urls += ["http://" + u for u in (ut1 / "adult" / "urls").read_text().splitlines()[::500]]
    return urls


def ours(ut1: Path, words: list[str], urls: list[str]) -> dict:
    from datatrove.data import Document

    from curate.io import RunLayout
    from curate.steps.filters.url_filter import URLFilter

    m0, t0 = rss_mb(), time.perf_counter()
    step = URLFilter(URLFilter.Params(blocklists=[str(ut1)], banned_words=words), RunLayout(tempfile.mkdtemp()),
                     "b", 1)
    step.setup()
    load, mem = time.perf_counter() - t0, rss_mb() - m0
    docs = [Document(text="", id=str(i), metadata={"url": u}) for i, u in enumerate(urls)]
    t0 = time.perf_counter()
    verdicts = [step.apply(d) for d in docs]
    seconds = time.perf_counter() - t0
    cats = Counter(d.metadata.get("url__category") for d, v in zip(docs, verdicts) if v)
    return {"load_seconds": load, "lists_rss_mb": mem, "docs_per_s": len(urls) / seconds,
            "removed": sum(v is not None for v in verdicts), "removed_by_category": dict(cats)}


def baseline(ut1: Path, urls: list[str]) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.filters.url_filter import URLFilter
    from tldextract import TLDExtract

    m0, t0 = rss_mb(), time.perf_counter()
    f = URLFilter(extra_domains=["ohchr.org"], extra_urls=["docs.python.org/3.11/library/"],
                  banned_words=["docutils"])
    f.tldextractor = TLDExtract(suffix_list_urls=())  # offline: the snapshot bundled with tldextract
    f.download_data()  # extracts the same tarball into the HF assets cache (no network)
    load, mem = time.perf_counter() - t0, rss_mb() - m0
    docs = [Document(text="", id=str(i), metadata={"url": u}) for i, u in enumerate(urls)]
    t0 = time.perf_counter()
    results = [f.filter(d) for d in docs]
    seconds = time.perf_counter() - t0
    reasons = Counter(r[1] for r in results if r is not True)
    return {"load_seconds": load, "lists_rss_mb": mem, "docs_per_s": len(urls) / seconds,
            "removed": sum(r is not True for r in results), "removed_by_reason": dict(reasons)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benches" / "url_filter.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    ut1, words = build_lists(work)
    urls = documents(ut1)
    load0 = os.getloadavg()
    a = ours(ut1, words, urls)
    b = baseline(ut1, urls)
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{os.cpu_count()} cores", "loadavg_before": load0, "loadavg_after": os.getloadavg(),
              "documents": len(urls), "curate_url_filter_v1": a, "datatrove_URLFilter": b,
              "ratio_docs_per_s": a["docs_per_s"] / b["docs_per_s"]}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
