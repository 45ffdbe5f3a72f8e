"""`curate decontam index`: build the n-gram index of evaluation data that decontam_ngram_v1 reads
(curate/decontam.py)."""

from __future__ import annotations

import click

from curate.decontam import BYTES_PER_NGRAM, build


@click.group("decontam")
def decontam_group():
    """Benchmark decontamination: index evaluation data, then run decontam_ngram_v1 against the index."""


@decontam_group.command("index")
@click.argument("eval_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Index directory to write.")
@click.option("-n", "--ngram", default=13, show_default=True, type=click.IntRange(1, 64),
              help="Words per n-gram (GPT-3 / Llama: 13).")
@click.option("--task", "tasks", multiple=True,
              help="Task name: once for all files, or once per file in order (default: each file's name up to its "
                   "first dot).")
@click.option("--field", "fields", multiple=True,
              help="JSONL/Parquet field to index (repeatable); default: every string field.")
def index_cmd(eval_files, output, ngram, tasks, fields):
    """Build an n-gram index of EVAL_FILES (JSONL, Parquet or text), one task per file or per --task."""
    meta = build(list(eval_files), output, ngram, list(tasks), list(fields) or None,
                 echo=lambda m: click.echo(m, err=True))
    for task in meta["tasks"]:
        t = meta["per_task"][task]
        bad = f", {t['bad_records']} invalid JSON line(s) or non-record value(s) skipped" if t["bad_records"] else ""
        click.echo(f"{task}: {t['items']:,} items ({t['short_items']:,} shorter than {ngram} words), "
                   f"{t['ngrams']:,} distinct {ngram}-grams{bad}")
    click.echo(f"{output}: {meta['ngrams']:,} n-grams, {meta['bytes_in_memory'] / 1e6:.1f} MB in memory "
               f"({BYTES_PER_NGRAM} bytes per n-gram)")
