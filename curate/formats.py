"""What an input file is (JSON Lines, Parquet, WARC, plain text), from its magic bytes and its name, and which reader
reads it. ``curate run pipelines/dedup.yaml -i docs.jsonl`` must not read JSON Lines as Parquet: ``choose_reader``
switches the pipeline's reader to the one the inputs need (said on stderr), unless ``--set input.reader=...`` chose it.

Magic bytes decide first (``PAR1`` starts a Parquet file; ``WARC/`` a WARC record; ``{`` a JSON object), looked at
through gzip and zstd compression; the name decides where the bytes say nothing (``.txt``: plain text).
"""

from __future__ import annotations

import gzip
import os
import sys

# format -> the reader that reads it
READERS = {"jsonl": "jsonl_v1", "parquet": "parquet_v1", "warc": "warc_v1", "text": "books_txt_v1"}
NAMES = {"jsonl": "JSON Lines", "parquet": "Parquet", "warc": "WARC", "text": "plain text"}
_EXTENSIONS = {
    ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet",
    ".warc": "warc", ".wet": "warc", ".arc": "warc", ".txt": "text",
}  # fmt: skip
_GZIP, _ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"


def _by_name(path: str) -> str | None:
    name = path.lower()
    for suffix in (".gz", ".zst", ".zstd", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return _EXTENSIONS.get(os.path.splitext(name)[1])


def _head(path: str, n: int = 512) -> bytes:
    """The first ``n`` bytes of ``path``, decompressed when it is gzip or zstd ("" when unreadable)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(n)
            if raw.startswith(_GZIP):
                f.seek(0)
                try:
                    return gzip.GzipFile(fileobj=f).read(n)
                except (OSError, EOFError):
                    return b""
            if raw.startswith(_ZSTD):
                try:
                    import zstandard

                    f.seek(0)
                    return zstandard.ZstdDecompressor().stream_reader(f).read(n)
                except Exception:  # noqa: BLE001 - no zstandard, or a bad frame: the name decides
                    return b""
            return raw
    except OSError:
        return b""


def _by_bytes(head: bytes) -> str | None:
    if head.startswith(b"PAR1"):
        return "parquet"
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if body.startswith((b"WARC/", b"filedesc://")):
        return "warc"
    if body.startswith(b"{"):
        return "jsonl"
    return None


def detect(path: str) -> str | None:
    """``jsonl`` | ``parquet`` | ``warc`` | ``text`` | None (a directory, or nothing says)."""
    if os.path.isdir(path):
        return None
    return _by_bytes(_head(path)) or _by_name(path)


def choose_reader(reader: str, files: list[str], forced: bool) -> str:
    """The reader for ``files``: ``reader`` when it fits them (or ``forced`` by --set), else the one their format
    needs. Inputs of two formats, with none that fits ``reader``, are a ConfigError naming ``--set input.reader``."""
    from curate.errors import ConfigError

    formats = {f: detect(f) for f in files}
    known = {fmt for fmt in formats.values() if fmt}
    if forced or not known or reader not in READERS.values() or {READERS[fmt] for fmt in known} == {reader}:
        return reader
    if len(known) > 1:
        seen = ", ".join(f"{os.path.basename(f)} ({NAMES[fmt]})" for f, fmt in list(formats.items())[:4] if fmt)
        raise ConfigError(
            f"the inputs mix formats ({seen}); one run reads one format: run them separately, or choose the reader "
            f"with --set input.reader={'|'.join(READERS[fmt] for fmt in sorted(known))}"
        )
    fmt = known.pop()
    print(
        f"input: {NAMES[fmt]} files, read with {READERS[fmt]} instead of {reader} "
        f"(--set input.reader=... chooses the reader)",
        file=sys.stderr,
    )
    return READERS[fmt]


def match_reader(spec, forced: bool) -> None:
    """Switch ``spec.input.reader`` to the one its input files need (``choose_reader``), keeping the reader
    parameters the new reader knows (``id_field``, ``text_field``, ``source_field`` are shared by jsonl_v1 and
    parquet_v1) and saying which it leaves out."""
    from curate.config import input_files
    from curate.registry import get_step

    chosen = choose_reader(spec.input.reader, input_files(spec), forced)
    if chosen == spec.input.reader:
        return
    fields = get_step(chosen).Params.model_fields
    dropped = [k for k in spec.input.params if k not in fields]
    if dropped:
        print(f"input: {chosen} has no parameter {', '.join(dropped)}; left out", file=sys.stderr)
    spec.input.reader = chosen
    spec.input.params = {k: v for k, v in spec.input.params.items() if k in fields}
