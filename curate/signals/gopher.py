"""Gopher quality and repetition signals (Rae et al. 2021, "Scaling Language Models", MassiveText, Appendix A).

Each signal follows the definition of datatrove 0.10.1's ``GopherQualityFilter`` / ``GopherRepetitionFilter``
(``pipeline/filters/gopher_*.py``); only the word splitting differs: :func:`curate.signals.text.split_tokens`
instead of spaCy, so "tokens" are words and punctuation marks, as there. Where that definition measures English
rather than text (the alphabetic ratio, n-grams of one-character tokens), a script-neutral variant sits next to it;
the functions say which. Thresholds live in the steps.
"""

from __future__ import annotations

import itertools

import numpy as np
from datatrove.utils.text import PUNCTUATION_SET

from curate.signals.text import (
    SPACELESS_PUNCTUATION,
    SPACELESS_START,
    has_letter,
    has_spaceless,
    split_newline_runs,
    split_paragraphs,
    split_tokens,
    tokens_per_word,
)

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")  # Gopher, Appendix A.1.1
# A token made only of these is a "symbol", not a word: datatrove's set, plus the punctuation of space-less scripts
# (Tibetan ་ ། , Khmer ។ ...) that it lacks.
_PUNCT = frozenset(PUNCTUATION_SET) | SPACELESS_PUNCTUATION


def quality_signals(text: str, stop_words=STOP_WORDS) -> dict[str, float | int | None]:
    """The Gopher quality signals of ``text`` (the paper's thresholds in brackets).

    * ``word_count``: tokens that are not only punctuation, "words" [50, 100,000]
    * ``mean_word_length``: their mean length in characters [3, 10], over words of space-separated scripts only
      (None when there are none); ``spaceless_frac``: the fraction of words from space-less scripts
    * ``hash_word_ratio``, ``ellipsis_word_ratio``: ``#`` and ``...``/``…`` per token [<= 0.1]
    * ``bullet_lines_frac``: lines starting with ``•`` or ``-`` [<= 0.9]; ``ellipsis_lines_frac``: lines ending
      with ``...``/``…`` [<= 0.3]
    * ``alpha_tokens_frac``: tokens with an alphabetic character, over all tokens, punctuation marks included
      (datatrove's definition, calibrated on English [>= 0.8]); ``alpha_words_frac``: the same over words only,
      as the paper words it ("80% of words"): a language whose apostrophes, hyphens or full stops stand apart
      (Tongan ‘, Maltese tal-, Kannada's long words between commas) is not penalised for its punctuation
    * ``stop_words``: how many distinct ``stop_words`` occur, case-sensitively [>= 2]
    """
    tokens = split_tokens(text)
    n_tokens = len(tokens)
    words = list(itertools.filterfalse(_PUNCT.issuperset, tokens))  # tokens not made only of punctuation
    n_words = len(words)
    n_chars = sum(map(len, words))
    n_spaceless = spaceless_chars = 0
    if has_spaceless(text):  # graphemes of space-less scripts say nothing about word length: leave them out
        graphemes = list(filter(SPACELESS_START, words))
        n_spaceless, spaceless_chars = len(graphemes), sum(map(len, graphemes))
    n_spaced = n_words - n_spaceless
    impure = list(itertools.filterfalse(str.isalpha, words))  # isalpha() is one C call; most words pass it
    n_alpha = n_words - len(impure) + sum(map(has_letter, impure))
    lines = text.splitlines()
    n_lines = len(lines) or 1
    return {
        "word_count": n_words,
        "mean_word_length": (n_chars - spaceless_chars) / n_spaced if n_spaced else None,
        "spaceless_frac": n_spaceless / n_words if n_words else 0.0,
        "hash_word_ratio": text.count("#") / n_tokens if n_tokens else 0.0,
        "ellipsis_word_ratio": (text.count("...") + text.count("…")) / n_tokens if n_tokens else 0.0,
        "bullet_lines_frac": sum(s.lstrip().startswith(("•", "-")) for s in lines) / n_lines,
        "ellipsis_lines_frac": sum(s.rstrip().endswith(("...", "…")) for s in lines) / n_lines,
        "alpha_tokens_frac": n_alpha / n_tokens if n_tokens else 0.0,
        "alpha_words_frac": n_alpha / n_words if n_words else 0.0,
        "stop_words": len(set(stop_words).intersection(tokens)),
    }


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items equal to an earlier item, their total characters), as datatrove's ``find_duplicates``."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


def _token_ids(tokens: list[str]) -> np.ndarray:
    """An integer per token, equal for equal tokens (not dense: the first position of the token's first use)."""
    first: dict[str, int] = {}
    return np.fromiter(map(first.setdefault, tokens, itertools.count()), dtype=np.int64, count=len(tokens))


