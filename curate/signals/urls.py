"""URL and domain block-list matching (pure), as datatrove's ``URLFilter`` and Dolma's domain taggers match.

A URL is split into its host (lower case, without port, user info or a leading ``www.``) and path. A domain entry
``example.com`` matches that host and every subdomain (``a.b.example.com``), so the host's suffixes are looked up,
longest first. A URL entry (``example.com/forum/``, as UT1 writes them: no scheme) matches the URL and every URL
under it: the host plus each path prefix that ends at a ``/`` is looked up. A banned word matches a whole label of
the host split at ``.`` and ``-`` (``casino`` blocks ``best-casino.example.net``, not ``casinos.org``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SPLIT = re.compile(r"[.\-]")


def normalize_domain(entry: str) -> str:
    """A block-list domain line as hosts are compared: lower case, no scheme, path, port or leading ``www.``/dot."""
    e = entry.strip().lower()
    if "://" in e:
        e = e.split("://", 1)[1]
    e = e.split("/", 1)[0].split(":", 1)[0].strip(".")
    return e.removeprefix("www.")


def normalize_url(url: str) -> str | None:
    """``host/path`` of a URL or UT1 URL line (no scheme, no query or fragment, host normalised); None if hostless."""
    u = url.strip()
    if "://" not in u:
        u = "http://" + u
    try:
        parts = urlsplit(u)
        host = parts.hostname
    except ValueError:
        return None
    if not host:
        return None
    return normalize_domain(host) + (parts.path or "")


def host_suffixes(host: str) -> list[str]:
    """``a.b.c`` -> [``a.b.c``, ``b.c``, ``c``]: the keys a domain block list is searched for, longest first."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def url_prefixes(norm_url: str) -> list[str]:
    """``h/a/b/c.html`` -> [``h/a/b/c.html``, ``h/a/b``, ``h/a/b/``, ``h/a``, ``h/a/``, ``h``, ``h/``]: the keys a URL
    list is searched for, longest first (an entry matches with or without its trailing slash)."""
    segments = norm_url.split("/")
    out = [norm_url]
    for i in range(len(segments) - 1, 0, -1):
        head = "/".join(segments[:i])
        out += [head, head + "/"]
    return list(dict.fromkeys(out))


def match(url: str, domains: dict[str, str], urls: dict[str, str], words: dict[str, str]) -> tuple[str, str] | None:
    """(category, the entry that matched) of the first list ``url`` is on: URLs, then domains (most specific
    suffix first), then banned words in the host; None if on none. Dicts map entries to categories."""
    norm = normalize_url(url)
    if norm is None:
        return None
    host = norm.split("/", 1)[0]
    if urls:
        for key in url_prefixes(norm):
            if key in urls:
                return urls[key], key
    for key in host_suffixes(host):
        if key in domains:
            return domains[key], key
    if words:
        for label in _SPLIT.split(host):
            if label in words:
                return words[label], label
    return None
