"""Exact-duplicate signals: a 64-bit hash of normalised text (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize_exact(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: copies that differ only in Unicode form, case or spacing collide."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_hash(text: str) -> int:
    """Signed 64-bit blake2b of the normalised text (signed so it fits Parquet INT64 and DuckDB BIGINT)."""
    digest = hashlib.blake2b(normalize_exact(text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
