"""Books: Project Gutenberg boilerplate, title and author, and OCR-garbage signals. Pure functions.

Gutenberg boilerplate, as Project Gutenberg writes it (gutenberg.org/policy/boilerplate, and the marker lists of
c-w/gutenberg's ``strip_headers`` and PG-19, Rae et al. 2020, which removed the same parts):

* the header: everything up to and including the ``*** START OF THE/THIS PROJECT GUTENBERG EBOOK ... ***`` line
  (older e-texts: the ``*END*THE SMALL PRINT!`` line), then a production credit right after it ("Produced by ...");
* the footer: from the first ``*** END OF THE/THIS PROJECT GUTENBERG EBOOK`` or ``End of (the) Project Gutenberg``
  line after the header to the end (the licence, "Updated editions will replace ...");
* transcriber's notes: a paragraph (or a ``[...]`` block) starting ``Transcriber's Note(s)``, in a book that has
  the header (a book without Gutenberg markers is returned untouched).
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

_START = re.compile(
    r"^\W{0,5}\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG.*$|^\W{0,3}\*?END\*?\s*THE SMALL PRINT.*$",
    re.IGNORECASE | re.MULTILINE,
)
_END = re.compile(
    r"^\W{0,5}\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG.*$|^\W{0,3}End of (?:the )?Project Gutenberg.*$",
    re.IGNORECASE | re.MULTILINE,
)
_CREDIT = re.compile(
    r"\A\s*(?:Produced by|E-text prepared by|Etext prepared by|This e-?text was (?:prepared|produced) "
    r"by|Transcribed (?:from .{0,80})?by)\b[^\n]*\n",
    re.IGNORECASE,
)
_NOTE = re.compile(r"^[ \t]*\[?[ \t]*Transcriber'?s'?[ \t]+Notes?\b", re.IGNORECASE | re.MULTILINE)
_FIELD = re.compile(r"^\s*(Title|Author|Language)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_EBOOK_OF = re.compile(
    r"Project Gutenberg'?s? (?:E-?Book|Etext)?\s*(?:of\s+)?(.+?), by (.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_BY = re.compile(r"^by\s+(?:the late\s+)?(.{3,80}?)$", re.IGNORECASE)
MAX_NOTE_CHARS = 5000  # a "transcriber's note" longer than this is not a note: leave it


class Stripped(NamedTuple):
    text: str
    header_chars: int
    footer_chars: int
    notes_chars: int
    title: str | None
    author: str | None
    language: str | None


def strip_gutenberg(text: str) -> Stripped:
    """Remove the Gutenberg header, footer and transcriber's notes; read Title/Author/Language from the header."""
    start = _START.search(text[:100_000])
    if start is None:
        return Stripped(text, 0, 0, 0, None, None, None)
    header, body = text[: start.end()], text[start.end() :]
    fields = {k.lower(): v for k, v in _FIELD.findall(header)}
    title, author = fields.get("title"), fields.get("author")
    if title is None and (m := _EBOOK_OF.search(header)):
        title, author = m.group(1), author or m.group(2)
    credit = _credit(body)
    body = body[credit:]
    header_chars = start.end() + credit
    end = _END.search(body)
    footer_chars = len(body) - end.start() if end else 0
    body = body[: end.start()] if end else body
    body, notes = _drop_notes(body)
    return Stripped(body, header_chars, footer_chars, notes, title, author, fields.get("language"))


def _credit(body: str) -> int:
    """Length of a production credit right after the START line: through the next blank line if one comes within
    four lines, else the credit line alone (some copies have no blank lines at all)."""
    m = _CREDIT.match(body)
    if m is None:
        return 0
    blank = re.compile(r"\A(?:[^\n]*\n){0,3}?[ \t\r]*\n").match(body, m.end())
    return blank.end() if blank else m.end()


_BLANK = re.compile(r"\n[ \t\r]*\n")


def _drop_notes(body: str) -> tuple[str, int]:
    """Cut transcriber's notes out of ``body``. Linear: the kept pieces are joined once at the end, and each search
    for a note's end looks no further than ``MAX_NOTE_CHARS`` past it (a longer "note" is not one)."""
    kept, removed = [], 0
    last_bracket = body.rfind("]")
    copied = pos = 0  # body[copied:] is not yet in `kept`; the next note is searched from pos
    while m := _NOTE.search(body, pos):
        limit = min(len(body), m.start() + MAX_NOTE_CHARS + 2)
        bracket = body[m.start() : m.end()].lstrip().startswith("[")
        end = body.find("]", m.end(), limit) + 1 if bracket else 0
        if bracket and end <= 0 and last_bracket >= limit:
            pos = m.end()  # its "]" is further than MAX_NOTE_CHARS: not a note
            continue
        if end > 0 and body[end : end + 1] == "\n":
            end += 1  # the rest of the bracket's line
        if end <= 0:
            blank = _BLANK.search(body, m.end(), limit)
            end = blank.end() if blank else (len(body) if limit == len(body) else limit + 1)
        if end - m.start() > MAX_NOTE_CHARS:
            pos = m.end()
            continue
        kept.append(body[copied : m.start()])
        removed += end - m.start()
        copied = pos = end
    kept.append(body[copied:])
    return "".join(kept), removed


