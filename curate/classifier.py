"""`curate classifier train`: train a fastText classifier from labelled JSONL / Parquet rows (the DCLM / Dolma recipe).

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

import click

from curate.errors import ConfigError
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


@click.group("classifier")
def classifier_group():
    """Train fastText classifiers for fasttext_classifier_v1."""


@classifier_group.command("train")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model file to write (.bin).")
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="label", show_default=True)
@click.option("--positive", default="1", show_default=True, help="Label value scored by precision, recall, AUROC.")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0.01, 0.9))
@click.option("--epoch", default=5, show_default=True, help="fastText epochs (its default).")
@click.option("--lr", default=0.1, show_default=True, help="fastText learning rate (its default).")
@click.option("--word-ngrams", default=2, show_default=True, help="Word n-grams (DCLM, Dolma: 2).")
@click.option("--dim", default=100, show_default=True, help="Embedding size (fastText default).")
@click.option(
    "--bucket",
    default=2_000_000,
    show_default=True,
    help="Hash buckets for word n-grams (fastText default; the model holds bucket x dim floats: 800 MB by default).",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", default=1, show_default=True, help="Training threads (1 = reproducible).")
def train_cmd(
    inputs, output, text_field, label_field, positive, holdout, epoch, lr, word_ngrams, dim, bucket, seed, threads
):
    """Train on INPUTS (JSONL / Parquet with text and label); print held-out precision, recall and AUROC."""
    rows, skipped = read_rows(list(inputs), text_field, label_field)
    labels = sorted({lab for _, lab in rows})
    if len(labels) < 2:
        raise ConfigError(
            f"need at least two label values in {label_field!r}, found {labels} "
            f"({len(rows)} usable rows, {skipped} skipped)"
        )
    if positive not in labels:
        raise ConfigError(f"--positive {positive!r} is not a label value; values: {', '.join(labels)}")
    train, test = split(rows, holdout, seed)
    hyper = {"epoch": epoch, "lr": lr, "wordNgrams": word_ngrams, "dim": dim, "bucket": bucket, "seed": seed}
    model = train_model(train, Path(output), threads, **hyper)
    metrics = {
        "train_rows": len(train),
        "heldout_rows": len(test),
        "skipped_rows": skipped,
        "labels": labels,
        "positive": positive,
        **evaluate(model, test, positive),
    }
    Path(output).with_suffix(".json").write_text(json.dumps(metrics, indent=1) + "\n")
    click.echo(
        f"trained on {len(train)} rows ({skipped} skipped: no text or label), held out {len(test)} "
        f"({metrics['positives']} positive)"
    )
    click.echo(
        f"held-out AUROC {metrics['auroc']:.3f}  precision {metrics['precision']:.3f}  "
        f"recall {metrics['recall']:.3f}  F1 {metrics['f1']:.3f}  (positive = {positive}, threshold 0.5)"
    )
    click.echo(
        f"-> {output}; use it with fasttext_classifier_v1: {{model_path: {output}, label: __label__{positive}}}"
    )
