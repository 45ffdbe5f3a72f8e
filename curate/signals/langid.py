"""Language-ID helpers (pure): the script of a text, GlotLID label parsing, and the rule that combines lid.176 with
lingua for close languages.

lid.176 (Joulin et al. 2016) covers 176 languages and is right on whole pages, but on paragraphs it confuses close
relatives (Danish / Norwegian, Portuguese / Spanish / Galician, Indonesian / Malay, Croatian / Serbian / Bosnian,
Czech / Slovak): benches/close_langs.py measures it. lingua (75 languages, character n-grams up to 5 and rules)
tells them apart; the combined rule keeps lid.176's breadth and lets lingua decide only where lid.176 is weak.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter

import numpy as np

# Groups of close relatives, in lid.176's codes (Norwegian Bokmål is `no`; lingua calls it `nb`).
CLOSE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"da", "no", "nn", "sv"}),
    frozenset({"pt", "es", "gl", "ca"}),
    frozenset({"id", "ms"}),
    frozenset({"hr", "sr", "bs", "sh"}),  # sh: lid.176's Serbo-Croatian, a label lingua does not have
    frozenset({"cs", "sk"}),
)
LINGUA_TO_LID = {"nb": "no"}  # lingua's ISO 639-1 code -> lid.176's, where they differ
LID_TO_LINGUA = {v: k for k, v in LINGUA_TO_LID.items()}
# Languages lingua knows in one script only: its Serbian is Cyrillic, so on Latin-script Serbian it says Croatian or
# Bosnian (0 of 39 UDHR paragraphs right, benches/close_langs.py); elsewhere lid.176's label stands.
LINGUA_SCRIPT_ONLY = {"sr": "Cyrl"}


def lingua_known(known: frozenset[str], script: str | None) -> frozenset[str]:
    """The languages lingua can tell apart in a text of ``script``: ``known`` less those it knows in another script."""
    return frozenset(c for c in known if LINGUA_SCRIPT_ONLY.get(c, script) == script)


def close_group(lang: str | None) -> frozenset[str] | None:
    """The group of close relatives ``lang`` (a lid.176 code) belongs to, or None."""
    return next((g for g in CLOSE_GROUPS if lang in g), None)


def decide(
    lid_lang: str | None, lid_score: float | None, known: frozenset[str], low_score: float, unknown_score: float = 0.65
) -> str:
    """Which rule decides a document's language, from lid.176's label and score:

    * ``lingua_low_score``: lid.176's probability is below ``low_score`` and lingua knows its label: lingua chooses
      among all its languages, whatever group lid.176's label is in (a Yoruba paragraph that lid.176 calls Catalan
      at 0.34 is no Catalan, Portuguese or Spanish: benches/close_langs.py's ordinary paragraphs);
    * ``lingua_close``: lid.176's label has close relatives (``CLOSE_GROUPS``): lingua chooses among the group's
      languages it knows. That includes a label lingua does not know at all (Galician ``gl``, Serbo-Croatian ``sh``)
      unless lid.176 gives it at least ``unknown_score``: lid.176 calls Croatian, Bosnian and Serbian paragraphs
      ``sh`` with scores of 0.26-0.47 on benches/close_langs.py, where real Galician scores 0.52-1.0. Serbian in
      Latin script (lingua knows only Cyrillic Serbian) keeps lid.176's ``sr``: there real Serbian and the Croatian
      or Bosnian paragraphs lid.176 calls ``sr`` score alike (0.28-0.61), and lingua would call all of them hr or bs;
    * ``lingua_only``: no lid.176 label (the step ran without lang_fasttext_v1 before it);
    * ``lid``: otherwise lid.176's label stands (a language lingua does not know, with no close relatives it knows or
      a score of at least ``unknown_score``).
    """
    if lid_lang is None:
        return "lingua_only"
    group = close_group(lid_lang)
    if lid_lang not in known:
        unsure = lid_score is None or lid_score < unknown_score
        script_only = lid_lang in LINGUA_SCRIPT_ONLY  # known to lingua in another script: see above
        return "lingua_close" if group is not None and group & known and unsure and not script_only else "lid"
    if lid_score is not None and lid_score < low_score:
        return "lingua_low_score"
    if group is not None:
        return "lingua_close"
    return "lid"


# -- scripts (ISO 15924) -------------------------------------------------------------------------------------------------
_SCRIPT_NAMES = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARABIC": "Arab", "HEBREW": "Hebr", "DEVANAGARI": "Deva",
    "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya", "TAMIL": "Taml", "TELUGU": "Telu",
    "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh", "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt",
    "MYANMAR": "Mymr", "GEORGIAN": "Geor", "HANGUL": "Hang", "HIRAGANA": "Hira", "KATAKANA": "Kana", "CJK": "Hani",
    "ETHIOPIC": "Ethi", "KHMER": "Khmr", "ARMENIAN": "Armn", "MONGOLIAN": "Mong", "THAANA": "Thaa",
    "CHEROKEE": "Cher", "CANADIAN": "Cans", "TIFINAGH": "Tfng", "SYRIAC": "Syrc", "NKO": "Nkoo", "VAI": "Vaii",
    "YI": "Yiii", "ADLAM": "Adlm", "OL": "Olck", "JAVANESE": "Java", "BALINESE": "Bali", "SUNDANESE": "Sund",
    "TAGALOG": "Tglg", "BOPOMOFO": "Bopo", "SYLOTI": "Sylo", "BUGINESE": "Bugi", "LIMBU": "Limb",
}


@functools.lru_cache(maxsize=8192)
def char_script(ch: str) -> str | None:
    """ISO 15924 code of a letter's script (from its Unicode name), None for a non-letter."""
    if not ch.isalpha():
        return None
    try:
        first = unicodedata.name(ch).split()[0]
    except ValueError:
        return None
    if first == "HALFWIDTH" or first == "FULLWIDTH":
        first = unicodedata.name(ch).split()[1]
    return _SCRIPT_NAMES.get(first, first[:4].title())


