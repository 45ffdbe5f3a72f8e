"""Benchmark: `pipelines/web.yaml` against a hand-written datatrove FineWeb-style pipeline, same input, one core each.

    python benches/web_pipeline.py                       # builds /tmp/bench/web-6000.warc.gz if missing
    python benches/web_pipeline.py --warc my.warc.gz --pages-for-quality 400
    git worktree add /tmp/before <commit>              # then: this code against that commit, in the same run
    python benches/web_pipeline.py --warc /tmp/web-1000.warc.gz --before /tmp/before --repeats 3 --no-quality

All run in a fresh process pinned to the same single CPU (OMP_NUM_THREADS=1) with a one-task local executor:
  ours          pipelines/web.yaml as shipped: warc_v1 -> html_extract_v1 (resiliparse) -> lang_fasttext_v1 ->
                identity terms, toxicity -> Gopher x2, C4, FineWeb -> blocklist -> exact_dedup_v1 -> PII -> Parquet
  ours + traf.  the same with `--set steps.html_extract_v1.extractor=trafilatura`: the pipeline without its extractor
  baseline      WarcReader -> Trafilatura() -> LanguageFilter(0.65, all languages) -> GopherRepetitionFilter ->
                GopherQualityFilter -> C4QualityFilter -> FineWebQualityFilter -> ParquetWriter   (no dedup)
The baseline's steps run with datatrove's documented defaults (Trafilatura: favour_precision=True, timeout=1,
deduplicate=True, as FineWeb ran it); its LanguageFilter is given the same lid.176 model file (it would otherwise
download lid.176.bin). Throughput is input pages (response records) and input MB per second of wall time; the ratios
are what to read. ``--json`` writes every figure with the command, machine, date and load average.

``--repeats N`` runs each side N times in rounds (this checkout, the --before one in alternating order, then the
datatrove baseline: its own time moved from 43 to 57 CPU s between two runs on a quiet machine), and reports the
median ratio and each round's ratio.

``--before DIR`` also runs web.yaml from another checkout (a baseline commit: its own pipelines/web.yaml and curate/,
PYTHONPATH=DIR), ``--repeats`` times each, alternating the order with this checkout's runs. For both it reports
each step's seconds per 1,000 pages from the run's stats.parquet (``seconds``: setup and the step's own work, not the
writers), the rest of the process (start-up, imports, Parquet and rejects writing) as wall minus the steps, and the
same decisions check: the kept ids and each rejected id's step and reason, equal or listed.

Extraction quality: on pages of the three sites in the WARC whose main content sits in a known element (Sphinx
`div[@role='main']` on docs.python.org, the outer `div.section`/`div.chapter` of the Debian handbook, the `<body>` of
UDHR pages), each extractor's text is compared with that element's text: bag-of-tokens precision, recall and F1.
Ours is scored through ``html_extract_v1`` itself (the step's own extraction call and defaults); trafilatura twice:
with its own documented defaults (``trafilatura.extract(html)``) and as datatrove's ``Trafilatura()`` calls it
(favor_precision=True, include_comments=False, deduplicate=True, pages in crawl order in one process).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from _checkout import bytecode  # benches/ is the script's folder, so first on sys.path

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = """
import json, resource, sys, time
t0 = time.perf_counter()
{body}
wall = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
rss = max(me.ru_maxrss, kids.ru_maxrss)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # less sensitive than wall time to other jobs
print("BENCH " + json.dumps({{"wall": wall, "cpu": cpu, "peak_rss_mb": rss / 1024}}))
"""

OURS = """
import sys
sys.path.insert(0, {root!r})
from curate.cli import main
try:
    main(["run", "pipelines/web.yaml", "-i", {warc!r}, "-o", {out!r}, "--force",
          "--set", "executor.tasks=1", "--set", "executor.workers=1", *{extra!r}], standalone_mode=False)
except SystemExit:
    pass
"""

BASELINE = """
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (LanguageFilter, GopherRepetitionFilter, GopherQualityFilter,
                                        C4QualityFilter, FineWebQualityFilter)
from datatrove.pipeline.writers import ParquetWriter
from datatrove.utils.lid import FT176LID
from fasttext.FastText import _FastText
from curate.assets import asset_path


class LocalFT176(FT176LID):  # the same lid.176 model file as ours, loaded lazily in the task (no download)
    @property
    def model(self):
        if self._model is None:
            self._model = _FastText(str(asset_path("lid.176.ftz")))
        return self._model