def title_author(text: str, lines: int = 10) -> tuple[str | None, str | None]:
    """A first-lines heuristic for books without a header, over the first ``lines`` non-blank lines:

    * ``TITLE by NAME`` on one line, or a ``by NAME`` line (``NAME`` looks like a name: at most six capitalised words,
      initials and particles such as *de*, *van*) whose previous line is a title;
    * else the first line if it looks like a title: at most 12 words, no sentence-final punctuation, and most of its
      longer words capitalised (``The Tragedie of Hamlet``; not ``Mess. Much deseru'd on his part``).
    """
    head = [ln.strip().lstrip("\ufeff").strip() for ln in text[:20_000].splitlines() if ln.strip()][:lines]
    for i, line in enumerate(head):
        if (m := _TITLE_BY.match(line)) and _is_title(m.group(1)) and _is_name(m.group(2)):
            return m.group(1).strip(), m.group(2).strip()
        if (m := _BY.match(line)) and _is_name(m.group(1)):
            return (head[i - 1] if i > 0 and _is_title(head[i - 1]) else None), m.group(1).strip()
    return (head[0] if head and _is_title(head[0]) else None), None


_TITLE_BY = re.compile(r"^(.{3,120}?)\s+by\s+(?:the late\s+)?(.{3,80})$", re.IGNORECASE)
_PARTICLES = {"de", "da", "di", "du", "del", "der", "van", "von", "la", "le", "of", "the", "and", "y", "bin", "ibn"}


def _is_name(s: str) -> bool:
    words = s.replace(",", " ").split()
    return (
        0 < len(words) <= 6
        and words[0][0].isupper()
        and all(w[0].isupper() or w.lower() in _PARTICLES for w in words)
        and not any(c in s for c in ";:!?()[]")
    )


def _is_title(line: str) -> bool:
    words = line.split()
    if not words or len(words) > 12 or line.endswith((".", "?", "!", ",", ";", ":")) or line.startswith("["):
        return False
    long = [w for w in words if sum(c.isalpha() for c in w) > 3]
    return not long or sum(w.lstrip("'\"(")[:1].isupper() for w in long) >= 0.6 * len(long)


_DIGITS = re.compile(r"\d+")
_BAD = re.compile(r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SYMBOLS = re.compile(r"[^\w\s'’\-.,;:!?()\"“”‘]{3,}")


def garbage_frac(text: str, n_words: int | None = None) -> float:
    """Fraction of whitespace-separated tokens that look like OCR or encoding garbage: digits between letters
    (``l0ve``, ``tbe1r``), a U+FFFD or control character, or a run of three or more symbols (``~#^``). Clean books
    score under 0.1%; OCR with broken character recognition scores several percent. ``n_words`` saves a split.

    Each rule is one simple regular expression over the whole text (about 10 MB/s together); a token with several
    hits counts once. Linear in the text: hits are taken in order, and two consecutive hits lie in one token when no
    space, newline or tab separates them (a search of the gap between them: the gaps do not overlap). Looking back
    from every hit to the previous space instead was quadratic on a book with no line breaks."""
    n = len(text.split()) if n_words is None else n_words
    if not n:
        return 0.0
    hits = []
    for m in _DIGITS.finditer(text):
        i, j = m.start(), m.end()
        if 0 < i and j < len(text) and text[i - 1].isalpha() and text[j].isalpha():
            hits.append(i)
    for pattern in (_BAD, _SYMBOLS):
        hits.extend(m.start() for m in pattern.finditer(text))
    hits.sort()
    tokens = sum(1 for a, b in itertools.pairwise(hits) if a != b and _TOKEN_SEP.search(text, a, b)) + bool(hits)
    return min(tokens / n, 1.0)


_TOKEN_SEP = re.compile("[ \n\t]")  # what separates the tokens garbage_frac counts hits in


def bad_char_frac(text: str) -> float:
    """Fraction of characters that are U+FFFD (a decoding failure) or C0 control characters other than tab/newline."""
    if not text:
        return 0.0
    return sum(1 for _ in _BAD.finditer(text)) / len(text)
