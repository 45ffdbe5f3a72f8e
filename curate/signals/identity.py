"""Identity-term and pronoun counts, and gendered-word swaps (counterfactual augmentation). Pure functions.

Counting follows the identity-term method of Dixon et al. 2018 ("Measuring and Mitigating Unintended Bias in Text
Classification", AIES): a document mentions a group when one of the group's terms occurs in it as a whole word.
The text is lower-cased and split into ``\\w+`` tokens; a term is a token sequence (``african american``,
``non-binary`` -> ``non binary``). At each position the longest term wins, so ``african american`` counts once, for
race/ethnicity, and not also ``american`` for nationality. Ambiguous adjectives (``black``, ``old``, ``straight``)
count only when the next token is a person noun (``black women``, not ``black hole``), and ``exclude_next`` drops a
term before given words (``man page``).

The swap of gendered words follows counterfactual data augmentation (Lu et al. 2018, "Gender Bias in Neural Natural
Language Processing"; Maudslay et al. 2019, "It's All in the Name"): every word of a pair is replaced by the other,
keeping its capitalisation. ``her`` is either ``his`` or ``him``: it becomes ``him`` before punctuation, the end of the
text or a function word (``for her.``, ``to her and``), else ``his`` (``her book``). Names are not swapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"\w+")
_MAX_TERM_TOKENS = 4


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass
class Lexicon:
    """A compiled lexicon: term tokens -> group, person adjectives -> group, pronoun token -> pronoun class."""

    groups: list[str]
    terms: dict[str, str] = field(default_factory=dict)  # space-joined tokens -> group (str keys: JSON-able)
    person_terms: dict[str, str] = field(default_factory=dict)
    person_nouns: frozenset[str] = frozenset()
    exclude_next: dict[str, frozenset[str]] = field(default_factory=dict)
    pronouns: dict[str, str] = field(default_factory=dict)
    first: frozenset[str] = frozenset()  # first tokens of every term: positions worth looking at


def compile_lexicon(data: dict) -> Lexicon:
    """Compile the JSON lexicon (curate/assets/identity/lexicon_en.json). A term listed in two groups is an error."""
    lex = Lexicon(groups=list(data["groups"]), person_nouns=frozenset(data.get("person_nouns", [])))
    for group, spec in data["groups"].items():
        for term in spec.get("terms", []):
            key = " ".join(tokens(term))
            if key in lex.terms and lex.terms[key] != group:
                raise ValueError(f"term {term!r} is in groups {lex.terms[key]!r} and {group!r}")
            lex.terms[key] = group
        for term in spec.get("person_terms", []):
            lex.person_terms[term.lower()] = group
    lex.exclude_next = {k: frozenset(v) for k, v in data.get("exclude_next", {}).items()}
    lex.pronouns = {w: cls for cls, words in data.get("pronouns", {}).items() for w in words}
    lex.first = frozenset({k.split()[0] for k in lex.terms} | set(lex.person_terms) | set(lex.pronouns))
    return lex


def count_identity(lex: Lexicon, text: str) -> tuple[dict[str, int], dict[str, int]]:
    """({group: mentions}, {pronoun class: occurrences}) for ``text``; every group and class is present."""
    groups = dict.fromkeys(lex.groups, 0)
    pronouns = dict.fromkeys(sorted(set(lex.pronouns.values())), 0)
    toks = tokens(text)
    n = len(toks)
    skip_until = 0
    for i in (i for i, t in enumerate(toks) if t in lex.first):
        if i < skip_until:
            continue
        tok = toks[i]
        if tok in lex.pronouns:
            pronouns[lex.pronouns[tok]] += 1
        for size in range(min(_MAX_TERM_TOKENS, n - i), 0, -1):
            group = lex.terms.get(" ".join(toks[i : i + size]))
            if group is None:
                continue
            nxt = toks[i + size] if i + size < n else None
            if size == 1 and nxt in lex.exclude_next.get(tok, ()):
                break
            groups[group] += 1
            skip_until = i + size
            break
        else:
            if tok in lex.person_terms and i + 1 < n and toks[i + 1] in lex.person_nouns:
                groups[lex.person_terms[tok]] += 1
    return groups, pronouns


# -- counterfactual swaps -------------------------------------------------------------------------------------------
_HER_OBJECT_NEXT = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "to",
        "for",
        "from",
        "with",
        "at",
        "by",
        "in",
        "on",
        "of",
        "as",
        "than",
        "that",
        "this",
        "if",
        "when",
        "so",
        "because",
        "while",
        "about",
        "into",
        "up",
        "down",
        "out",
        "off",
        "over",
        "again",
        "too",
        "is",
        "was",
        "be",
        "been",
    ]
)


def swap_table(pairs: list[list[str]]) -> dict[str, str]:
    """Both directions of every (male, female) pair; the first listing wins; `her` is decided by context."""
    table: dict[str, str] = {}
    for male, female in pairs:
        table.setdefault(male.lower(), female.lower())
        if female.lower() != "her":
            table.setdefault(female.lower(), male.lower())
    return table


def swap_regex(table: dict[str, str]) -> re.Pattern:
    words = sorted(set(table) | {"her"}, key=lambda w: (-len(w), w))
    # the look-ahead reads the next word (to decide `her`) without consuming it, so "his wife" swaps both
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b(?=(\W*)(\w*))", re.IGNORECASE)


def _case_like(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def swap_gendered(text: str, table: dict[str, str], pattern: re.Pattern) -> tuple[str, int]:
    """``text`` with every gendered word swapped for its pair, and the number of swaps."""
    n = 0

    def repl(m: re.Match) -> str:
        nonlocal n
        word, gap, nxt = m.group(1), m.group(2), m.group(3)
        low = word.lower()
        if low == "her":
            ends = not nxt or any(c in gap for c in '.,;:!?)"')
            new = "him" if ends or nxt.lower() in _HER_OBJECT_NEXT else "his"
        else:
            new = table[low]
        n += 1
        return _case_like(new, word)

    return pattern.sub(repl, text), n


# -- identity blinding (a mitigation for learned classifiers) ---------------------------------------------------------
def mask_regex(data: dict) -> re.Pattern:
    """One regex matching every term and person adjective of the lexicon as whole words (case-insensitive).

    The ~270 alternatives are merged into a trie (``(?:wom(?:an|en)|...)``): Python's ``re`` tries a plain
    alternation's branches one by one at every position, which made masking 4x the cost of scoring itself."""
    terms = set()
    for spec in data["groups"].values():
        terms.update(spec.get("terms", []))
        terms.update(spec.get("person_terms", []))
    trie: dict = {}
    for t in terms:
        node = trie
        for i, word in enumerate(tokens(t.lower())):
            for atom in ([r"\W+"] if i else []) + [re.escape(c) for c in word]:
                node = node.setdefault(atom, {})
        node[""] = {}
    return re.compile(r"(?<!\w)" + _trie_pattern(trie) + r"(?!\w)", re.IGNORECASE)


def _trie_pattern(node: dict) -> str:
    """A trie of regex atoms as one pattern; a longer match is tried before a shorter one ending at this node."""
    branches = [atom + _trie_pattern(child) for atom, child in sorted(node.items()) if atom]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def mask_identity(text: str, pattern: re.Pattern) -> str:
    """``text`` with identity terms blanked out, so a classifier scores what is said, not who it is said about
    (identity-term blinding; cf. Dixon et al. 2018 and Garg et al. 2019, "Counterfactual Fairness in Text
    Classification through Robustness")."""
    return pattern.sub(" ", text)
