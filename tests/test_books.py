"""Books: the .txt reader and its bad inputs, Gutenberg boilerplate removal, title/author, the book filters, and
books.yaml end to end. Real texts: samples/books (a Gutenberg e-book with its header and licence, Shakespeare,
Milton, the King James Bible)."""

from __future__ import annotations

import json
import re
import shutil
import sysconfig
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner
from datatrove.data import Document

from curate import schema
from curate.cli import main
from curate.inspect import connect
from curate.io import RunLayout
from curate.signals.books import strip_gutenberg, title_author
from curate.steps.filters.book_quality import BookQuality
from curate.steps.readers.books_reader import BooksTxtReader
from curate.steps.transforms.gutenberg_strip import GutenbergStrip

ROOT = Path(__file__).resolve().parents[1]
BOOKS = ROOT / "samples" / "books"


def text_of(name: str) -> str:
    return (BOOKS / name).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")


def run_step(cls, tmp_path, docs, **params):
    layout = RunLayout(tmp_path, docs_schema=schema.run_schema([(cls.name, cls.signals)]))
    kept = list(cls(cls.Params(**params), layout, stage="t", index=1).run(iter(docs)))
    files = list((tmp_path / "rejects").glob("*.parquet"))
    rejected = pq.read_table(files[0]).to_pylist() if files else []
    return kept, {r["id"]: r["reason"] for r in rejected}


def test_gutenberg_header_footer_removed_and_counted():
    raw = text_of("botchan.txt")
    s = strip_gutenberg(raw)
    assert (s.title, s.author, s.language) == ("Botchan (Master Darling)", "Kin-nosuke Natsume", "English")
    assert s.text.startswith("BOTCHAN (MASTER DARLING)\nBy The Late Mr. Kin-nosuke Natsume")  # credit line gone too
    assert "Gutenberg" not in s.text and "Produced by" not in s.text
    assert raw[: s.header_chars].rstrip().endswith("Online Distributed Proofreading Team")
    assert raw[len(raw) - s.footer_chars :].startswith("End of Project Gutenberg's Botchan")
    assert len(raw) - len(s.text) == s.header_chars + s.footer_chars and s.notes_chars == 0


def test_transcribers_note_removed_only_in_gutenberg_books():
    note = "[Transcriber's Note: Obvious printer errors have been corrected.\nThe spelling of the original is kept.]\n"
    raw = text_of("botchan.txt").replace("A NOTE BY THE TRANSLATOR\n", "A NOTE BY THE TRANSLATOR\n" + note, 1)
    s = strip_gutenberg(raw)
    assert (
        s.notes_chars == len(note) and "Transcriber" not in s.text and "A NOTE BY THE TRANSLATOR\nNo transl" in s.text
    )
    plain = note + text_of("hamlet.txt")  # no Gutenberg markers: left exactly as it is
    assert strip_gutenberg(plain) == (plain, 0, 0, 0, None, None, None)


def test_title_and_author_from_the_first_lines():
    assert title_author(text_of("hamlet.txt")) == ("HAMLET, PRINCE OF DENMARK", "William Shakespeare")
    assert title_author(text_of("macbeth_first_folio.txt")) == ("The Tragedie of Macbeth", None)
    assert title_author(text_of("kjv_genesis_exodus.txt")) == ("The Book of Genesis", None)


def test_strip_step_keeps_a_book_without_boilerplate_untouched(tmp_path):
    hamlet = text_of("hamlet.txt")
    docs = [
        Document(text=hamlet, id="hamlet", metadata={}),
        Document(text=text_of("botchan.txt"), id="botchan", metadata={}),
    ]
    kept, rejected = run_step(GutenbergStrip, tmp_path, docs)
    assert rejected == {} and kept[0].text == hamlet and kept[0].metadata["gutenberg__chars_removed"] == 0
    assert kept[0].metadata["title"] == "HAMLET, PRINCE OF DENMARK"
    assert kept[1].metadata["gutenberg__chars_removed"] > 19_000 and kept[1].metadata["author"] == "Kin-nosuke Natsume"


def test_only_boilerplate_is_dropped(tmp_path):
    raw = text_of("botchan.txt")
    s = strip_gutenberg(raw)
    shell = raw[: s.header_chars] + "\n" + raw[len(raw) - s.footer_chars :]  # the e-book with its story taken out
    kept, rejected = run_step(GutenbergStrip, tmp_path, [Document(text=shell, id="shell", metadata={})])
    assert kept == [] and rejected == {"shell": "gutenberg_only_boilerplate"}


def ocr_damage(text: str, every: int) -> str:
    """What broken OCR does to a page: letters read as digits (l->1, o->0, e->3) in every `every`-th word."""
    table = str.maketrans({"l": "1", "o": "0", "e": "3"})
    words = text.split(" ")
    return " ".join(w.translate(table) if i % every == 0 and len(w) > 3 else w for i, w in enumerate(words))


def test_each_book_filter_drops_a_damaged_real_text(tmp_path):
    sonnets = text_of("sonnets.txt")
    misdecoded = sonnets.encode("utf-16-le").decode("utf-8", errors="replace")  # UTF-16 read as UTF-8 upstream
    docs = [
        Document(text=" ".join(sonnets.split()[:150]), id="fragment", metadata={}),
        Document(text=misdecoded, id="misdecoded", metadata={}),
        Document(text=ocr_damage(sonnets, 5), id="ocr", metadata={}),
        Document(text=ocr_damage(sonnets, 500), id="light_ocr", metadata={}),  # a few errors: still a book
        Document(text=sonnets, id="sonnets", metadata={}),
    ]
    kept, rejected = run_step(BookQuality, tmp_path, docs)
    assert rejected == {"fragment": "book_too_short", "misdecoded": "book_bad_chars", "ocr": "book_ocr_garbage"}
    assert [d.id for d in kept] == ["light_ocr", "sonnets"]
    assert kept[1].metadata["book__garbage_frac"] < 0.001 and kept[1].metadata["book__words"] > 17_000


