"""Licence text -> SPDX id, SPDX headers, and allow-list checks on SPDX expressions. Pure functions.

A LICENSE / COPYING file is recognised by key phrases that appear in the licence's own text and in no other licence
of the set (checked in order, so that the LGPL, whose text mentions the GPL, is tried before the GPL). This is the
approach of GitHub's licensee "exact/keyword" matchers, not a full-text diff: it names the licence a file *is*, and
says nothing of extra clauses appended to it. The phrases come from the licence texts published at spdx.org/licenses.

Ids follow licensee's convention (``GPL-3.0``, ``LGPL-2.1``): a LICENSE file holding the GPL text does not say whether
"or any later version" applies; that is in the file headers, which an ``SPDX-License-Identifier`` line states exactly.
"""

from __future__ import annotations

import re

# (SPDX id, phrases that must all occur), tried in order; matching is on lower-cased text with white space collapsed.
FINGERPRINTS: list[tuple[str, tuple[str, ...]]] = [
    # the GPL texts name the Affero, Lesser and Library licences ("use the GNU Lesser General Public License
    # instead"), so those are recognised by their title line with its date, not by their name alone
    ("AGPL-3.0", ("gnu affero general public license version 3, 19 november 2007",)),
    ("LGPL-3.0", ("gnu lesser general public license version 3, 29 june 2007",)),
    ("LGPL-2.1", ("gnu lesser general public license version 2.1, february 1999",)),
    ("LGPL-2.0", ("gnu library general public license version 2, june 1991",)),
    ("GPL-3.0", ("gnu general public license", "version 3, 29 june 2007")),
    ("GPL-2.0", ("gnu general public license", "version 2, june 1991")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("Apache-2.0", ("www.apache.org/licenses", "version 2.0, january 2004")),  # the text without its title line
    ("PSF-2.0", ("python software foundation license version 2",)),
    ("CC0-1.0", ("cc0 1.0 universal",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    (
        "MIT",
        (
            "permission is hereby granted, free of charge, to any person obtaining a copy",
            "the above copyright notice and this permission notice shall be included",
        ),
    ),
    (
        "MIT-0",
        (
            "permission is hereby granted, free of charge, to any person obtaining a copy",
            "to permit persons to whom the software is furnished to do so.",
        ),
    ),  # MIT No Attribution
    ("ISC", ("permission to use, copy, modify, and", "distribute this software for any purpose with or without fee")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name of")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "may not be used to endorse or promote")),
    (
        "BSD-2-Clause",
        ("redistribution and use in source and binary forms", "this list of conditions and the following disclaimer"),
    ),
    (
        "Zlib",
        (
            "this software is provided 'as-is', without any express or implied",
            "altered source versions must be plainly marked as such",
        ),
    ),
    ("BSL-1.0", ("boost software license - version 1.0",)),
]

# Permissive licences (no copyleft), as BigCode's "permissive" class for The Stack (Kocetkov et al. 2022, appendix).
PERMISSIVE = frozenset(
    {
        "MIT",
        "MIT-0",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "0BSD",
        "ISC",
        "PSF-2.0",
        "Python-2.0",
        "Zlib",
        "Unlicense",
        "CC0-1.0",
        "BSL-1.0",
        "X11",
        "NCSA",
        "Artistic-2.0",
        "WTFPL",
        "UPL-1.0",
        "PostgreSQL",
    }
)

LICENSE_FILE = re.compile(r"^(un)?licen[cs]e|^copying|^copyright$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_SPDX = re.compile(r"SPDX-License-Identifier:\s*([^\n\r]*)")
_TRAILER = re.compile(r"\s*(\*/|-->|#\}|\"\"\"|'''|%>|\*\)|-\}|;)\s*$")


def is_license_file(name: str) -> bool:
    """LICENSE, LICENSE.md, LICENCE.txt, LICENSE-MIT, COPYING, COPYING.LESSER, UNLICENSE, COPYRIGHT."""
    return LICENSE_FILE.match(name) is not None


def detect_license(text: str) -> str | None:
    """The SPDX id of a licence text, or None if none of FINGERPRINTS matches."""
    flat = _SPACE.sub(" ", text[:40_000].lower())
    for spdx, phrases in FINGERPRINTS:
        if all(p in flat for p in phrases):
            return spdx
    return None


def spdx_header(text: str, max_lines: int = 30) -> str | None:
    """The expression of an ``SPDX-License-Identifier:`` line in the first ``max_lines`` lines, comment closers cut."""
    head = "\n".join(text.split("\n", max_lines)[:max_lines])
    m = _SPDX.search(head)
    if m is None:
        return None
    expr = _TRAILER.sub("", m.group(1)).strip()
    return expr or None


def combine(ids: list[str]) -> str | None:
    """Several licence files in one repository (LICENSE-MIT and LICENSE-APACHE, Rust's convention for dual licensing)
    -> an ``OR`` expression of the distinct ids, sorted; one -> itself; none -> None."""
    distinct = sorted(set(ids))
    return " OR ".join(distinct) if distinct else None


def allowed(expression: str | None, allow: frozenset[str] | set[str]) -> bool:
    """Whether an SPDX expression is acceptable under ``allow``: some ``OR`` alternative whose ``AND`` parts are all
    allowed (``WITH`` exceptions and ``-or-later``/``+`` suffixes read as their licence). None is never allowed."""
    if not expression:
        return False
    expr = expression.replace("(", " ").replace(")", " ")
    for alternative in re.split(r"\s+OR\s+", expr, flags=re.IGNORECASE):
        parts = [
            re.split(r"\s+WITH\s+", p.strip(), flags=re.IGNORECASE)[0]
            for p in re.split(r"\s+AND\s+", alternative, flags=re.IGNORECASE)
        ]
        if parts and all(_base(p) in allow for p in parts):
            return True
    return False


def _base(spdx: str) -> str:
    return re.sub(r"(-or-later|-only|\+)$", "", spdx.strip())
