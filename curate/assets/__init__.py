"""Bundled offline models and word lists, and the one place that loads them: every file is checked against the
``SHA256SUMS`` of its folder before first use (once per process), and described in that folder's NOTICE.md.

curate/assets/              lid.176.ftz (fastText language ID, CC-BY-SA-3.0)
curate/assets/blocklists/   LDNOOBW lists (npm naughty-words@1.2.0, CC-BY-4.0) and protected_terms.json
curate/assets/identity/     lexicon_en.json (identity terms, pronouns) and gender_pairs_en.json
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from curate.errors import StepError

HERE = Path(__file__).resolve().parent
BLOCKLISTS = HERE / "blocklists"
IDENTITY = HERE / "identity"
# lid.176 labels -> LDNOOBW file names where they differ
LANG_ALIASES = {"tl": "fil", "nb": "no", "nn": "no", "zh-cn": "zh", "zh-tw": "zh"}
_verified: set[Path] = set()


@cache
def _sums(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(None, 1) for line in lines if line.strip())}


def _verify(folder: Path, name: str) -> Path:
    """``folder/name`` after checking it against ``folder/SHA256SUMS``; StepError if unlisted, missing or modified."""
    path = folder / name
    if path in _verified:
        return path
    expected = _sums(folder).get(name)
    if expected is None:
        raise StepError(f"unknown asset {name!r}; bundled in {folder}: {', '.join(sorted(_sums(folder)))}")
    if not path.is_file():
        raise StepError(f"asset {path} is missing (reinstall curate; see {folder / 'NOTICE.md'})")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise StepError(f"asset {path} is modified: sha256 {digest}, expected {expected} (see NOTICE.md)")
    _verified.add(path)
    return path


def asset_path(name: str) -> Path:
    """Path of the bundled model ``name`` in this folder (``lid.176.ftz``), its checksum verified once per process."""
    return _verify(HERE, name)


def read_asset(folder: Path, name: str) -> bytes:
    """The bytes of ``folder/name``, verified against ``folder/SHA256SUMS``."""
    return _verify(folder, name).read_bytes()


def ldnoobw_langs() -> list[str]:
    """Languages with a bundled LDNOOBW list (28, as C4 and datatrove)."""
    return sorted(
        n.removeprefix("ldnoobw/").removesuffix(".json")
        for n in _sums(BLOCKLISTS)
        if n.endswith(".json") and n.startswith("ldnoobw/")
    )


def normalise_lang(lang: str | None) -> str | None:
    """A document's `lang` as the LDNOOBW file name: lower-case, aliases mapped, region dropped (`pt-BR` -> `pt`)."""
    if not lang:
        return None
    low = lang.lower().replace("_", "-")
    return LANG_ALIASES.get(low) or LANG_ALIASES.get(low.split("-")[0]) or low.split("-")[0]


@cache
def ldnoobw_words(lang: str) -> tuple[str, ...]:
    return tuple(json.loads(read_asset(BLOCKLISTS, f"ldnoobw/{lang}.json")))


@cache
def protected_terms(lang: str) -> frozenset[str]:
    data = json.loads(read_asset(BLOCKLISTS, "protected_terms.json"))
    return frozenset(t.lower() for t in data.get(lang, []))


@cache
def identity_lexicon(name: str = "en") -> dict:
    return json.loads(read_asset(IDENTITY, f"lexicon_{name}.json"))


@cache
def gender_pairs(name: str = "en") -> list[list[str]]:
    return json.loads(read_asset(IDENTITY, f"gender_pairs_{name}.json"))["pairs"]