def read_books(tmp_path, paths):
    layout = RunLayout(
        tmp_path / "run", docs_schema=schema.run_schema([(BooksTxtReader.name, BooksTxtReader.signals)])
    )
    docs = list(BooksTxtReader(BooksTxtReader.Params(), layout, "t", 0, [str(p) for p in paths], "books").run())
    counts: Counter = Counter()
    for f in (layout.work / "stats" / "t").glob("*.parquet"):
        for row in pq.read_table(f).to_pylist():
            counts[row["metric"]] += row["value"]
    return docs, counts


def test_reader_decodes_and_counts_bad_books(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(BOOKS / "botchan.txt", d / "botchan.txt")  # UTF-8 BOM, CRLF
    latin = text_of("hamlet.txt").replace("Denmark", "Dänemark")
    (d / "latin1.txt").write_bytes(("Character set encoding: ISO-8859-1\n\n" + latin).encode("latin-1"))
    (d / "utf16.txt").write_bytes(text_of("sonnets.txt").encode("utf-16"))
    icon = Path(sysconfig.get_paths()["stdlib"]) / "idlelib" / "Icons" / "idle_16.png"
    shutil.copy(icon, d / "scan.txt")  # binary bytes in a .txt
    (d / "empty.txt").write_text("\n \n")
    shutil.copy(BOOKS / "books.jsonl", d / "books.jsonl")  # not a .txt
    docs, counts = read_books(tmp_path, sorted(d.iterdir()))
    by_id = {doc.id: doc for doc in docs}
    assert sorted(by_id) == ["in/botchan.txt", "in/latin1.txt", "in/utf16.txt"]
    assert "\r" not in by_id["in/botchan.txt"].text and not by_id["in/botchan.txt"].text.startswith("\ufeff")
    assert (
        "Dänemark" in by_id["in/latin1.txt"].text and by_id["in/latin1.txt"].metadata["book__encoding"] == "iso8859-1"
    )
    assert by_id["in/utf16.txt"].text == text_of("sonnets.txt")
    assert counts["error_binary"] == 1 and counts["skipped_empty_book"] == 1 and counts["skipped_not_txt"] == 1


def test_books_pipeline_end_to_end(tmp_path):
    copies = tmp_path / "second_edition"
    copies.mkdir()
    shutil.copy(BOOKS / "macbeth.txt", copies / "macbeth.txt")  # the same edition again
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(ROOT / "pipelines" / "books.yaml"),
            "-o",
            str(out),
            "-i",
            str(BOOKS / "*.txt"),
            "-i",
            str(copies / "*.txt"),
        ],
    )
    assert result.exit_code == 0, result.output
    con = connect([out])
    n_books = len(list(BOOKS.glob("*.txt")))
    assert con.execute("SELECT count(*), count(DISTINCT source), any_value(source) FROM docs").fetchone() == (
        n_books,
        1,
        "books",
    )
    [(dropped, reason, kept)] = con.execute("SELECT id, reason, duplicate_of FROM rejects").fetchall()
    assert reason == "exact_duplicate" and {dropped, kept} == {"second_edition/macbeth.txt", "books/macbeth.txt"}
    row = con.execute("""SELECT title, author, gutenberg__chars_removed,
                                gutenberg__header_chars + gutenberg__footer_chars,
                                lang FROM docs WHERE id = 'books/botchan.txt'""").fetchone()
    assert (
        row[:2] == ("Botchan (Master Darling)", "Kin-nosuke Natsume") and row[2] == row[3] > 19_000 and row[4] == "en"
    )
    untouched = con.execute("SELECT count(*) FROM docs WHERE gutenberg__chars_removed = 0").fetchone()[0]
    assert untouched == n_books - 1
    assert con.execute("SELECT count(*) FROM docs WHERE text LIKE '%PROJECT GUTENBERG%'").fetchone() == (0,)


def test_jsonl_books_get_the_same_treatment(tmp_path):
    pipeline = tmp_path / "books_jsonl.yaml"
    spec = re.sub(
        r"reader: books_txt_v1\n  paths: \[.*\]",
        f"reader: jsonl_v1\n  paths: [{BOOKS / 'books.jsonl'}]",
        (ROOT / "pipelines" / "books.yaml").read_text(),
    )
    pipeline.write_text(spec)
    result = CliRunner().invoke(main, ["run", str(pipeline), "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = (
        connect([tmp_path / "run"])
        .execute("SELECT id, title, gutenberg__chars_removed > 0 FROM docs ORDER BY id")
        .fetchall()
    )
    expected = {json.loads(line)["id"] for line in (BOOKS / "books.jsonl").read_text().splitlines()}
    assert {r[0] for r in rows} == expected
    # the rows' own title fields win over what the text says (MACBETH in the play's first lines)
    assert ("books/botchan", "Botchan (Master Darling)", True) in rows and ("books/macbeth", "Macbeth", False) in rows
    authors = dict(connect([tmp_path / "run"]).execute("SELECT id, author FROM docs").fetchall())
    assert authors["books/sonnets"] == "William Shakespeare"
