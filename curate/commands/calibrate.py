"""`curate calibrate`: per-language thresholds from a run's own signals (curate/calibrate.py)."""

from __future__ import annotations

import click

from curate.calibrate import calibrate, rule_lines, thresholds_file
from curate.io import atomic_write_text


@click.command("calibrate")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Thresholds YAML to write.")
@click.option("--share", type=click.FloatRange(0, 1), default=None,
              help="Remove this share of every language per rule, instead of the share the default removes in "
                   "the reference language.")
@click.option("--reference", default="en", show_default=True, help="Language whose default thresholds set the share.")
@click.option("--min-docs", default=20, show_default=True, type=click.IntRange(min=2),
              help="Documents a language needs for thresholds of its own; fewer are pooled by script.")
def calibrate_cmd(run_dir, output, share, reference, min_docs):
    """Per-language thresholds from RUN_DIR's signals (FineWeb-2's method), for `per_lang: FILE` on the steps."""
    result = calibrate(run_dir, reference, share, min_docs)
    atomic_write_text(output, thresholds_file(result, run_dir, output, reference))
    for line in rule_lines(result, reference):
        click.echo(line)
    click.echo(f"-> {output}")
