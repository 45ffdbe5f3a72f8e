"""Deduplication: global steps that see every document of a run (exact: ``exact_dedup``; near: ``minhash/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.io import filled_ints, valid_mask


def duplicate_rows(decisions: Path) -> dict[int, np.ndarray]:
    """{shard: its rows (sorted)} that a dedup step's decision file (``shard``, ``row``, ``duplicate_of``; sorted by
    shard and row) sends to another document: those it removes, or tags in tag mode. Read once, row group by row
    group, keeping 16 bytes a removed document (the ids are only tested for null)."""
    pf = pq.ParquetFile(decisions)
    shards, rows = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for g in range(pf.num_row_groups):
        table = pf.read_row_group(g, columns=["shard", "row", "duplicate_of"])
        removed = valid_mask(table["duplicate_of"])
        shards.append(filled_ints(table["shard"])[removed])
        rows.append(filled_ints(table["row"])[removed])
    shard, row = np.concatenate(shards), np.concatenate(rows)
    cuts = np.flatnonzero(shard[1:] != shard[:-1]) + 1
    return {int(s[0]): r for s, r in zip(np.split(shard, cuts), np.split(row, cuts)) if len(s)}