def text_script(text: str, max_letters: int = 2000) -> str | None:
    """The dominant script of the letters among ``text``'s first ``2 * max_letters`` characters (ISO 15924), None
    without letters.

    Japanese (kana with or without Han) is ``Jpan``, Korean (Hangul with Han) ``Kore``, as GlotLID labels them.
    """
    head = text[: 2 * max_letters]
    if head.isascii():  # the common case, without a look at each character
        return "Latn" if any(c.isalpha() for c in head) else None
    counts: Counter = Counter()
    # distinct characters (counted by numpy over the code points): a few hundred lookups, not thousands
    points, times = np.unique(np.frombuffer(head.encode("utf-32-le", "surrogatepass"), dtype=np.uint32),
                              return_counts=True)
    for cp, k in zip(points.tolist(), times.tolist()):
        s = char_script(chr(cp))
        if s is not None:
            counts[s] += k
    if not counts:
        return None
    n = sum(counts.values())
    top = counts.most_common(1)[0][0]
    if counts["Hira"] + counts["Kana"] > 0.05 * n and top in ("Hani", "Hira", "Kana"):
        return "Jpan"
    if top == "Hang" or (top == "Hani" and counts["Hang"] > 0.05 * n):
        return "Kore" if counts["Hani"] else "Hang"
    return top


_GLOTLID = re.compile(r"^([a-z]{2,3})_([A-Z][a-z]{3})$")


def parse_label(label: str) -> tuple[str, str | None]:
    """(language, script or None) of a fastText label: ``__label__eng_Latn`` (GlotLID, NLLB) -> ("eng", "Latn");
    ``__label__en`` (lid.176) -> ("en", None)."""
    code = label.removeprefix("__label__")
    m = _GLOTLID.match(code)
    return (m.group(1), m.group(2)) if m else (code, None)
