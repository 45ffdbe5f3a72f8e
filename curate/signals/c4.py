"""C4's line rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Section 2.2), as datatrove
0.10.1's ``C4QualityFilter`` applies them (after TensorFlow Datasets' ``c4_utils.clean_page``), in the same order:

for each stripped line: drop it if a word is longer than ``max_word_length``; remove Wikipedia-style citations
(``[1]``, ``[edit]``); drop it unless it ends in terminal punctuation (and not in an ellipsis); drop it if it has
fewer than ``min_words_per_line`` words; drop the whole page if it says "lorem ipsum"; drop the line if it mentions
javascript; drop the whole page if it has a curly bracket; drop the line if it mentions a cookie / terms-of-use
policy. What is left must hold enough sentences (``min_num_sentences``, checked by the step).

Differences, for text beyond English only (English lines get datatrove's verdicts): terminal punctuation includes
other scripts' marks (``。`` ``！`` ``？`` ``।`` ``؟`` ``။`` ...), also when a closing CJK quote or bracket follows
(``。」``); a line holding space-less script counts words with :func:`curate.signals.text.split_words`; sentences are counted with
:func:`curate.signals.text.count_sentences`. The javascript and policy phrases are English: the caller decides for
which languages they apply (``javascript``, ``policy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from curate.signals.text import TERMINAL_MARKS, count_line_words, sentences_and_tokens

CITATION_RE = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
# C4's terminal marks ('.', '?', '!', '"'; datatrove adds "'") plus those of other scripts (spaCy's sentencizer list)
END_PUNCTUATION = tuple(sorted({".", "?", "!", '"', "'", *TERMINAL_MARKS}))
_OTHER_SCRIPT_ENDS = tuple(p for p in END_PUNCTUATION if not p.isascii())
# closing quotes / brackets that may follow another script's terminal mark: 「……です。」 “……。”
_CLOSERS = "」』）】》〉〕〗〙〛＂”’"
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
_POLICY_RE = re.compile("|".join(map(re.escape, POLICY_SUBSTRINGS)))  # any of them, in one scan


def ends_in_terminal_punct(line: str) -> bool:
    """C4's test: the line ends in a terminal mark and not in an ellipsis (``...``). A closing quote or bracket may
    follow a terminal mark of another script (``。」``, ``。”``); after ``.`` it may not, as in C4 (``."`` passes
    because ``"`` is itself one of C4's marks)."""
    if line.endswith(END_PUNCTUATION):
        return not line.endswith("...")
    return line.endswith(tuple(_CLOSERS)) and line.rstrip(_CLOSERS).endswith(_OTHER_SCRIPT_ENDS)


@dataclass
class C4Lines:
    """What the C4 line rules made of one text."""

    kept: list[str] = field(default_factory=list)  # the lines that survive, stripped, citations removed
    lines: int = 0  # lines in the input
    removed: dict[str, int] = field(default_factory=dict)  # rule -> lines it removed
    sentences: int = 0  # sentences in the kept lines
    tokens: int = 0  # split_tokens tokens in the kept lines (those of `text`)
    page_rule: str | None = None  # "lorem_ipsum" | "curly_bracket": the page-level rule that fired, if any

    @property
    def lines_removed(self) -> int:
        return sum(self.removed.values())

    @property
    def text(self) -> str:
        return "\n".join(self.kept).strip()


@dataclass(frozen=True)
class C4Rules:
    """Which C4 line rules to apply, with their parameters (the step passes its params; None / False disables)."""

    max_word_length: int | None = 1000
    remove_citations: bool = True
    terminal_punct: bool = True
    min_words_per_line: int | None = 3
    lorem_ipsum: bool = True
    curly_bracket: bool = True
    javascript: bool = True  # an English phrase: the caller decides for which languages
    policy: bool = True  # English phrases about cookies, terms of use, privacy policies

    def apply(self, text: str) -> C4Lines:
        """Run the rules over the lines of ``text``; stop at the first page-level rule, as datatrove does."""
        out = C4Lines()
        lines = text.splitlines()
        out.lines = len(lines)
        for line in lines:
            rule = self._line_rule(line.strip(), out)
            if rule is not None:
                out.removed[rule] = out.removed.get(rule, 0) + 1
            if out.page_rule is not None:
                break
        return out

    def _line_rule(self, line: str, out: C4Lines) -> str | None:
        """The rule that removes ``line``, or None (then the line is kept in ``out``)."""
        # (a word longer than the limit needs a line longer than it; a citation needs a "[": exact shortcuts)
        long = self.max_word_length is not None and len(line) > self.max_word_length
        if long and any(len(w) > self.max_word_length for w in line.split()):
            return "too_long_word"
        if self.remove_citations and "[" in line:
            line = CITATION_RE.sub("", line)
        if self.terminal_punct and not ends_in_terminal_punct(line):
            return "no_terminal_punct"
        if self.min_words_per_line is not None and count_line_words(line) < self.min_words_per_line:
            return "too_few_words"
        lower = line.lower()
        if self.lorem_ipsum and "lorem ipsum" in lower:
            out.page_rule = "lorem_ipsum"
            return "lorem_ipsum"
        if self.javascript and "javascript" in lower:
            return "javascript"
        if self.curly_bracket and "{" in line:
            out.page_rule = "curly_bracket"
            return "curly_bracket"
        if self.policy and _POLICY_RE.search(lower) is not None:
            return "policy"
        out.kept.append(line)
        sentences, tokens = sentences_and_tokens(line)
        out.sentences += sentences
        out.tokens += tokens
        return None
