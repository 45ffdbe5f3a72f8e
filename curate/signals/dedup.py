"""Exact-duplicate signals: a 64-bit hash of normalised text (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable

import numpy as np


def normalize_exact(text: str) -> str:
    r"""NFKC, case-folded, whitespace collapsed: copies that differ only in Unicode form, case or spacing collide.

    ``" ".join(s.split())`` is ``re.sub(r"\s+", " ", s).strip()`` (both use Python's Unicode whitespace), about
    3x faster on source code, where every indentation was a regex match."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# ASCII white space as str.split sees it (\t \n \v \f \r, \x1c-\x1f, space) -> space, as a bytes.translate table
_SPACES = bytes(32 if chr(c).isspace() else c for c in range(128)) + bytes(range(128, 256))
_WHITE = re.compile(r"\s")  # str.split's white space (Py_UNICODE_ISSPACE), as re sees it for a str pattern


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of True in a bool array, ends exclusive. One comparison of neighbours: ten times
    faster than ``np.diff`` of the mask as int8 with ``prepend`` and ``append``, which converts and copies it."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    if len(mask) and (mask[0] or mask[-1]):
        edges = np.concatenate([[0]] * bool(mask[0]) + [edges] + [[len(mask)]] * bool(mask[-1]))
    return edges[0::2], edges[1::2]


def fold_utf8(text: str, ascii_table: bytes, other: Callable[[str], bytes], per_byte: float) -> bytes | None:
    """``other(text)`` for a map ``other`` that NFKC-normalises a text and then treats each character on its own,
    an ASCII one as ``bytes.lower`` followed by ``ascii_table`` do: computed on the UTF-8 bytes, where the ASCII
    stretches of a mostly-ASCII text (source code with a few accented names) are mapped by those two byte methods
    and only each stretch of other characters, with the ASCII character before it (a combining mark composes with
    it), goes through ``other``. Exact: NFKC never joins an ASCII character to what precedes it. None (the caller
    maps the whole text its own way) for a lone surrogate or more than ``per_byte`` stretches a byte: then the
    calls per stretch cost more than they save (the words of a Russian text; the quotes and dashes of web prose)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    starts, ends = true_runs(np.frombuffer(data, np.uint8) >= 0x80)
    if len(starts) > per_byte * len(data):
        return None
    fast = data.lower().translate(ascii_table)
    out, done = [], 0
    for start, end in zip(starts.tolist(), ends.tolist()):
        start = max(start - 1, 0)  # the ASCII character before the stretch (never inside the last one)
        out.append(fast[done:start])
        out.append(other(data[start:end].decode("utf-8")))
        done = end
    out.append(fast[done:])
    return b"".join(out)


def _unicode_spaced(text: str) -> bytes:
    """NFKC, case-folded, every white-space character a space, UTF-8: ``normalize_exact`` before the collapse."""
    return _WHITE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).encode("utf-8")


def _collapsed(chars: bytes) -> bytes:
    """Runs of spaces -> one space, none at either end (numpy: no list of words; 1.5x faster on source code,
    where the words are many and short, than ``" ".join(s.split())``)."""
    arr = np.frombuffer(chars, np.uint8)
    if not len(arr):
        return b""
    space = arr == 32
    keep = ~space
    keep[1:] |= ~space[:-1]  # a space stays when the character before it is not one
    keep[0] = True
    return arr[keep].tobytes().strip(b" ")


def normalized_bytes(text: str) -> bytes:
    """``normalize_exact(text).encode()``: ASCII text lower-cased (NFKC leaves ASCII alone, and case-folds it as
    ``lower`` does) and mapped as bytes, mostly-ASCII text through :func:`fold_utf8`, white space then collapsed.
    On 8,000 real Python files (1,181 with some non-ASCII character) 0.54 -> 0.16 CPU s; web prose, with a stretch
    every 60 bytes at the median (quotes, dashes), mostly keeps ``normalize_exact``, as fast there."""
    if text.isascii():
        return _collapsed(text.lower().encode("ascii").translate(_SPACES))
    folded = fold_utf8(text, _SPACES, _unicode_spaced, per_byte=1 / 1024)
    return normalize_exact(text).encode("utf-8") if folded is None else _collapsed(folded)


def text_hash(text: str) -> int:
    """Signed 64-bit blake2b of the normalised text (signed so it fits Parquet INT64 and DuckDB BIGINT)."""
    digest = hashlib.blake2b(normalized_bytes(text), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