lang = LanguageFilter(languages=None, language_threshold=0.65)
lang.model = LocalFT176(None)
pipeline = [
    WarcReader({folder!r}, glob_pattern={name!r}),
    Trafilatura(),  # datatrove's defaults: favour_precision=True, timeout=1, deduplicate=True
    lang,
    GopherRepetitionFilter(),
    GopherQualityFilter(),
    C4QualityFilter(filter_no_terminal_punct=False),
    FineWebQualityFilter(),
    ParquetWriter({out!r}),
]
LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir={logs!r}, skip_completed=False).run()
"""


def run_pinned(code: str, cpu: int, cwd: Path = ROOT) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(cwd)}
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCH.format(body=code)], cwd=cwd, env=env, capture_output=True, text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}), check=False,
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")]
    if proc.returncode or not line:
        raise SystemExit(f"benchmark run failed:\n{proc.stderr[-4000:]}")
    return json.loads(line[0][6:])


def count_pages(warc: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(warc, "rb") as f:
        return sum(1 for _ in ArchiveIterator(f, record_types=WarcRecordType.response))


def kept_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.rglob("*.parquet"))


# -- extraction quality ------------------------------------------------------------------------------------------
GOLD_XPATH = {
    "docs.python.org": "//div[@role='main']",
    "debian-handbook.info": "(//div[contains(concat(' ', @class, ' '), ' section ') or "
    "contains(concat(' ', @class, ' '), ' chapter ')])[1]",
    "www.ohchr.org": "//body",
}
TOKEN = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def tokens(text: str) -> Counter:
    out = Counter()
    for tok in TOKEN.findall(text.lower()):
        out.update(CJK.findall(tok) if CJK.search(tok) else [tok])
    return out


def prf(pred: Counter, gold: Counter) -> tuple[float, float, float]:
    hit = sum((pred & gold).values())
    p = hit / max(sum(pred.values()), 1)
    r = hit / max(sum(gold.values()), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def extraction_quality(warc: Path, limit: int) -> dict:
    import lxml.html
    import trafilatura
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    from curate.io import RunLayout
    from curate.signals.encoding import decode_html
    from curate.steps.extract.html_extract import HtmlExtract

    def shipped(extractor: str):
        step = HtmlExtract(HtmlExtract.Params(extractor=extractor), RunLayout("/tmp/unused"), "bench", 0)
        step.setup()
        return step._extract

    extractors = {
        "resiliparse, html_extract_v1 as shipped": shipped("resiliparse"),
        "trafilatura, its own defaults": lambda html: trafilatura.extract(html),
        "trafilatura, datatrove Trafilatura() defaults": lambda html: trafilatura.extract(
            html, favor_precision=True, include_comments=False, deduplicate=True
        ),
        "trafilatura, html_extract_v1 extractor=trafilatura": shipped("trafilatura"),
    }
    scores = {name: [] for name in extractors}
    per_site = Counter()
    with open(warc, "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.response):
            url = rec.headers.get("WARC-Target-URI") or ""
            host = url.split("/")[2] if "://" in url else ""
            if host not in GOLD_XPATH or per_site[host] >= limit // len(GOLD_XPATH):
                continue
            raw = rec.reader.read()
            if b"<html" not in raw[:4096].lower():
                continue
            ctype = (rec.http_headers.get("Content-Type") if rec.http_headers else None) or ""
            charset = re.search(r"charset=([^;\s]+)", ctype)
            decoded = decode_html(raw, charset.group(1) if charset else None)
            if decoded is None:
                continue
            html = decoded.text
            try:
                nodes = lxml.html.fromstring(html.encode("utf-8")).xpath(GOLD_XPATH[host])
            except Exception:  # noqa: BLE001, S112 - unparsable page: not part of the comparison
                continue
            if not nodes:
                continue
            gold = tokens(nodes[0].text_content())
            if sum(gold.values()) < 20:
                continue
            per_site[host] += 1
            for name, extract in extractors.items():
                scores[name].append(prf(tokens(extract(html) or ""), gold))
    out = {"pages": dict(per_site)}
    for name, vals in scores.items():
        n = max(len(vals), 1)
        out[name] = {k: round(sum(v[i] for v in vals) / n, 3) for i, k in enumerate(("precision", "recall", "f1"))}
    return out


def step_seconds(run: Path, pages: int) -> dict[str, float]:
    """Each step's ``seconds`` in the run's stats.parquet (all stages and tasks), per 1,000 input pages."""
    import duckdb

    rows = duckdb.connect().execute(
        f"SELECT step, sum(value) FROM '{run / 'stats.parquet'}' WHERE metric = 'seconds' GROUP BY step"
    ).fetchall()
    return {step: round(1000 * s / pages, 3) for step, s in rows}


def decisions(run: Path) -> tuple[set, dict]:
    """(kept document ids, rejected id -> (step, reason)) of a curate run."""
    import pyarrow.parquet as pq

    kept = {i for p in sorted((run / "docs").glob("*.parquet")) for i in pq.read_table(p, columns=["id"])["id"].to_pylist()}
    rejected = {}
    for p in sorted((run / "rejects").glob("*.parquet")):
        t = pq.read_table(p, columns=["id", "step", "reason"]).to_pylist()
        rejected.update({r["id"]: (r["step"], r["reason"]) for r in t})
    return kept, rejected


def same_decisions(ours: Path, before: Path) -> dict:
    """Kept ids and (step, reason) of every rejected id, this checkout against the baseline's: equal, or listed."""
    k1, r1 = decisions(ours)
    k2, r2 = decisions(before)
    diff = [{"id": i, "now": r1.get(i, "kept" if i in k1 else None), "before": r2.get(i, "kept" if i in k2 else None)}
            for i in sorted(k1 | k2 | r1.keys() | r2.keys()) if (i in k1, r1.get(i)) != (i in k2, r2.get(i))]  # fmt: skip
    return {"kept_now": len(k1), "kept_before": len(k2), "rejected_now": len(r1), "rejected_before": len(r2),
            "identical": not diff, "differences": diff}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warc", default="/tmp/bench/web-6000.warc.gz")
    ap.add_argument("--pages", type=int, default=6000, help="pages of the WARC built when --warc is missing")
    ap.add_argument("--work", default="/tmp/bench/web-pipeline")
    ap.add_argument("--cpu", type=int, default=0, help="the CPU every run is pinned to")
    ap.add_argument("--pages-for-quality", type=int, default=600)
    ap.add_argument("--json", default=None, help="write every figure here (benches/web_pipeline.json is committed)")
    ap.add_argument("--no-quality", action="store_true", help="throughput only")
    ap.add_argument("--before", default=None, help="a checkout of the baseline commit: its web.yaml run side by side")
    ap.add_argument("--repeats", type=int, default=1, help="runs of web.yaml (and --before), order alternating")
    ap.add_argument("--no-trafilatura", action="store_true", help="skip web.yaml with extractor=trafilatura")
    args = ap.parse_args()
    warc, work = Path(args.warc), Path(args.work)
    if not warc.exists():
        subprocess.run([sys.executable, "samples/build_web_sample.py", "--pages", str(args.pages), "--out", str(warc)],
                       cwd=ROOT, check=True)
    pages, mb = count_pages(warc), warc.stat().st_size / 1e6
    print(f"input: {warc} ({pages:,} response records, {mb:.1f} MB)")
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "date": _now(), "machine": _machine(),
              "input": {"warc": str(warc), "response_records": pages, "mb": round(mb, 2)}, "throughput": {}}
    checkouts = {"curate web.yaml": ROOT}
    if args.before:
        checkouts["curate web.yaml, before"] = Path(args.before).resolve()
    for checkout in checkouts.values():
        bytecode(checkout)
    runs = []  # (name, folder of its output, code, cwd, round)
    for r in range(args.repeats):  # each round: this checkout, the --before one (order alternating), the baseline
        names = list(checkouts) if r % 2 == 0 else list(checkouts)[::-1]
        for name in names:
            out = work / f"{'before' if name.endswith('before') else 'ours'}-{r}"
            code = OURS.format(root=str(checkouts[name]), warc=str(warc), out=str(out), extra=[])
            runs.append((name, out, code, checkouts[name], r))
        base = work / f"baseline-{r}"  # the baseline's own time moves by a quarter from run to run: repeat it too
        runs.append(("datatrove FineWeb-style", base / "out", BASELINE.format(
            folder=str(warc.parent), name=warc.name, out=str(base / "out"), logs=str(base / "logs")), ROOT, r))
    if not args.no_trafilatura:
        out = work / "ours-traf"
        runs.append(("curate web.yaml, trafilatura", out, OURS.format(root=str(ROOT), warc=str(warc), out=str(out),
                     extra=["--set", "steps.html_extract_v1.extractor=trafilatura"]), ROOT, 0))  # fmt: skip
    print(f"\n{'pipeline (1 core)':<30}{'wall s':>9}{'CPU s':>8}{'pages/s':>10}{'MB/s':>8}{'kept':>8}{'peak RSS MB':>13}")
    for name, out, code, cwd, rnd in runs:
        load = os.getloadavg()
        r = run_pinned(code, args.cpu, cwd)
        kept_dir = out if name.startswith("datatrove") else out / "docs"
        r.update(kept=kept_rows(kept_dir), pages_per_s=pages / r["wall"], mb_per_s=mb / r["wall"],
                 load_before=load, load_after=os.getloadavg())  # fmt: skip
        if not name.startswith("datatrove"):
            r["step_seconds_per_1000_pages"] = step_seconds(out, pages)
            r["outside_steps_seconds_per_1000_pages"] = round(
                1000 * r["wall"] / pages - sum(r["step_seconds_per_1000_pages"].values()), 3
            )
        result.setdefault("runs", []).append({"name": name, "round": rnd, "output": str(out), **r})
        print(f"{name:<30}{r['wall']:>9.1f}{r['cpu']:>8.1f}{r['pages_per_s']:>10.1f}{r['mb_per_s']:>8.2f}{r['kept']:>8,}"
              f"{r['peak_rss_mb']:>13.0f}", flush=True)  # fmt: skip
    summarise(result, args.before is not None)
    if args.before:
        result["decisions"] = same_decisions(work / "ours-0", work / "before-0")
        d = result["decisions"]
        print(f"\nsame decisions as the baseline checkout: {d['identical']} (kept {d['kept_now']} vs {d['kept_before']}, "
              f"rejected {d['rejected_now']} vs {d['rejected_before']}, {len(d['differences'])} differences)")
    if not args.no_quality:
        t0 = time.perf_counter()
        q = extraction_quality(warc, args.pages_for_quality)
        result["extraction_quality"] = q
        print(f"\nextraction quality vs the known main-content element ({q['pages']}, {time.perf_counter() - t0:.0f} s):")
        for name, m in q.items():
            if name != "pages":
                print(f"  {name:<52} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"raw results: {args.json}")


def summarise(result: dict, before: bool) -> None:
    """Median wall and CPU seconds per pipeline, ratios to the datatrove baseline, and the per-step table."""
    import statistics

    by_name: dict[str, list] = {}
    for r in result["runs"]:
        by_name.setdefault(r["name"], []).append(r)
    t = result["throughput"]
    for name, rs in by_name.items():
        t[name] = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "peak_rss_mb", "kept")}
        if "step_seconds_per_1000_pages" in rs[0]:
            t[name]["step_seconds_per_1000_pages"] = {
                s: round(statistics.median(r["step_seconds_per_1000_pages"].get(s, 0.0) for r in rs), 3)
                for s in rs[0]["step_seconds_per_1000_pages"]
            }
    base = t["datatrove FineWeb-style"]
    result["ratios"] = {f"{n} vs datatrove": round(base["wall"] / v["wall"], 2) for n, v in t.items() if n != "datatrove FineWeb-style"}
    result["cpu_ratios"] = {f"{n} vs datatrove": round(base["cpu"] / v["cpu"], 2) for n, v in t.items() if n != "datatrove FineWeb-style"}
    print("\nratios (wall, medians): " + ", ".join(f"{k} {v:.2f}x" for k, v in result["ratios"].items()))
    print("ratios (CPU seconds, medians): " + ", ".join(f"{k} {v:.2f}x" for k, v in result["cpu_ratios"].items()))
    rounds = {}  # round -> name -> CPU seconds: each round's ratio pairs runs made minutes apart
    for r in result["runs"]:
        rounds.setdefault(r["round"], {})[r["name"]] = r["cpu"]
    paired = {}
    for per in rounds.values():
        if "datatrove FineWeb-style" in per:
            for n, cpu in per.items():
                if n != "datatrove FineWeb-style" and not n.endswith("trafilatura"):
                    paired.setdefault(f"{n} vs datatrove", []).append(round(per["datatrove FineWeb-style"] / cpu, 2))
    result["cpu_ratios_by_round"] = paired
    if any(len(v) > 1 for v in paired.values()):
        print("CPU ratio, round by round: " + "; ".join(f"{k} {', '.join(f'{x:.2f}x' for x in v)}"
                                                          for k, v in paired.items()))
    if before:
        now, then = t["curate web.yaml"], t["curate web.yaml, before"]
        print(f"\n{'step (s per 1,000 pages, median)':<34}{'before':>9}{'now':>9}")
        for s in then["step_seconds_per_1000_pages"]:
            print(f"{s:<34}{then['step_seconds_per_1000_pages'][s]:>9.2f}{now['step_seconds_per_1000_pages'].get(s, 0):>9.2f}")


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _machine() -> dict:
    import platform

    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": cpu}


if __name__ == "__main__":
    main()
