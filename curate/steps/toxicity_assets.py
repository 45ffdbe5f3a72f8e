"""The bundled word lists of the toxicity and bias steps, checked against their SHA256SUMS before use.

curate/assets/blocklists/   LDNOOBW lists (npm naughty-words@1.2.0, CC-BY-4.0) and protected_terms.json
curate/assets/identity/     lexicon_en.json (identity terms, pronouns) and gender_pairs_en.json
Each folder's NOTICE.md gives source, version, licence and checksums. No step registers here.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from curate.errors import StepError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BLOCKLISTS = ASSETS / "blocklists"
IDENTITY = ASSETS / "identity"
# lid.176 labels -> LDNOOBW file names where they differ
LANG_ALIASES = {"tl": "fil", "nb": "no", "nn": "no", "zh-cn": "zh", "zh-tw": "zh"}


@cache
def _sums(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(None, 1) for line in lines if line.strip())}


def read_asset(folder: Path, name: str) -> bytes:
    """The bytes of ``folder/name``, verified against ``folder/SHA256SUMS``; StepError if missing or modified."""
    path = folder / name
    expected = _sums(folder).get(name)
    if expected is None or not path.is_file():
        raise StepError(f"asset {path} is missing or not listed in {folder / 'SHA256SUMS'} (reinstall curate)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise StepError(f"asset {path} is modified: sha256 {digest}, expected {expected} (see NOTICE.md)")
    return data


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
