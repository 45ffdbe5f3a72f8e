"""Train a fastText classifier from labelled JSONL / Parquet rows (the DCLM / Dolma recipe); the command is
`curate classifier train` (curate/commands/classifier.py).

    curate classifier train data/*.jsonl -o toxic.bin --label-field label --positive 1

Rows need a text field and a label field. A seeded hash of each row's text puts ``--holdout`` of them aside; the model
is trained on the rest (fastText supervised, word bigrams, as DCLM's and Dolma's fastText classifiers) and the held-out
precision, recall (at the two-class decision, probability 0.5) and AUROC of the positive label are printed and written
next to the model as ``MODEL.json``. Use the model with the ``fasttext_classifier_v1`` step
(``label: __label__<positive>``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from curate.errors import ConfigError
from curate.io import atomic_write_text
from curate.metrics import auroc, precision_recall


def read_rows(paths: list[str], text_field: str, label_field: str) -> tuple[list[tuple[str, str]], int]:
    """[(text, label)] from JSONL and Parquet files, and the number of rows skipped (no text or no label)."""
    rows, skipped = [], 0
    for path in paths:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            names = pq.ParquetFile(path).schema_arrow.names
            missing = [f for f in (text_field, label_field) if f not in names]
            if missing:
                raise ConfigError(f"{path}: no column {missing[0]!r} (columns: {', '.join(names)})")
            table = pq.read_table(path, columns=[text_field, label_field])
            records = zip(table[text_field].to_pylist(), table[label_field].to_pylist())
        else:
            records = _jsonl(path, text_field, label_field)
        for text, label in records:
            if not isinstance(text, str) or not text.strip() or label is None:
                skipped += 1
                continue
            rows.append((" ".join(text.split()), str(label)))
    return rows, skipped


def _jsonl(path: str, text_field: str, label_field: str):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                yield None, None
                continue
            yield (row.get(text_field), row.get(label_field)) if isinstance(row, dict) else (None, None)


def split(rows: list[tuple[str, str]], holdout: float, seed: int) -> tuple[list, list]:
    """Deterministic split by a seeded hash of the text (a duplicated text never lands on both sides)."""
    train, test = [], []
    for text, label in rows:
        h = int.from_bytes(hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=8).digest(), "big") / 2**64
        (test if h < holdout else train).append((text, label))
    return train, test


def train_model(train: list, out: Path, threads: int, **hyper):
    """fastText supervised training on ``train`` [(text, label)]; ``hyper``: epoch, lr, wordNgrams, dim, bucket, seed."""
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for text, label in train:
            f.write(f"__label__{label} {text}\n")
    try:
        model = fasttext.train_supervised(input=f.name, thread=threads, verbose=0, **hyper)
    finally:
        Path(f.name).unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(out))
    return model


def evaluate(model, test: list, positive: str) -> dict:
    """Held-out precision and recall at probability 0.5, and AUROC, of the positive label."""
    target = f"__label__{positive}"
    k = len(model.get_labels())
    labels, probs = model.predict([t for t, _ in test], k=k)
    scores = [float(dict(zip(ls, ps)).get(target, 0.0)) for ls, ps in zip(labels, probs)]
    y = [lab == positive for _, lab in test]
    pr = precision_recall(y, [s >= 0.5 for s in scores])
    return {"auroc": auroc(y, scores), **pr, "positives": sum(y)}


def train_classifier(inputs: list[str], output: str, text_field: str, label_field: str, positive: str,
                     holdout: float, seed: int, threads: int, **hyper) -> dict:
    """Read, split, train and evaluate; writes the model to ``output`` and its metrics to ``MODEL.json``; returns
    the metrics. ``hyper``: epoch, lr, wordNgrams, dim, bucket (fastText's names)."""
    rows, skipped = read_rows(inputs, text_field, label_field)
    labels = sorted({lab for _, lab in rows})
    if len(labels) < 2:
        raise ConfigError(
            f"need at least two label values in {label_field!r}, found {labels} "
            f"({len(rows)} usable rows, {skipped} skipped)"
        )
    if positive not in labels:
        raise ConfigError(f"--positive {positive!r} is not a label value; values: {', '.join(labels)}")
    train, test = split(rows, holdout, seed)
    model = train_model(train, Path(output), threads, seed=seed, **hyper)
    metrics = {
        "train_rows": len(train),
        "heldout_rows": len(test),
        "skipped_rows": skipped,
        "labels": labels,
        "positive": positive,
        **evaluate(model, test, positive),
    }
    atomic_write_text(Path(output).with_suffix(".json"), json.dumps(metrics, indent=1) + "\n")
    return metrics
