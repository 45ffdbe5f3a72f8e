"""Fast, Unicode-aware text splitting shared by the quality signals (no spaCy).

datatrove splits words with ``spacy.blank("en")``: profiled with cProfile on one core over 5,593 real web pages
(docs.python.org, the Debian handbook, the UDHR), spaCy took 75% of GopherRepetitionFilter's time and 87% of MinHash
signature time.
The functions here are compiled regular expressions (the standard library's ``re``, 2-3x faster than ``regex``):

* :func:`split_tokens` reproduces spaCy's English tokens - words *and* punctuation marks - because datatrove's
  Gopher and FineWeb rules divide by that token count (``"#" / n_tokens``, ``"\\n" / n_tokens``): punctuation is
  its own token (``end .``, ``well - known``), clitics split (``it 's``), numbers, paths, e-mail addresses and URLs
  stay whole (``3.14``, ``1,000``, ``/etc``, ``a@b.org``), and so do abbreviations (``e.g.``, ``Mr.``, ``U.S.``).
  On the 219 English pages of samples/web it counts 100.2% of spaCy's tokens, about 30 times faster.
* :func:`split_words` keeps only the words: runs of letters, marks and digits of any script.

Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese, Tibetan, Javanese...)
have no such runs: every character (with its combining marks) counts as one word, and in Japanese every run of
kana, so word-count rules stay meaningful there. A character is at most one word (a Chinese word is about 1.5
characters), so counts for these scripts run high, never low: "at least N words" is easier, not harder, to meet.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from datatrove.utils.text import TERMINAL_PUNCTUATION


def _classes(*groups: tuple[str, ...]) -> list[str]:
    """For each group of Unicode category prefixes, a character-class body (ranges) of the Basic Multilingual
    Plane's characters in those categories (``("L",)`` -> what ``regex`` writes ``\\p{L}``)."""
    runs: list[list] = []  # [first, last, category] of consecutive code points sharing a category
    for cp in range(0x10000):
        cat = unicodedata.category(chr(cp))
        if runs and runs[-1][2] == cat:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, cat])
    out = []
    for prefixes in groups:
        spans: list[list[int]] = []
        for first, last, cat in runs:
            if cat.startswith(prefixes):
                if spans and spans[-1][1] == first - 1:
                    spans[-1][1] = last
                else:
                    spans.append([first, last])
        out.append("".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in spans))
    return out


_LU, _LL, _M, _SO, _P = _classes(("Lu",), ("Ll",), ("M",), ("So",), ("P",))
_SO += "\U0001f000-\U0001faff"  # emoji and other pictographs
_SC = "$£€¥\u20a0-\u20cf"  # currency signs (spaCy splits them off as prefixes)

