"""`curate decontam index`: an n-gram index of evaluation data, which `decontam_ngram_v1` checks documents against.

An index is a directory::

    hashes.npy   sorted unique 64-bit n-gram hashes (uint64, 8 bytes per n-gram)
    tasks.npy    the task id of each (uint16, 2 bytes per n-gram)
    index.json   n, task names, per task: files, items, n-grams, items shorter than n (not indexable)

Evaluation files are JSONL (``.jsonl``, ``.json``, optionally ``.gz``), Parquet or plain text (any other suffix: the
whole file is one item). In JSONL and Parquet each string field named by ``--field`` (default: every string field of
the record) is its own item: an n-gram never spans two fields (a question and its answer choices, say).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from curate.errors import ConfigError

INDEX_FORMAT = 1
BYTES_PER_NGRAM = 10  # 8 (uint64 hash) + 2 (uint16 task id): what the step holds in memory per indexed n-gram


def _open_text(path: Path):
    # undecodable bytes become U+FFFD, which n-gram normalisation treats as a word break: one bad byte costs no file
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _strings(record: dict, fields: list[str] | None) -> list[str]:
    if fields:
        return [record[f] for f in fields if isinstance(record.get(f), str)]
    return [v for v in record.values() if isinstance(v, str)]


def read_items(path: Path, fields: list[str] | None) -> Iterator[str | None]:
    """The texts of an evaluation file; None for a record that is not valid JSON (counted by the caller)."""
    kind = path.name.removesuffix(".gz").rsplit(".", 1)[-1].lower()
    if kind in ("jsonl", "json"):
        with _open_text(path) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    yield None
                    continue
                for item in record if isinstance(record, list) else [record]:  # a JSON array on one line, too
                    if isinstance(item, dict):
                        yield from _strings(item, fields)
                    elif isinstance(item, str):
                        yield item
                    else:
                        yield None  # a number or null where a record belongs: counted as a bad record
    elif kind == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield from _strings(record, fields)
    else:
        with _open_text(path) as f:
            yield f.read()


def build(files: list[str], out: str, n: int = 13, tasks: list[str] | None = None, fields: list[str] | None = None,
          echo=print) -> dict:
    """Index the n-grams of ``files`` under ``out``; returns the index.json content."""
    from curate.signals.decontam import build_index, ngram_hashes

    names = _task_names(files, tasks)
    task_list = list(dict.fromkeys(names))
    arrays, ids, per_task = [], [], {t: {"files": [], "items": 0, "short_items": 0, "bad_records": 0}
                                     for t in task_list}
    t0 = time.perf_counter()
    for path, task in zip(files, names):
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"curate decontam index: no such file {path}")
        info = per_task[task]
        info["files"].append(str(path))
        for text in read_items(p, fields):
            if text is None:
                info["bad_records"] += 1
                continue
            h = ngram_hashes(text, n)
            info["items"] += 1
            if len(h) == 0:
                info["short_items"] += 1
                continue
            arrays.append(h)
            ids.append(task_list.index(task))
        echo(f"  {path}: task {task}, {info['items']:,} items so far ({time.perf_counter() - t0:.1f} s)")
    hashes, task_ids = build_index(arrays, ids)
    for i, task in enumerate(task_list):
        per_task[task]["ngrams"] = int((task_ids == i).sum())
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / "hashes.npy", hashes)
    np.save(root / "tasks.npy", task_ids)
    meta = {"format": INDEX_FORMAT, "n": n, "ngrams": len(hashes), "tasks": task_list, "per_task": per_task,
            "bytes_in_memory": int(len(hashes) * BYTES_PER_NGRAM)}
    (root / "index.json").write_text(json.dumps(meta, indent=1))
    return meta


def _task_names(files: list[str], tasks: list[str] | None) -> list[str]:
    if not tasks:
        return [Path(f).name.split(".")[0] for f in files]
    if len(tasks) == 1:
        return tasks * len(files)
    if len(tasks) != len(files):
        raise ConfigError(f"--task: give one name for all files or one per file ({len(files)}), got {len(tasks)}")
    return list(tasks)


def load(path: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """(index.json, hashes, task ids) of an index directory; the arrays are memory-mapped (paged in as touched)."""
    root = Path(path)
    try:
        meta = json.loads((root / "index.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"index: {path} is not a `curate decontam index` directory ({e})") from None
    if meta.get("format") != INDEX_FORMAT:
        raise ConfigError(f"index: {path} has format {meta.get('format')}, this curate reads {INDEX_FORMAT}")
    return meta, np.load(root / "hashes.npy", mmap_mode="r"), np.load(root / "tasks.npy", mmap_mode="r")
