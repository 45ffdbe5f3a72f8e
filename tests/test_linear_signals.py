"""Signals rewritten to be linear in the text give what their plain definitions give.

Expected values are worked by hand from each signal's documented rules, or built from the parts of the test text
(which notes are removed, which addresses were planted). On long real texts, in the shapes that made the old code
quadratic (one long line, no white space at all, many hits), ``garbage_frac`` is compared with a token-by-token
transcription of its rules that uses none of the module's patterns. (benches/adversarial.py measures the speed; tests
never time anything.)"""

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


SEPARATORS = " \n\t"  # garbage_frac's docstring: a hit counts once per token cut at space, newline or tab
ALLOWED_PUNCT = set("'’-.,;:!?()\"“”‘")  # prose punctuation: never a symbol


def is_symbol(c: str) -> bool:
    """Neither a word character (Python's docs: ``str.isalnum()`` or ``_``), white space, nor allowed punctuation."""
    return not (c.isalnum() or c == "_" or c.isspace() or c in ALLOWED_PUNCT)


def is_garbage_token(token: str) -> bool:
    """The three rules of the docstring, read character by character: a U+FFFD or a C0 control character other than
    tab, newline and CR (or DEL); three symbols in a row; a run of digits with a letter on both sides."""
    if any(c == "\ufffd" or c == "\x7f" or (ord(c) < 32 and c not in "\t\n\r") for c in token):
        return True
    if any(all(is_symbol(c) for c in token[i : i + 3]) for i in range(len(token) - 2)):
        return True
    i = 0
    while i < len(token):
        if token[i].isdecimal():
            j = i
            while j < len(token) and token[j].isdecimal():
                j += 1
            if 0 < i and j < len(token) and token[i - 1].isalpha() and token[j].isalpha():
                return True
            i = j
        else:
            i += 1
    return False


def garbage_frac_by_definition(text: str) -> float:
    """Tokens (cut at space, newline, tab) breaking a rule, over white-space words: token by token, no regex."""
    n = len(text.split())
    tokens = [text]
    for sep in SEPARATORS:
        tokens = [part for t in tokens for part in t.split(sep)]
    return min(sum(map(is_garbage_token, tokens)) / n, 1.0) if n else 0.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He l0ved the ~#^ sea\ufffd and 1984 too", 3 / 8),  # l0ved, ~#^, sea\ufffd; 1984 stands alone: clean
        ("He\tl0ved\tthe\t~#^\tsea\ufffd\tand\t1984\ttoo", 3 / 8),  # tabs cut tokens as spaces do
        ("ab1cd\n\nef@@@\x07gh x", 2 / 3),  # two hits in one token count once
        ("Hel0vedthe~#^sea\ufffdand1984too", 1.0),  # one token, one word
        ("It's (so) “fine”, isn't it -- yes... 3 cats.", 0.0),  # allowed punctuation; digits not between letters
        ("", 0.0),
    ],
)
def test_garbage_frac_known_values(text, expected):
    """Worked by hand from the rules in the docstring."""
    assert books.garbage_frac(text) == pytest.approx(expected)
    assert garbage_frac_by_definition(text) == pytest.approx(expected)  # the reference agrees with the hand count


NOTE = "[Transcriber's Note: obvious printer's errors have been corrected.]"  # removed with the newline after "]"
NOTE_PARAGRAPH = "Transcriber's Notes\nThe spelling of the original is kept."  # removed through the blank line
TOO_LONG = [
    "[Transcriber's note: " + "a long list of changes " * 300 + "]",  # its "]" lies past MAX_NOTE_CHARS: kept
    "Transcribers Note: " + "x" * 6000,  # a paragraph too long to be a note: kept
]


def test_transcribers_notes_removed_on_a_long_book():
    """The expected text is built from the parts: each note either goes (with the newline after a bracket, or the
    blank line after a paragraph) or stays, as the module docstring says."""
    lines = BOTCHAN.splitlines()
    paras = ["\n".join(lines[i : i + 8]) for i in range(0, len(lines), 8)]
    notes = [NOTE, NOTE_PARAGRAPH, *TOO_LONG]
    body, expected, removed = paras[0], paras[0], 0
    for i, para in enumerate(paras[1:]):
        note = notes[i % len(notes)] if i % 3 == 0 else None
        body += ("\n\n" + note if note else "") + "\n\n" + para
        if note == NOTE:
            expected, removed = expected + "\n\n\n" + para, removed + len(NOTE) + 1
        elif note == NOTE_PARAGRAPH:
            expected, removed = expected + "\n\n" + para, removed + len(NOTE_PARAGRAPH) + 2
        else:
            expected += ("\n\n" + note if note else "") + "\n\n" + para
    last = "[Transcriber's Note: at the very end]"
    body, expected, removed = body + "\n\n" + last, expected + "\n\n", removed + len(last)
    assert len(paras) > 50 and removed > 500
    assert books._drop_notes(body) == (expected, removed)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Text.\n\n[Transcriber's Note: never closed\n\nMore.", "Text.\n\nMore."),  # no "]": to the blank line
        ("Text.\n  [ TRANSCRIBERS' NOTE: fixed.]\nMore.", "Text.\nMore."),  # indent, case, apostrophe after s
        ("Text.\nTranscriber's Note\nfixed.", "Text.\n"),  # no blank line after: to the end
        ("Text. Transcriber's Note: not at a line start.\n\nMore.", None),  # kept
        ("Text.\n\nTranscriber's Notebook, by hand.\n\nMore.", None),  # not the word "Note(s)": kept
    ],
)
def test_transcribers_notes_worked_examples(body, expected):
    expected = body if expected is None else expected
    assert books._drop_notes(body) == (expected, len(body) - len(expected))


PLANTED = ["jane.doe@example.org", "a-b+tag@mail.example.co.uk", "x@[192.0.2.1]", "first.last@sub-d.example"]


def test_email_pattern_finds_every_planted_address_and_only_those():
    """Addresses planted in real prose, in one long line and in text without white space are found whole, in order;
    where the local part would be longer than RFC 5321's 64 characters, the match is its last 64 (worked by hand)."""
    words = BOTCHAN.split()
    planted = [PLANTED[i // 40 % len(PLANTED)] for i in range(0, len(words), 40)]
    prose = " ".join(f"{w} {PLANTED[i // 40 % len(PLANTED)]}" if i % 40 == 0 else w for i, w in enumerate(words))
    assert [m.group(0) for m in pii.EMAIL.finditer(prose)] == planted
    assert [m.group(0) for m in pii.EMAIL.finditer(prose.replace(" ", "\t"))] == planted
    squeezed = re.sub(r"\s+", "", BOTCHAN[:3000]) + ", " + PLANTED[0]
    assert [m.group(0) for m in pii.EMAIL.finditer(squeezed)] == [PLANTED[0]]
    listed = "contact:" + ",".join(PLANTED) + ";" + "word-" * 200 + "@" + "a." * 50
    # "word-" * 200 + "@": the match starts at the last word boundary within 64 characters of the "@": 61 characters
    assert [m.group(0) for m in pii.EMAIL.finditer(listed)] == PLANTED + ["-" + "word-" * 12 + "@" + "a." * 49 + "a"]
    # 1,500 characters of "ab-" then "x": the last 64 are 21 "ab-" and the "x"
    assert [m.group(0) for m in pii.EMAIL.finditer("ab-" * 500 + "x@example.org")] == ["ab-" * 21 + "x@example.org"]
