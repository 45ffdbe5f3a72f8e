"""url_filter_v1: drop documents by their URL before extraction, from block lists the user points at (datatrove's
``URLFilter``, Dolma's domain taggers). Nothing is downloaded and no list ships with curate.

``blocklists`` are paths, each one of:

* a UT1 root (Université Toulouse 1 Capitole's blacklists: one folder per category, each with a ``domains`` and/or
  a ``urls`` file; ``categories`` picks some), e.g. ``/data/ut1/blacklists``;
* one category folder of that layout (the category is the folder's name);
* a plain file, one entry per line (the category is the file's name up to its first dot): lines holding a ``/`` are
  URLs, others domains. ``#`` starts a comment line.

A domain matches its subdomains; a URL entry matches the URLs under it; ``banned_words`` match a label of the host
(``curate.signals.urls``). ``allowlist`` (paths of the same kinds) wins over every block list: such a document is
kept with ``url__allowed`` true. The step records ``url__category`` and ``url__matched`` (the entry or word) and
counts ``blocked_<category>``. Documents without a URL pass (``skipped_no_url``). Memory: the lists are held as
Python dicts, about 100-150 bytes per entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field, field_validator

from curate.registry import register
from curate.signals.urls import match, normalize_domain, normalize_url
from curate.steps.base import Params, Step


class URLFilterParams(Params):
    blocklists: list[str] = Field(default_factory=list, description="UT1 roots, UT1 category folders or plain files.")
    categories: list[str] | None = Field(None, description="UT1 categories to use (`adult`, `gambling` ...); null: all.")
    allowlist: list[str] = Field(default_factory=list, description="Lists of the same kinds whose matches are kept.")
    banned_words: list[str] = Field(
        default_factory=list, description="Words that block a host holding one as a label (category `banned_word`)."
    )

    @field_validator("blocklists", "allowlist")
    @classmethod
    def _exist(cls, paths: list[str]) -> list[str]:
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise ValueError(f"no such file or folder: {', '.join(missing)}")
        return paths


def _entries(path: Path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def _add_file(path: Path, category: str, domains: dict, urls: dict, kind: str | None = None) -> None:
    for line in _entries(path):
        if (kind or ("urls" if "/" in line else "domains")) == "urls":
            norm = normalize_url(line)
            if norm:
                urls.setdefault(norm, category)
        else:
            domains.setdefault(normalize_domain(line), category)


def load_lists(paths: list[str], categories: list[str] | None = None) -> tuple[dict, dict]:
    """({domain: category}, {host/path: category}) of the block lists at ``paths``."""
    domains: dict[str, str] = {}
    urls: dict[str, str] = {}
    for p in map(Path, paths):
        if p.is_file():
            _add_file(p, p.name.split(".")[0], domains, urls)
            continue
        folders = [p] if (p / "domains").is_file() or (p / "urls").is_file() else sorted(x for x in p.iterdir()
                                                                                         if x.is_dir())
        for folder in folders:
            if categories is not None and folder.name not in categories:
                continue
            for kind in ("domains", "urls"):
                if (folder / kind).is_file():
                    _add_file(folder / kind, folder.name, domains, urls, kind)
    return domains, urls


@register
class URLFilter(Step):
    """Drop documents whose URL, domain (or a parent domain) or host words are on the given block lists.

    Lists are UT1 roots (one folder per category with `domains` / `urls` files), UT1 category folders or plain
    files (category = file name); nothing is downloaded. The allowlist wins. Stats count blocked_<category>.
    """

    name = "url_filter_v1"
    Params = URLFilterParams
    signals: ClassVar[dict[str, pa.DataType]] = {
        "url__category": pa.string(),
        "url__matched": pa.string(),
        "url__allowed": pa.bool_(),
    }
    reasons: ClassVar[dict[str, str]] = {"url_blocked": "the URL, its domain or a word of its host is block-listed"}

    def setup(self) -> None:
        p = self.params
        self._domains, self._urls = load_lists(p.blocklists, p.categories)
        self._words = {w.lower(): "banned_word" for w in p.banned_words}
        self._allow_domains, self._allow_urls = load_lists(p.allowlist)
        self.count("list_entries", len(self._domains) + len(self._urls) + len(self._words))

    def apply(self, doc: Document) -> str | None:
        url = doc.metadata.get("url")
        if not url:
            self.count("skipped_no_url")
            return None
        hit = match(url, self._domains, self._urls, self._words)
        if hit is None:
            return None
        doc.metadata["url__category"], doc.metadata["url__matched"] = hit
        allowed = match(url, self._allow_domains, self._allow_urls, {}) is not None
        doc.metadata["url__allowed"] = allowed
        if allowed:
            self.count(f"allowed_{hit[0]}")
            return None
        self.count(f"blocked_{hit[0]}")
        return "url_blocked"
