"""Bundled offline models and word lists. Each file is listed here with its sha256 and described in NOTICE.md."""

from __future__ import annotations

import hashlib
from pathlib import Path

from curate.errors import StepError

HERE = Path(__file__).parent
# file name -> sha256 of the shipped bytes (see NOTICE.md for source, version and licence)
SHA256 = {
    "lid.176.ftz": "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83",
}
_verified: set[str] = set()


def asset_path(name: str) -> Path:
    """Path of the bundled asset ``name``, its checksum verified once per process; StepError if missing or modified."""
    if name not in SHA256:
        raise StepError(f"unknown asset {name!r}; bundled assets: {', '.join(sorted(SHA256))}")
    path = HERE / name
    if name not in _verified:
        if not path.is_file():
            raise StepError(f"asset {name} is missing from {HERE} (reinstall curate; see {HERE / 'NOTICE.md'})")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != SHA256[name]:
            raise StepError(f"asset {path} is modified: sha256 {digest}, expected {SHA256[name]} (see NOTICE.md)")
        _verified.add(name)
    return path
