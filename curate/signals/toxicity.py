"""Blocklist signals: which entries of a bad-words list occur in a text, and how many words it has. Pure functions.

C4 (Raffel et al. 2020, sec. 2.2) drops every page that contains a word of the LDNOOBW list. datatrove's
``C4BadWordsFilter`` implements it as ``re.search(r"(?:\\W|^)(w1|w2|...)(?:\\W|$)", text.lower())`` and, for
Japanese, Thai and Chinese (no spaces between words), as a plain substring search; it removes the entries of
``_BADWORDS_ALLOWLIST`` (ja: sm, グロ, 女の子; zh: 性) from every list. This module makes the same decisions faster:

* an entry made of word characters only matches exactly where a maximal run of word characters (a ``\\w+`` token of
  the lower-cased text) equals it, which is what the flanked regex accepts; such entries are looked up in a set of
  the text's tokens, so the cost no longer grows with the length of the list;
* the other entries (phrases such as ``girl on top``, ``s&m``, ``🖕``) go through regexes with look-arounds
  ``(?<!\\w)(...)(?!\\w)``, which accept the same matches as the flanked form and also count adjacent ones; one
  regex per first word, run only when the text has that word as a token.

One deliberate difference: the entries are lower-cased too. C4 and datatrove lower-case only the text, so the
capitalised entries of some lists (61 of the 68 Spanish ones, e.g. ``Puta``) can never match there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# datatrove c4_filters._BADWORDS_ALLOWLIST: common subwords that each filter > 10% of pages of their language.
ALLOWLIST = frozenset({"sm", "グロ", "女の子", "性"})
NO_SPACE_LANGS = frozenset({"ja", "th", "zh"})  # C4: match without word boundaries
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Blocklist:
    """A compiled list: single-token entries in a set; phrases in regexes keyed by their first token ("" = always)."""

    lang: str
    words: frozenset[str]
    phrases: dict[str, re.Pattern]
    no_spaces: bool


def compile_blocklist(entries: Iterable[str], lang: str) -> Blocklist:
    """Compile the entries of one language's list (lower-cased, allowlist removed, longest first in the regex)."""
    clean = {e.strip().lower() for e in entries if e.strip()} - ALLOWLIST
    no_spaces = lang in NO_SPACE_LANGS
    words = frozenset() if no_spaces else frozenset(e for e in clean if _WORD.fullmatch(e))
    groups: dict[str, list[str]] = {}
    for entry in clean - words:
        # a phrase can only match where its first word is a whole token of the text (it is flanked by the look-behind
        # and by the phrase's own next, non-word, character): run its regex only when that token is present
        first = _WORD.match(entry)
        groups.setdefault("" if no_spaces or first is None else first.group(0), []).append(entry)
    return Blocklist(lang, words, {k: _alternation(k, v, no_spaces) for k, v in groups.items()}, no_spaces)


def _alternation(first: str, entries: list[str], no_spaces: bool) -> re.Pattern:
    """``first(?:rest|...)(?!\\w)``: a literal first word lets the regex engine jump between its occurrences; the
    look-behind is checked by the caller (a leading look-around would switch that search off)."""
    rests = "|".join(re.escape(e[len(first) :]) for e in sorted(entries, key=lambda e: (-len(e), e)))
    if no_spaces:
        return re.compile(f"(?:{rests})")
    if not first:
        return re.compile(rf"(?<!\w)(?:{rests})(?!\w)")
    return re.compile(rf"{re.escape(first)}(?:{rests})(?!\w)")


def find_terms(blocklist: Blocklist, text: str) -> tuple[Counter, int]:
    """(entry -> occurrences in ``text``, number of words of ``text``).

    Words are ``\\w+`` tokens; for ja, th and zh, which do not separate words, every non-space character counts as
    one word (so a ratio threshold means "matched entries per character" there).
    """
    lower = text.lower()
    found: Counter = Counter()
    if blocklist.no_spaces:
        n_words = sum(1 for c in lower if not c.isspace())
        present = {""}
    else:
        tokens = _WORD.findall(lower)
        n_words = len(tokens)
        present = set(tokens)
        present.add("")
        hits = present & blocklist.words
        if hits:
            found.update(t for t in tokens if t in hits)
    for first in present & blocklist.phrases.keys():
        for m in blocklist.phrases[first].finditer(lower):
            start = m.start()
            if not first or start == 0 or not _WORD.match(lower, start - 1, start):
                found[m.group(0)] += 1
    return found, n_words


def c4_regex(entries: Iterable[str], lang: str) -> re.Pattern:
    """The regex datatrove's C4BadWordsFilter builds (entries as given, not lower-cased): the reference for tests."""
    words = [re.escape(w) for w in {e.strip() for e in entries} - ALLOWLIST]
    if lang in NO_SPACE_LANGS:
        return re.compile("|".join(words))
    return re.compile(r"(?:\W|^)({})(?:\W|$)".format("|".join(words)))
