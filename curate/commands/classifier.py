"""`curate classifier train`: a fastText classifier for fasttext_classifier_v1 (curate/classifier.py)."""

from __future__ import annotations

import click

from curate.classifier import train_classifier


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
    m = train_classifier(list(inputs), output, text_field, label_field, positive, holdout, seed, threads,
                         epoch=epoch, lr=lr, wordNgrams=word_ngrams, dim=dim, bucket=bucket)
    click.echo(
        f"trained on {m['train_rows']} rows ({m['skipped_rows']} skipped: no text or label), held out "
        f"{m['heldout_rows']} ({m['positives']} positive)"
    )
    click.echo(
        f"held-out AUROC {m['auroc']:.3f}  precision {m['precision']:.3f}  "
        f"recall {m['recall']:.3f}  F1 {m['f1']:.3f}  (positive = {positive}, threshold 0.5)"
    )
    click.echo(
        f"-> {output}; use it with fasttext_classifier_v1: {{model_path: {output}, label: __label__{positive}}}"
    )
