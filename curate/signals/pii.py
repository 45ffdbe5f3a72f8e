"""Find and replace personal data: e-mail addresses, IP addresses and phone numbers. Pure functions.

E-mail and IPv4 patterns are datatrove's ``PIIFormatter`` ones (as used for FineWeb), and, as there, only public
(globally routable) IP addresses count: ``127.0.0.1`` or ``192.168.0.1`` identify nobody. Added here:

* IPv6: a run of hex digits and colons with at least two colons, kept only if ``ipaddress`` parses it and calls it
  global (so ``12:30:45`` or ``std::vector`` never count);
* phone numbers, conservatively: a ``+`` country code followed by groups of digits, or the North American form
  ``(555) 010-0199`` / ``555-010-0199`` / ``555.010.0199``; a match needs 10 to 15 digits (E.164 allows at most 15) and
  separators between groups, so dates, ISBNs, version numbers and long digit runs do not match.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

# (?=...{1,64}@): a match can start only 64 characters or fewer before an "@" (RFC 5321's longest local part).
# Without it, every word boundary of a long run of address characters with no "@" (a.b.c.d..., a line of
# hyphenated words with no space) rescanned the run to its end: quadratic (80 KB of "ab-" took 136 s).
EMAIL = re.compile(
    r"\b(?=[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@)"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:(?:[A-Za-z0-9](?:["
    r"A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|["
    r"01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)])"
)
IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)")
IPV6 = re.compile(r"(?<![0-9A-Za-z:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{3,39}(?![0-9A-Za-z:])")
PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\)|[ .-]\d{1,4})(?:[ .-]\d{2,4}){1,4}"  # +44 20 7946 0958, +1 (555) 010-0199
    r"|(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}"  # (555) 010-0199, 555-010-0199, 555.010.0199
    r")(?![\w])"
)


# Necessary conditions, checked first because they are cheap: a text without them has no match of the pattern (an
# IPv4 match holds "digit . 1-3 digits . 1-3 digits . digit"; an IPv6 match two colons with only hex digits between
# them; a phone match "+digit" or ".dddd" / "-dddd"). On 1,000 real web pages they cut the four patterns' time 4x.
_IPV4_HINT = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")  # three dots: version numbers (3.11.7) have two
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]*:")
_PHONE_HINTS = (re.compile(r"\+\d"), re.compile(r"[.-]\d{4}"))
HINTS: dict[str, Callable[[str], object]] = {
    "email": lambda text: "@" in text,
    "ip": _IPV4_HINT.search,
    "ipv6": _IPV6_HINT.search,
    "phone": lambda text: any(h.search(text) for h in _PHONE_HINTS),
}


def _public_ip(s: str) -> bool:
    try:
        return ipaddress.ip_address(s).is_global
    except ValueError:
        return False


def _phone_digits_ok(s: str) -> bool:
    return 10 <= sum(c.isdigit() for c in s) <= 15


KINDS: dict[str, tuple[re.Pattern, Callable[[str], bool] | None]] = {
    "email": (EMAIL, None),
    "ip": (IPV4, _public_ip),
    "ipv6": (IPV6, _public_ip),
    "phone": (PHONE, _phone_digits_ok),
}


def redact(text: str, replacements: dict[str, str]) -> tuple[str, dict[str, int]]:
    """Replace each kind named in ``replacements`` (email, ip, ipv6, phone) by its replacement string.

    Returns the new text and {kind: number of replacements}. Kinds run in that order, so an e-mail address whose
    domain is an IP literal is replaced once, as an e-mail address.
    """
    counts = {}
    for kind, (pattern, valid) in KINDS.items():
        if kind not in replacements:
            continue
        if not HINTS[kind](text):
            counts[kind] = 0
            continue
        n = 0

        def sub(m: re.Match, _valid=valid, _new=replacements[kind]) -> str:
            nonlocal n
            if _valid is not None and not _valid(m.group(0)):
                return m.group(0)
            n += 1
            return _new

        text = pattern.sub(sub, text)
        counts[kind] = n
    return text, counts
