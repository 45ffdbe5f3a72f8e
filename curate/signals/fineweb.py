"""FineWeb's quality signals (Penedo et al. 2024, "The FineWeb Datasets", Section 3.6), as datatrove 0.10.1's
``FineWebQualityFilter`` defines them; words come from :func:`curate.signals.text.split_tokens` instead of spaCy.
"""

from __future__ import annotations

from curate.signals.text import TERMINAL_MARKS, count_tokens

STOP_CHARS = tuple(sorted(TERMINAL_MARKS))  # datatrove's default (terminal marks of every script), and Tibetan's


def fineweb_signals(text: str, stop_chars: tuple[str, ...] = STOP_CHARS, short_line_length: int = 30) -> dict:
    """FineWeb's signals over the non-blank lines of ``text`` (lines cut at ``\\n`` only, not stripped):

    * ``lines``: how many non-blank lines there are (0: the document is empty)
    * ``line_punct_ratio``: lines ending in one of ``stop_chars`` (FineWeb keeps >= 0.12)
    * ``short_line_ratio``: lines of at most ``short_line_length`` characters (keeps <= 0.67)
    * ``char_dup_ratio``: characters of lines equal to an earlier line, over the text's characters without
      newlines (keeps <= 0.01)
    * ``list_ratio``: newlines per token (words and punctuation, as spaCy's) of the whole text (keeps <= 0.3)
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return {"lines": 0, "line_punct_ratio": 0.0, "short_line_ratio": 0.0, "char_dup_ratio": 0.0, "list_ratio": 0.0}
    seen: set[str] = set()
    dup_chars = 0
    for line in lines:
        if line in seen:
            dup_chars += len(line)
        else:
            seen.add(line)
    n_tokens = count_tokens(text)
    return {
        "lines": len(lines),
        "line_punct_ratio": sum(line.endswith(stop_chars) for line in lines) / len(lines),
        "short_line_ratio": sum(len(line) <= short_line_length for line in lines) / len(lines),
        "char_dup_ratio": dup_chars / ((len(text) - text.count("\n")) or 1),
        "list_ratio": text.count("\n") / n_tokens if n_tokens else 0.0,
    }
