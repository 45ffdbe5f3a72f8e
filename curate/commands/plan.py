"""`curate plan`: print the memory, disk and time model of curate/plan.py for a planned run."""

from __future__ import annotations

import click

from curate.plan import GB, decontam_bytes, estimate


def _fmt_time(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


@click.command("plan")
@click.option("--docs", type=click.IntRange(min=1), required=True, help="Number of documents to deduplicate.")
@click.option("--mean-chars", type=click.FloatRange(min=1), required=True, help="Mean characters per document.")
@click.option("--bands", type=click.IntRange(1, 128), default=14, show_default=True, help="LSH bands.")
@click.option("--rows", type=click.IntRange(1, 32), default=8, show_default=True, help="MinHash values per band.")
@click.option("--tasks", type=click.IntRange(min=1), default=2, show_default=True,
              help="executor.tasks, run on as many cores.")
@click.option("--dup-fraction", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Fraction of documents that are near-copies of another (FineWeb-scale web crawls: 0.2-0.5).")
@click.option("--decontam-ngrams", type=click.IntRange(min=0), default=None,
              help="Also plan decontam_ngram_v1 with an index of this many n-grams (`curate decontam index` prints it).")
def plan_cmd(docs, mean_chars, bands, rows, tasks, dup_fraction, decontam_ngrams):
    """Memory, disk and time of near-dedup (minhash_dedup_v1) for DOCS documents, from measured constants."""
    p = estimate(docs, mean_chars, bands, rows, tasks, dup_fraction)
    wall = p.cpu_seconds / tasks
    click.echo(f"near-dedup of {docs:,} documents of {mean_chars:,.0f} characters, {bands} x {rows} hashes, "
               f"{tasks} task(s), {dup_fraction:.0%} near-copies")
    click.echo(f"  peak memory per process  {p.memory_gb:8.2f} GB   (max_memory_gb is compared with this)")
    click.echo(f"    signature-pass task    {p.signature_gb:8.2f} GB   each of {tasks}")
    click.echo(f"    bucket task            {p.bucket_gb:8.2f} GB   each of {min(tasks, bands)}")
    click.echo(f"    cluster task           {p.cluster_gb:8.2f} GB   ({p.cluster_bound_gb:.2f} GB at most: "
               "every document a candidate in every band)")
    click.echo(f"  exact dedup index task   {p.exact_index_gb:8.2f} GB   (exact_dedup_v1: one task for all documents)")
    click.echo(f"  disk under _work/        {p.disk_gb:8.2f} GB   (signatures + the segment shards of the split)")
    click.echo(f"  time                     {_fmt_time(wall):>8}      ({_fmt_time(p.cpu_seconds)} of CPU, "
               f"{tasks} task(s) on as many cores)")
    if decontam_ngrams is not None:
        click.echo(f"decontamination index of {decontam_ngrams:,} n-grams: {decontam_bytes(decontam_ngrams) / GB:.2f} GB "
                   "resident per machine (memory-mapped: the tasks of one machine share it)")
    click.echo("constants: curate/plan.py, measured by `python benches/dedup.py --calibrate`, "
               "`python benches/exact_dedup_memory.py` and `python benches/decontam.py`")
