"""Signals rewritten to be linear in the text give what their plain definitions give.

Each fast signal is compared with a direct, slow transcription of its definition on small real texts, in the shapes
that made the old code quadratic: one long line, no white space at all, many hits. (benches/adversarial.py measures
the speed; tests never time anything.)"""

from __future__ import annotations

import re

import pytest
from conftest import SAMPLES

from curate.signals import books, pii

BOTCHAN = (SAMPLES / "books" / "botchan.txt").read_text(encoding="utf-8")[20_000:60_000]


def ocr_damaged(text: str) -> str:
    """Real prose with OCR-like damage every few hundred characters: digits in words, symbol runs, U+FFFD."""
    out, marks = [], ["0", "~#^", "\ufffd", "1", "@@@", "\x07"]
    for i, chunk in enumerate(re.findall(r"[\s\S]{1,97}", text)):
        cut = len(chunk) // 2
        out.append(chunk[:cut] + marks[i % len(marks)] + chunk[cut:])
    return "".join(out)


def shapes(text: str) -> dict[str, str]:
    return {
        "as is": text,
        "one line": text.replace("\n", " "),
        "tabs only": re.sub(r"\s+", "\t", text),
        "no white space": re.sub(r"\s+", "", text),
    }


def garbage_frac_by_definition(text: str) -> float:
    """The definition: distinct tokens (cut at space, newline, tab) holding a hit, over white-space words."""
    n = len(text.split())
    if not n:
        return 0.0

    def start(i):  # the token's first character: one past the last separator before i
        return max(text.rfind(" ", 0, i), text.rfind("\n", 0, i), text.rfind("\t", 0, i))

    hits = {start(m.start()) for m in books._BAD.finditer(text)} | {
        start(m.start()) for m in books._SYMBOLS.finditer(text)
    }
    for m in books._DIGITS.finditer(text):
        i, j = m.start(), m.end()
        if 0 < i and j < len(text) and text[i - 1].isalpha() and text[j].isalpha():
            hits.add(start(i))
    return min(len(hits) / n, 1.0)


@pytest.mark.parametrize("shape", ["as is", "one line", "tabs only", "no white space"])
def test_garbage_frac_matches_its_definition_on_long_lines(shape):
    for text in (shapes(ocr_damaged(BOTCHAN))[shape], shapes(BOTCHAN)[shape]):
        assert books.garbage_frac(text) == pytest.approx(garbage_frac_by_definition(text), abs=0)
    assert books.garbage_frac(shapes(ocr_damaged(BOTCHAN))[shape]) > 0  # the damage is seen in every shape


def drop_notes_by_definition(body: str) -> tuple[str, int]:
    """Transcriber's notes removed one at a time, rescanning the text after each cut."""
    removed = pos = 0
    while m := books._NOTE.search(body, pos):
        bracket = body[m.start() : m.end()].lstrip().startswith("[")
        end = body.find("]", m.end()) + 1 if bracket else 0
        if end > 0 and body[end : end + 1] == "\n":
            end += 1
        if end <= 0:
            blank = re.search(r"\n[ \t\r]*\n", body[m.end() :])
            end = m.end() + blank.end() if blank else len(body)
        if end - m.start() > books.MAX_NOTE_CHARS:
            pos = m.end()
            continue
        removed += end - m.start()
        body = body[: m.start()] + body[end:]
        pos = m.start()
    return body, removed


def test_transcribers_notes_removed_as_by_definition():
    lines = BOTCHAN.splitlines()
    paras = ["\n".join(lines[i : i + 8]) for i in range(0, len(lines), 8)]
    notes = [
        "[Transcriber's Note: obvious printer's errors have been corrected.]",
        "Transcriber's Notes\nThe spelling of the original is kept.",
        "[Transcriber's note: " + "a long list of changes " * 300 + "]",  # longer than MAX_NOTE_CHARS: kept
        "Transcribers Note: " + "x" * 6000,  # a paragraph too long to be a note: kept
        "[Transcriber's Note: never closed",
    ]
    body = "\n\n".join(p + ("\n\n" + notes[i % len(notes)] if i % 3 == 0 else "") for i, p in enumerate(paras))
    body += "\n\n[Transcriber's Note: at the very end]"
    got = books._drop_notes(body)
    assert got == drop_notes_by_definition(body)
    assert got[0].count("printer's errors") < body.count("printer's errors") and "a long list of changes" in got[0]
    assert len(paras) > 50 and got[1] > 1000


EMAIL_PUBLISHED = re.compile(pii.EMAIL.pattern.replace(r"(?=[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@)", "", 1))


def test_email_pattern_finds_what_the_published_one_finds():
    """Same addresses as the pattern without the 64-character guard, wherever the local part is RFC-sized."""
    assert EMAIL_PUBLISHED.pattern != pii.EMAIL.pattern
    addresses = ["jane.doe@example.org", "a-b+tag@mail.example.co.uk", "x@[192.0.2.1]", "first.last@sub-d.example"]
    texts = [
        " ".join(f"{w} {addresses[i % len(addresses)]}" if i % 40 == 0 else w for i, w in enumerate(BOTCHAN.split())),
        "contact:" + ",".join(addresses) + ";" + "word-" * 200 + "@" + "a." * 50,
        re.sub(r"\s+", "", BOTCHAN[:3000]) + addresses[0],
        "ab-" * 500 + "x@example.org",  # a long run of address characters: only its last 64 can be a local part
    ]
    for text in texts:
        new = [(m.group(0), m.end()) for m in pii.EMAIL.finditer(text)]
        old = [(m.group(0), m.end()) for m in EMAIL_PUBLISHED.finditer(text)]
        assert [e for _, e in new] == [e for _, e in old]  # every address ends where it did
        for (a, _), (b, _) in zip(new, old):
            assert a == b or (len(b) > len(a) and b.endswith(a) and len(a.split("@")[0]) <= 64)
    assert len(list(pii.EMAIL.finditer(texts[0]))) >= len(BOTCHAN.split()) // 40
