"""Where MinHash dedup keeps its intermediate arrays, and how they are written and read back in bounded memory.

Under ``_work/minhash_<position>/``::

    sigs/<rank>.keys     uint64 (rows, bands)        band keys, one row per document of the segment shard <rank>
    sigs/<rank>.sketch   uint8  (rows, bands*rows)   b-bit sketches (the low 8 bits of each minimum)
    sigs/<rank>.meta     META   (rows,)              text length, shingle count, source rank (the keeper rule)
    pairs/<task>.npy     uint64 (pairs,)             candidate pairs of the bands of bucket task <task>, packed
    clusters.parquet     CLUSTERS_SCHEMA             one row per document of a cluster of two or more

sigs/ and pairs/ are deleted once clusters.parquet is written (the cluster stage is skipped when it exists).

Row r of ``sigs/<rank>.*`` is row r of the segment shard ``segment<k>/<rank>.parquet``. Every file is written to a
``.tmp`` name and renamed when complete (nothing half-written is read), and a file is read in blocks of
``CHUNK`` rows, so reading never holds more than the block and the part that is kept.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.io import atomic_path, partial

META = np.dtype([("chars", "<i8"), ("shingles", "<i4"), ("source_rank", "<i4")])  # 16 bytes a document
CHUNK = 1 << 16
CLUSTERS_SCHEMA = pa.schema(
    [
        ("shard", pa.int32()),  # rank of the segment shard
        ("row", pa.int64()),  # row in that shard
        ("cluster", pa.string()),  # id of the cluster's kept document
        ("size", pa.int32()),  # documents in the cluster
        ("duplicate_of", pa.string()),  # id of the kept document; null for the kept document itself
        ("similarity", pa.float32()),  # estimated 5-gram Jaccard with the kept document; null for it
    ]
)


class SigFiles:
    """The files of one MinHash dedup step of one run."""

    def __init__(self, root: Path | str, bands: int, width: int):
        self.root = Path(root)
        self.bands, self.width = bands, width

    def path(self, rank: int, kind: str) -> Path:
        return self.root / "sigs" / f"{rank:05d}.{kind}"

    def pairs_path(self, task: int) -> Path:
        return self.root / "pairs" / f"{task:05d}.npy"

    @property
    def clusters_path(self) -> Path:
        return self.root / "clusters.parquet"

    def ranks(self) -> list[int]:
        return sorted(int(p.stem) for p in (self.root / "sigs").glob("*.meta"))

    def rows(self, rank: int) -> int:
        return self.path(rank, "meta").stat().st_size // META.itemsize

    def offsets(self) -> tuple[list[int], np.ndarray]:
        """(ranks, global index of the first document of each rank + the total at the end)."""
        ranks = self.ranks()
        return ranks, np.concatenate([[0], np.cumsum([self.rows(r) for r in ranks])]).astype(np.int64)

    def remove_inputs(self) -> None:
        """Delete the signatures and pairs once the clusters are written (clusters.parquet stays, for inspection)."""
        for folder in ("sigs", "pairs"):
            shutil.rmtree(self.root / folder, ignore_errors=True)

    def writer(self, rank: int) -> SigWriter:
        return SigWriter({kind: self.path(rank, kind) for kind in ("keys", "sketch", "meta")})

    def blocks(self, rank: int, kind: str) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, block of up to CHUNK rows) of one file, in order."""
        dtype, width = self._format(kind)
        start = 0
        with open(self.path(rank, kind), "rb") as f:
            while True:
                block = np.fromfile(f, dtype=dtype, count=CHUNK * width)
                if not len(block):
                    return
                block = block.reshape(-1, width) if width > 1 else block
                yield start, block
                start += len(block)

    def column(self, rank: int, kind: str, col: int | str) -> np.ndarray:
        """One column of a file (a band of keys, a field of meta), read block by block."""
        parts = [b[:, col] if isinstance(col, int) else b[col] for _, b in self.blocks(rank, kind)]
        empty = self.empty(kind)
        return np.concatenate(parts) if parts else (empty[:, col] if isinstance(col, int) else empty[col])

    def select(self, rank: int, kind: str, rows: np.ndarray) -> np.ndarray:
        """The given rows (sorted, unique) of one file."""
        parts = []
        for start, block in self.blocks(rank, kind):
            lo, hi = np.searchsorted(rows, [start, start + len(block)])
            if hi > lo:
                parts.append(block[rows[lo:hi] - start])
        return np.concatenate(parts) if parts else self.empty(kind)

    def _format(self, kind: str) -> tuple[np.dtype, int]:
        formats = {"keys": (np.uint64, self.bands), "sketch": (np.uint8, self.width), "meta": (META, 1)}
        dtype, width = formats[kind]
        return np.dtype(dtype), width

    def empty(self, kind: str) -> np.ndarray:
        dtype, width = self._format(kind)
        return np.empty((0, width) if width > 1 else 0, dtype)


class SigWriter:
    """Appends the arrays of one rank's documents to their files; ``close`` renames them into place."""

    def __init__(self, paths: dict[str, Path]):
        self.paths = paths
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        # open across many write() calls, closed (and renamed) in close()
        self.files = {k: open(partial(p), "wb") for k, p in paths.items()}  # noqa: SIM115

    def write(self, keys: np.ndarray, sketch: np.ndarray, meta: np.ndarray) -> None:
        for kind, arr in (("keys", keys), ("sketch", sketch), ("meta", meta)):
            self.files[kind].write(np.ascontiguousarray(arr).tobytes())

    def close(self) -> None:
        for kind, f in self.files.items():
            f.close()
            os.replace(f.name, self.paths[kind])


def save_atomic(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, arr)
