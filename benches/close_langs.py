"""Close languages: lid.176 alone (lang_fasttext_v1, the bundled model) vs lingua alone (lang_lingua_v1 rule: lingua)
vs the combined rule (lang_fasttext_v1 then lang_lingua_v1 as shipped), on real paragraphs of close languages built by
benches/build_close_langs.py (Debian handbook translations and the UDHR; da/no/nn/sv, pt/es/gl/ca, id/ms, hr/sr/bs,
cs/sk). Accuracy overall, per group, per source; cost per document of each (one core, after the detectors are built;
build times reported apart).

    python benches/build_close_langs.py --out /tmp/close-langs/paragraphs.jsonl
    python benches/close_langs.py /tmp/close-langs/paragraphs.jsonl --out benches/close_langs.json

"Ordinary" paragraphs, to check that the combined rule leaves other languages alone: the UDHR pages of the bundled
samples/web/sample.warc.gz in languages outside the close groups that both lid.176 and lingua know (ISO 639-1 code
in the sample's index), at most 30 paragraphs of 12-120 words each, extracted as the web pipeline does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(step, texts: list[str], lid: list[tuple] | None = None) -> tuple[list[tuple], float]:
    """[(lang, score, rule)] of ``step`` on ``texts`` (with lid.176's (lang, score) set first), seconds."""
    from datatrove.data import Document

    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    for d, prev in zip(docs, lid or [None] * len(docs)):
        if prev is not None:
            d.metadata["lang"], d.metadata["lang_score"] = prev[0], prev[1]
    t0 = time.perf_counter()
    for d in docs:
        step.apply(d)
    seconds = time.perf_counter() - t0
    return [(d.metadata.get("lang"), d.metadata.get("lang_score"), d.metadata.get("lang_rule")) for d in docs], seconds


def accuracy(rows: list[dict], preds: list[tuple]) -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for r, p in zip(rows, preds):
        for key in ("all", f"lang:{r['lang']}", f"source:{r['source']}"):
            out[key][0] += p[0] == r["lang"]
            out[key][1] += 1
    return {k: {"right": a, "of": n, "accuracy": round(a / n, 4)} for k, (a, n) in sorted(out.items())}


def ordinary_paragraphs(per_lang: int = 30) -> list[dict]:
    """UDHR paragraphs of the bundled web sample in languages outside the close groups, known to both models: per
    language, the page of its standard variety (the first whose title names no variety in parentheses: `Swahili`, not
    `Swahili (Chimwiini)`; `Tagalog`, not `Tagalog (Tagalog)` in Baybayin script), else the first page."""
    import csv
    import re

    from fasttext.FastText import _FastText
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text

    from curate.assets import asset_path
    from curate.signals.encoding import decode_html
    from curate.signals.langid import CLOSE_GROUPS
    from curate.steps.filters.lang_lingua import lingua_codes

    lid = {label.removeprefix("__label__") for label in _FastText(str(asset_path("lid.176.ftz"))).labels}

    warc = ROOT / "samples" / "web" / "sample.warc.gz"
    with open(warc.with_name("sample.index.csv")) as f:
        index = {r["url"]: r for r in csv.DictReader(f)}
    close = set().union(*CLOSE_GROUPS)
    pages = defaultdict(list)  # lang -> [(variety named, paragraphs)] in crawl order
    with open(warc, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            row = index.get(record.headers.get("WARC-Target-URI"))
            lang = row["lang"] if row else ""
            if not row or row["source"] != "udhr" or lang in close or lang not in lingua_codes() or lang not in lid:
                continue
            decoded = decode_html(record.reader.read(), record.http_charset)
            title = re.search(r"<title>([^<]*)", decoded.text) if decoded else None
            text = extract_plain_text(decoded.text, main_content=True) if decoded else ""
            paras = [" ".join(p.split()) for p in text.split("\n")]
            paras = [p for p in paras if 12 <= len(p.split()) <= 120][:per_lang]
            if paras:
                pages[lang].append(("(" in title.group(1) if title else True, paras))
    rows = []
    for lang, found in pages.items():
        paras = next((p for variety, p in found if not variety), found[0][1])
        rows += [{"text": p, "lang": lang, "source": "udhr-sample"} for p in paras]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paragraphs")
    ap.add_argument("--out", default=str(ROOT / "benches" / "close_langs.json"))
    ap.add_argument("--no-ordinary", action="store_true", help="skip the ordinary-language paragraphs")
    args = ap.parse_args()
    from curate.io import RunLayout
    from curate.steps.filters.lang_fasttext import LangFastText
    from curate.steps.filters.lang_lingua import LangLingua, detector

    rows = [json.loads(line) for line in Path(args.paragraphs).read_text().splitlines()]
    texts = [r["text"] for r in rows]
    layout = RunLayout(tempfile.mkdtemp())
    load0 = os.getloadavg()
    lid_step = LangFastText(LangFastText.Params(min_score=0), layout, "b", 1)
    lid_step.setup()
    combined = LangLingua(LangLingua.Params(), layout, "b", 2)
    alone = LangLingua(LangLingua.Params(rule="lingua"), layout, "b", 3)
    combined.setup()
    alone.setup()
    t0 = time.perf_counter()
    detector(None)
    build_all = time.perf_counter() - t0
    lid, t_lid = run(lid_step, texts)
    run(alone, texts[:50])  # warm-up: lingua loads each language's models on first use
    ling, t_ling = run(alone, texts)
    run(combined, texts[:50], lid[:50])
    comb, t_comb = run(combined, texts, lid)
    n = len(texts)
    rules = defaultdict(int)
    for p in comb:
        rules[p[2]] += 1
    result = {
        "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, one used", "loadavg_before": load0,
        "paragraphs": n, "sources": sorted({r["source"] for r in rows}),
        "accuracy": {"lid176": accuracy(rows, lid), "lingua": accuracy(rows, ling), "combined": accuracy(rows, comb)},
        "ms_per_doc": {"lid176": 1000 * t_lid / n, "lingua": 1000 * t_ling / n,
                       "combined_lingua_step_only": 1000 * t_comb / n, "combined_total": 1000 * (t_lid + t_comb) / n},
        "lingua_all_languages_build_seconds_lazy": build_all,
        "combined_rules": dict(rules),
        "loadavg_after": os.getloadavg(),
    }
    if not args.no_ordinary:
        rows_o = ordinary_paragraphs()
        texts_o = [r["text"] for r in rows_o]
        lid_o, _ = run(lid_step, texts_o)
        ling_o, _ = run(alone, texts_o)
        comb_o, _ = run(combined, texts_o, lid_o)
        result["ordinary"] = {"paragraphs": len(rows_o), "languages": len({r["lang"] for r in rows_o}),
                              "accuracy": {"lid176": accuracy(rows_o, lid_o), "lingua": accuracy(rows_o, ling_o),
                                           "combined": accuracy(rows_o, comb_o)}}  # fmt: skip
        for k in ("lid176", "lingua", "combined"):
            a = result["ordinary"]["accuracy"][k]["all"]
            print(f"ordinary {k:<10} {a['right']:>5} / {a['of']} = {a['accuracy']:.3f}")
    Path(args.out).write_text(json.dumps(result, indent=1))
    for k in ("lid176", "lingua", "combined"):
        a = result["accuracy"][k]["all"]
        print(f"{k:<10} {a['right']:>5} / {a['of']} = {a['accuracy']:.3f}   {result['ms_per_doc'].get(k, result['ms_per_doc']['combined_total']):.2f} ms/doc")
    print(json.dumps(result["ms_per_doc"]), dict(rules))


if __name__ == "__main__":
    main()
