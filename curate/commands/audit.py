"""`curate audit`: removal-rate ratios per filter and identity group (curate/audit/)."""

from __future__ import annotations

from pathlib import Path

import click

from curate.audit.write import audit_runs, labelled_checks


@click.command("audit")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Output folder [default: RUN_DIR/audit].")
@click.option("--threshold", default=1.25, show_default=True, help="Flag removal-rate ratios above this.")
@click.option(
    "--min-docs",
    default=30,
    show_default=True,
    help="Mark groups with fewer entering documents as noisy; report slices with at least this many.",
)
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL/Parquet of `id`, `label` (1 toxic, 0 not) for the rows of the runs: adds the labelled check "
    "(identity over-removal among non-toxic rows, AUROC of `toxicity`); curate/audit/labels.py.",
)
def audit_cmd(run_dirs, output, threshold, min_docs, labels):
    """Per filter and identity group: removal-rate ratios, group shares and pronouns (Markdown, PNG, Parquet)."""
    out = Path(output) if output else Path(run_dirs[0]) / "audit"
    md = audit_runs(list(run_dirs), out, threshold, min_docs)
    flagged = sum(1 for line in md if "**" in line and line.startswith("|"))
    click.echo(f"audit of {len(run_dirs)} run(s) -> {out / 'audit.md'} ({flagged} table row(s) with a flagged ratio)")
    if labels:
        for c in labelled_checks(list(run_dirs), out, Path(labels), threshold):
            auc = "-" if c["auroc"] is None else f"{c['auroc']:.3f}"
            click.echo(
                f"labelled check {c['run']}: non-toxic rows mentioning identity removed "
                f"{100 * c['identity_rate']:.1f}% vs {100 * c['other_rate']:.1f}% of the others (ratio "
                f"{c['ratio']:.2f}: {'passes' if c['passes'] else 'FAILS'}); toxicity AUROC {auc}"
            )
