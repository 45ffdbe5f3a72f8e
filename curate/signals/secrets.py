"""Secrets and personal data in source files -> redacted text and counts per kind. Pure functions.

StarCoder's PII pipeline (Li et al. 2023, section 4; BigCode ``pii/``) found e-mail addresses with a regular expression
and keys with detect-secrets, and replaced each with a placeholder token: ``<EMAIL>``, ``<KEY>``. The same
placeholders are used here. Keys are found by the fixed prefixes and lengths their issuers publish (as gitleaks and
GitHub secret scanning do), not by entropy, so ordinary identifiers and hashes are left alone:

========== ================================================================================ ===========
kind       what                                                                             placeholder
========== ================================================================================ ===========
email      local@domain.tld                                                                 ``<EMAIL>``
private_key a PEM ``-----BEGIN ... PRIVATE KEY-----`` block, through its END line              ``<KEY>``
cloud_key  AWS access key ids (AKIA/ASIA...), AWS secret keys assigned to aws_secret_access_key, ``<KEY>``
           Google API keys (AIza...), Azure storage ``AccountKey=``
token      GitHub (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), GitLab (glpat-), Slack (xox?-),    ``<KEY>``
           Stripe live keys, npm, PyPI upload tokens, JSON Web Tokens
========== ================================================================================ ===========
"""

from __future__ import annotations

import re
from collections import Counter

PLACEHOLDERS = {"email": "<EMAIL>", "private_key": "<KEY>", "cloud_key": "<KEY>", "token": "<KEY>"}
KINDS = tuple(PLACEHOLDERS)

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,16384}?-----END[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
)
# (kind, literals, pattern): the pattern runs only on a text holding one of its literals (a substring test is ~100x
# faster than a regex scan); a pattern with a group redacts only the group (the value, not the name it is assigned to).
_KEYS: list[tuple[str, tuple[str, ...], re.Pattern]] = [
    ("cloud_key", ("AKIA", "ASIA", "ABIA", "ACCA"), re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    (
        "cloud_key",
        ("secret", "SECRET", "Secret"),
        re.compile(r"(?i:aws_?secret_?access_?key)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
    ),
    ("cloud_key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])")),
    ("cloud_key", ("AccountKey=",), re.compile(r"AccountKey=([A-Za-z0-9+/=]{86,88})")),
    ("token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b")),
    ("token", ("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{82}\b")),
    ("token", ("glpat-",), re.compile(r"\bglpat-[0-9A-Za-z_-]{20}(?![\w-])")),
    ("token", ("xox",), re.compile(r"\bxox[baprs]-[0-9A-Za-z-]{10,}")),
    ("token", ("k_live_",), re.compile(r"\b[sr]k_live_[0-9A-Za-z]{24,}")),
    ("token", ("npm_",), re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("token", ("pypi-AgEIcHlwaS5vcmc",), re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")),
    ("token", ("eyJ",), re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
]


def _sub(pattern: re.Pattern, placeholder: str, text: str) -> tuple[str, int]:
    def repl(m: re.Match) -> str:
        if m.re.groups:
            return m.group(0)[: m.start(1) - m.start(0)] + placeholder + m.group(0)[m.end(1) - m.start(0) :]
        return placeholder

    return pattern.subn(repl, text)


def redact(text: str, kinds=KINDS) -> tuple[str, Counter]:
    """``text`` with every secret of ``kinds`` replaced by its placeholder, and the number replaced per kind."""
    counts: Counter = Counter()
    if "private_key" in kinds and "PRIVATE KEY" in text:
        text, n = _sub(_PRIVATE_KEY, PLACEHOLDERS["private_key"], text)
        counts["private_key"] += n
    for kind, literals, pattern in _KEYS:
        if kind not in kinds or not any(lit in text for lit in literals):
            continue
        text, n = _sub(pattern, PLACEHOLDERS[kind], text)
        counts[kind] += n
    if "email" in kinds and "@" in text:
        text, n = _sub(_EMAIL, PLACEHOLDERS["email"], text)
        counts["email"] += n
    return text, counts