def _mix(ids: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: distinct ids -> well-mixed 64-bit values, so n-grams can hash as int arithmetic."""
    x = (ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)) * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(29))


_MUL = np.uint64(0x100000001B3)  # odd multiplier of the polynomial n-gram hash


def repetition_signals(text: str, top_ns=(2, 3, 4), dup_ns=(5, 6, 7, 8, 9, 10)) -> dict[str, float]:
    """The Gopher repetition signals of ``text`` (all fractions in [0, 1]; 0.0 for empty text).

    * ``dup_para_frac`` / ``dup_para_char_frac``: paragraphs (split at blank lines) equal to an earlier one, as a
      fraction of paragraphs / of the text's characters [<= 0.30 / 0.20]
    * ``dup_line_frac`` / ``dup_line_char_frac``: the same for lines [<= 0.30 / 0.20]
    * ``top_{n}gram_char_frac`` for n in ``top_ns``: characters of the most frequent n-gram of tokens (joined by
      spaces) times its count, over the text's characters [<= 0.20, 0.18, 0.16 for n = 2, 3, 4]
    * ``dup_{n}gram_char_frac`` for n in ``dup_ns``: characters of n-grams that repeat an earlier n-gram, scanning
      left to right and jumping past each repeat so no character counts twice [<= 0.15 .. 0.10 for n = 5 .. 10]

    In a text mostly in a script written without spaces, where a token is a character (Chinese, Thai, Tibetan...),
    an "n-gram" is n words' worth of tokens (``round(n * tokens_per_word)``: 7 for n = 5 in Chinese, 18 in Thai)
    and its characters are counted without joining spaces the text does not have. Per character, 5-grams of the
    UDHR repeat on 25-59% of its Thai, Lao, Khmer, Burmese and Tibetan characters, against 4% (median) in the
    languages written with spaces and 6% in English.
    """
    out: dict[str, float] = {}
    size = len(text) or 1
    paragraphs = split_paragraphs(text)
    n, chars = _duplicates(paragraphs)
    out["dup_para_frac"], out["dup_para_char_frac"] = n / len(paragraphs), chars / size
    lines = split_newline_runs(text)  # datatrove's re.split("\n+", text)
    n, chars = _duplicates(lines)
    out["dup_line_frac"], out["dup_line_char_frac"] = n / len(lines), chars / size
    tokens = split_tokens(text)
    factor = tokens_per_word(tokens) if has_spaceless(text) else 1.0
    span = {n: n if factor == 1.0 else max(n, round(n * factor)) for n in (*top_ns, *dup_ns)}  # n -> tokens
    top_at = {span[n]: n for n in top_ns}
    dup_at = {span[n]: n for n in dup_ns}
    space = 1 if factor == 1.0 else 0  # datatrove joins the n-gram's words with spaces
    ids = _token_ids(tokens)
    base = h = _mix(ids)
    repeats = np.bincount(ids)[ids] > 1 if len(ids) else np.zeros(0, bool)  # repeats[i]: the n-gram at i recurs
    for m in range(2, max(span.values(), default=1) + 1):
        h = h[:-1] * _MUL + base[m - 1 :]  # h[i]: hash of tokens[i : i + m]
        # an m-gram recurs only where both its (m-1)-grams recur: only those positions need counting
        where = (repeats[:-1] & repeats[1:]).nonzero()[0]
        repeats = np.zeros(len(h), bool)
        if len(where):
            first, inverse, counts = _groups(h[where])
            repeats[where] = counts[inverse] > 1
        else:  # nothing recurs at this length or any longer one: no sort to make
            first = inverse = counts = where
        if m in top_at:
            out[f"top_{top_at[m]}gram_char_frac"] = _top_ngram_chars(where, first, counts, tokens, m, space) / size
        if m in dup_at:
            out[f"dup_{dup_at[m]}gram_char_frac"] = _dup_ngram_chars(where, inverse, counts, tokens, m) / size
    return out


def _groups(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_index=True, return_inverse=True, return_counts=True)[1:]`` for a 1-d array,
    without the unique values and the checks around them (this runs up to nine times a page)."""
    order = values.argsort(kind="stable")  # stable: the first index of each value is its first position
    ordered = values[order]
    new = np.empty(len(ordered), bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = new.nonzero()[0]
    counts = np.empty(len(starts), np.intp)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = len(ordered) - starts[-1]
    inverse = np.empty(len(ordered), np.intp)
    inverse[order] = np.cumsum(new) - 1
    return order[starts], inverse, counts


def _top_ngram_chars(where, first, counts, tokens, n: int, space: int) -> int:
    """Characters of the most frequent n-gram (joined by ``space`` characters) times its count; ties go to the
    earliest, as ``Counter.most_common(1)`` does. With no n-gram recurring, that is the first one, once."""
    if len(tokens) < n:
        return 0
    top = int(counts.max()) if len(counts) else 1
    i = int(where[first[counts == top]].min()) if top > 1 else 0
    return (sum(map(len, tokens[i : i + n])) + (n - 1) * space) * top


def _dup_ngram_chars(where, inverse, counts, tokens, n: int) -> int:
    """datatrove's ``find_all_duplicate``: scan n-grams left to right; an n-gram seen before adds its characters
    and the scan jumps n tokens ahead (jumped-over n-grams are not remembered); otherwise it is remembered.

    Only recurring n-grams can ever be "seen before", so the scan visits just their positions (exact)."""
    recurring = counts[inverse] > 1
    seen: set[int] = set()
    chars = 0
    resume = 0  # positions before this were jumped over
    for i, x in zip(where[recurring].tolist(), inverse[recurring].tolist()):
        if i < resume:
            continue
        if x in seen:
            chars += sum(map(len, tokens[i : i + n]))  # characters counted where needed, not for every token
            resume = i + n
        else:
            seen.add(x)
    return chars