# Blocks of the scripts written without spaces between words: Thai, Lao, Tibetan, Burmese, Khmer, Tai Le, New Tai
# Lue, Tai Tham, Balinese, Javanese, Japanese kana (with U+3005 々, U+3007 〇, U+303B 〻), CJK ideographs.
_SPACELESS = (
    "\u0e00-\u0e7f\u0e80-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u1950-\u19ff\u1a20-\u1aaf"
    "\u1b00-\u1b7f\ua980-\ua9df\ua9e0-\ua9ff\uaa60-\uaa7f"
    "\u3005\u3007\u303b\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
# One token of those scripts. A run of katakana is one token (a loanword: プロセス), so is a run of hiragana (particles
# and endings: することが); a kanji, and a character of the other scripts, is one token with its combining marks.
# Per character, Japanese made 1.9 tokens per English token of the same Debian handbook page (75 pages), and its
# repeated 5-"grams" (プロセス, ライブラリ) failed Gopher's repetition rule on 31% of pages (English: 0%); with kana
# runs, 1.2 tokens per English token (Chinese: 1.3) and no failures.
_GRAPHEME = rf"[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+|[\u3040-\u309f]+|[{_SPACELESS}][{_M}]*"
_LETTER = r"[^\W\d_]"

# spaCy's English tokenizer (spacy/lang/punctuation.py, tokenizer_exceptions.py), as far as it moves token counts:
# a whitespace-separated chunk loses its leading (prefix) and trailing (suffix) punctuation one mark at a time, then
# splits at infixes (well-known, /etc/apt, end.Next); numbers, paths and e-mail addresses stay whole.
_PS = r"""…,:;!?¿؟¡()\[\]{}<>_#*&。？！，、；：～·।،۔؛٪'"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉⟦⟧—–"""
_PREFIX = _PS + "§%=+" + _SC
# abbreviations whose final "." stays on the word (spaCy's English tokenizer exceptions)
_ABBR = (
    r"Mr|Mrs|Ms|Messrs|Dr|Prof|St|Mt|Jr|Inc|Ltd|Co|co|Corp|Bros|Gen|Gov|Rep|Sen|Rev|Adm|vs|v\.s|Ph\.D|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|[Ee]\.g|[Ii]\.e|E\.G|I\.E|1?[0-9]?[ap]\.m|[a-zäöü]|"
    r"Ak|Ala|Ariz|Ark|Calif|Colo|Conn|D\.C|Del|Fla|Ga|Ia|Id|Ill|Ind|Kan|Kans|Ky|La|Mass|Md|Mich|Minn|Miss|Mo|"
    r"Mont|N\.[CDHJMY]|Neb|Nebr|Nev|Okla|Ore|Pa|S\.C|Tenn|Va|Wash|Wis"
)
_AT_START = rf"(?:(?<=[\s{_PREFIX}])|^)"  # at the start of a chunk, or after its leading punctuation
_END = rf"(?=[{_PS}%.]*(?:\s|$))"  # only suffix punctuation left before the end of the chunk
# trailing punctuation; a final "." splits off unless it follows a lone capital (U.S., F.)
_SUFFIX = rf"[{_PS}]{_END}|(?<=\d)%{_END}|(?:(?<![{_LU}])|(?<=[{_LU}][{_LU}]))\.{_END}"
_INFIX = (
    rf"\.{{2,}}|…|[{_SO}]|(?<=\d)[+\-*^](?=[\d-])|(?<=[{_LL}])\.(?=[{_LU}])|(?<={_LETTER}),(?={_LETTER})"
    rf"|(?<=[^\W_])(?:---|--|-|–|—|~)(?={_LETTER})|(?<=[^\W_])[:<>=/](?={_LETTER})"
)
_CLITIC = rf"['’](?:[sSdDmMtT]|re|RE|ll|LL|ve|VE){_END}"  # it 's, we 're; spaCy's "do n't" is our "don 't"
_SPECIAL = _PREFIX + r".\-*^/~'’" + _SO  # characters that may split a chunk, depending on where they stand
_CONT = rf"(?:[^\s{_SPECIAL}{_SPACELESS}]++|(?!{_SUFFIX}|{_INFIX}|{_CLITIC})[{_SPECIAL}])*+"
_TOKEN_RE = re.compile(
    rf"""\s*+(
      [a-zA-Z0-9]++(?=[,;:!?)"]?(?:\s|$))                  # fast paths, same tokens as below: a plain word before
    | [a-z0-9]{{3,}}+(?=\.(?:\s|$))                        # a space or one mark (no abbreviation is 3+ lowercase)
    | (?:https?|ftp)://[^\s<>"']+(?<![.,;:!?)\]"'])        # a URL, trailing punctuation split off
    | {_AT_START}(?:{_ABBR})\.{_END}                       # an abbreviation
    | [^\s{_SPECIAL}{_SPACELESS}]++{_CONT}                 # a word, number, path or address, up to a split point
    | {_GRAPHEME}                                          # one grapheme of a script written without spaces
    | \.{{2,}} | …                                         # an ellipsis
    | {_AT_START}(?:[{_PS}§%={_SC}]|\+(?!\d))              # leading punctuation of a chunk (+1 stays whole)
    | {_CLITIC} | {_SUFFIX} | {_INFIX}                     # trailing punctuation, clitics, infixes
    | [{_SPECIAL}]{_CONT}                                  # a chunk starting with a mark that does not split: /etc
    | \S
    )""",
    re.VERBOSE,
)
_WORD_RE = re.compile(rf"(?![{_P}])(?:{_GRAPHEME})|(?:[^\W{_SPACELESS}]|[{_M}])+")
_SPACELESS_RE = re.compile(rf"[{_SPACELESS}]")
_PUNCT_TOKEN_RE = re.compile(f"[{_P}]+")
# Marks that end a sentence: spaCy sentencizer's list as datatrove extends it, plus Tibetan's shad (། ༎).
TERMINAL_MARKS = frozenset(TERMINAL_PUNCTUATION) | {"\u0f0d", "\u0f0e"}
# Punctuation inside the space-less scripts' blocks (Tibetan tsheg ་, Thai ฯ, Khmer ។ ...): not words.
SPACELESS_PUNCTUATION = frozenset(
    c for c in re.findall(f"[{_P}]", "".join(map(chr, range(0x10000)))) if _SPACELESS_RE.match(c)
)


# The last page split or counted: its text, its tokens (None when only the count is known: C4's kept lines), how
# many there are, and whether it holds space-less script (None until asked). Gopher's two steps split the same page
# and ask about it, FineWeb counts the page C4 left.
_PAGE: list = ["", None, 0, None]
_LINES: dict[str, list[str]] = {}  # stripped line of that page -> its tokens (a line's tokens depend on it alone)


def _is_page(text: str) -> bool:
    return text is _PAGE[0] or text == _PAGE[0]


def split_tokens(text: str) -> list[str]:
    """Words and punctuation marks, in order, as spaCy's blank English tokenizer splits them (without spaCy).

    >>> split_tokens("It's well-known: 3.14 people... e.g. 日本語のプロセスです。")
    ['It', "'s", 'well', '-', 'known', ':', '3.14', 'people', '...', 'e.g.', '日', '本', '語', 'の', 'プロセス', 'です', '。']

    The last text's tokens are remembered (a new list is returned each time): the Gopher repetition and quality
    steps split the same page one after the other, and the split is most of their cost. The page is split line by
    line (a token never spans a line break, and a line break is white space to every rule of the split, so the
    tokens are the same) and each stripped line's tokens are remembered too: C4 counts the tokens and sentences of
    the lines it keeps, the same lines (:func:`line_tokens`).
    """
    if _PAGE[1] is None or not _is_page(text):
        lines = text.splitlines()
        per_line = list(map(_TOKEN_RE.findall, lines))
        tokens = list(itertools.chain.from_iterable(per_line))
        _PAGE[:] = [text, tokens, len(tokens), None]
        _LINES.clear()
        _LINES.update(zip(map(str.strip, lines), per_line))
    return list(_PAGE[1])


def line_tokens(line: str) -> list[str]:
    """``split_tokens(line)`` for one line, without disturbing the remembered page: the tokens a split of the page
    found on this line when it is one of the last split page's (stripped) lines. The result must not be changed."""
    tokens = _LINES.get(line)
    return _TOKEN_RE.findall(line) if tokens is None else tokens


def split_words(text: str) -> list[str]:
    """Words only: runs of letters/marks/digits of any script; one word per grapheme in space-less scripts.

    >>> split_words("Die Würde des Menschen ist unantastbar. 人人生而自由, हिन्दी")
    ['Die', 'Würde', 'des', 'Menschen', 'ist', 'unantastbar', '人', '人', '生', '而', '自', '由', 'हिन्दी']
    """
    return _WORD_RE.findall(text)


def count_words(text: str) -> int:
    """``len(split_words(text))``."""
    return len(_WORD_RE.findall(text))


def count_line_words(line: str) -> int:
    """Words of one line as C4 counts them (``len(line.split())``), except that a line holding space-less script
    counts its words with :func:`split_words`: ``"すべての人間は、生まれながらにして自由である。"`` is 9, not 1."""
    if _SPACELESS_RE.search(line) is None:
        return len(line.split())
    return count_words(line)


def has_spaceless(text: str) -> bool:
    """Whether ``text`` holds any character of a script written without spaces (remembered for the last page)."""
    if text.isascii():
        return False
    if not _is_page(text):
        return _SPACELESS_RE.search(text) is not None
    if _PAGE[3] is None:
        _PAGE[3] = _SPACELESS_RE.search(text) is not None
    return _PAGE[3]


# A match (truthy) when a token of split_tokens / split_words is a grapheme of a space-less script: the compiled
# pattern's own method, so filter() calls no Python function per token.
SPACELESS_START = _SPACELESS_RE.match


def has_letter(token: str) -> bool:
    """Whether ``token`` holds a character that ``str.isalpha`` accepts (datatrove's "alphabetic word")."""
    return any(map(str.isalpha, token))


# How many tokens (split_tokens) a word takes in a script written without spaces: tokens per English token of the
# same text, measured on the Universal Declaration of Human Rights in samples/web (zh 1.39-1.46 over 11 Chinese
# varieties, ja 1.52-1.60, th 3.63-3.66, lo 3.90, km 3.22, my: Mon 2.78 / Shan 2.94, bo 4.91 / dz 4.61, jv 3.26,
# Tai Tham 2.41; languages written with spaces: median 0.98). Balinese, Tai Le and New Tai Lue had no text: 3.0.
# The first script in this list with more than a tenth of the characters wins (kana marks Japanese, not Chinese).
_SCRIPT_TOKENS_PER_WORD = tuple(
    (re.compile(f"[{chars}]"), factor)
    for chars, factor in (
        ("\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f", 1.55),  # Japanese kana (and the kanji with them)
        ("\u0e00-\u0e7f", 3.65),  # Thai
        ("\u0e80-\u0eff", 3.9),  # Lao
        ("\u0f00-\u0fff", 4.75),  # Tibetan
        ("\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f", 2.85),  # Myanmar
        ("\u1780-\u17ff\u19e0-\u19ff", 3.2),  # Khmer
        ("\u1a20-\u1aaf", 2.4),  # Tai Tham
        ("\ua980-\ua9df", 3.25),  # Javanese
        ("\u1950-\u19df\u1b00-\u1b7f", 3.0),  # Tai Le, New Tai Lue, Balinese
        ("\u3005\u3007\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f", 1.45),  # Han
    )
)


def tokens_per_word(tokens: list[str]) -> float:
    """About how many of these tokens (:func:`split_tokens`) make one word: 1.0, unless most tokens are graphemes
    of a script written without spaces; then that script's ratio (1.45 for Chinese ... 4.75 for Tibetan), so that
    "n words" can be measured there as ``round(n * tokens_per_word)`` tokens."""
    spaceless = list(filter(SPACELESS_START, tokens))
    if 2 * len(spaceless) <= len(tokens):
        return 1.0
    joined = "".join(spaceless)
    for script, factor in _SCRIPT_TOKENS_PER_WORD:
        if 10 * len(script.findall(joined)) > len(joined):
            return factor
    return 1.0


def split_lines(text: str) -> list[str]:
    """Lines as Python's ``str.splitlines`` cuts them (``\\n``, ``\\r\\n``, and the Unicode line separators)."""
    return text.splitlines()


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: the stripped text cut at blank lines (two or more ``\\n``), as Gopher's repetition rule does
    (``re.split(r"\\n{2,}", text.strip())``, by ``str.split``, 3x faster)."""
    text = text.strip()
    if "\n\n" not in text:
        return [text]
    # "\n\n" cuts a run of k newlines into k // 2 cuts, with empty pieces between them and, for odd k, one "\n"
    # left at the start of the next piece (never at an end: the text is stripped)
    return [p[1:] if p[0] == "\n" else p for p in text.split("\n\n") if p]


def split_newline_runs(text: str) -> list[str]:
    """``re.split("\\n+", text)`` (Gopher's lines: empty pieces only at the ends), by ``str.split``."""
    pieces = [p for p in text.split("\n") if p]
    if not text or text[0] == "\n":
        pieces.insert(0, "")
    if text and text[-1] == "\n":
        pieces.append("")
    return pieces


def remember_token_count(text: str, n: int) -> None:
    """Note that ``text`` has ``n`` tokens of :func:`split_tokens` (C4 counts them line by line as it keeps lines,
    so the FineWeb step after it need not split the page again)."""
    _PAGE[:] = [text, None, n, None]


def count_tokens(text: str) -> int:
    """``len(split_tokens(text))``, from the remembered page when it is the same text."""
    return _PAGE[2] if _is_page(text) else len(_TOKEN_RE.findall(text))


def count_sentences(text: str) -> int:
    """Sentences as spaCy's rule-based ``sentencizer`` counts them (what datatrove's C4 filter uses): a sentence
    ends at a token in a list of terminal marks (``.`` ``!`` ``?`` ``。`` ``।`` ...) once a token that is not
    punctuation follows. Tokens come from :func:`split_tokens`, so ``e.g.``, ``U.S.`` and ``3.14`` end nothing,
    and ``。`` ends a sentence inside unspaced Chinese or Japanese too (spaCy's English tokenizer would miss it).

    >>> count_sentences('He said "Stop." Then he left... for good. 今日は晴れ。明日は雨。')
    4
    """
    return sentences_and_tokens(text)[0]


def sentences_and_tokens(text: str) -> tuple[int, int]:
    """(:func:`count_sentences`, ``len(split_tokens(text))``) from one split. A token never spans a line break, so
    the tokens of lines joined by newlines are the sum of each line's."""
    n = 0
    ended = True  # the first token starts a sentence
    # not split_tokens: C4 calls this line by line, which would evict the page split by Gopher; its lines' tokens
    # are remembered from that split
    tokens = line_tokens(text)
    for token in tokens:
        if token in TERMINAL_MARKS:
            ended = True
        elif ended and _PUNCT_TOKEN_RE.fullmatch(token) is None:
            n += 1
            ended = False
    return n, len(tokens)
