"""Deduplication: global steps that see every document of a run (exact: ``exact_dedup``; near: ``minhash/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curate.io import filled_ints, read_parquet, valid_mask


def duplicate_rows(decisions: Path, rank: int) -> np.ndarray:
    """Rows of segment shard ``rank`` (sorted) that a dedup step's decision file (``shard``, ``row``,
    ``duplicate_of``; sorted by shard and row) sends to another document: those it removes or tags."""
    table = read_parquet(decisions, ["shard", "row", "duplicate_of"], equal=("shard", rank))
    return filled_ints(table["row"])[valid_mask(table["duplicate_of"])]
