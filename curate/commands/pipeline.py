"""`curate run` and `curate steps`: run a pipeline YAML; list the registered steps (curate/compile.py,
curate/runner.py, curate/stepdoc.py)."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("pipeline", type=click.Path(dir_okay=False))
@click.option("-i", "--input", "inputs", multiple=True, help="Input file or glob (repeatable); replaces input.paths.")
@click.option("-o", "--output", help="Run directory; replaces `output`.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value, e.g. executor.tasks=4.")
@click.option("--force", is_flag=True, help="Delete the run directory and start over.")
@click.option("--dry-run", is_flag=True, help="Validate and show the plan (the sbatch scripts for slurm); run nothing.")
@click.option("--tag-only", is_flag=True,
              help="Tag mode for every filter step: keep every document, write each decision to <prefix>__reason.")
def run(pipeline, inputs, output, sets, force, dry_run, tag_only):
    """Run PIPELINE (a YAML file). A killed run started again with the same output resumes."""
    from curate.compile import build_layout, build_stages
    from curate.config import input_files, load_pipeline
    from curate.runner import run_pipeline

    spec = load_pipeline(pipeline, inputs=list(inputs), output=output, sets=list(sets), tag_only=tag_only)
    files = input_files(spec)
    click.echo(f"{spec.name}: {len(files)} input(s) -> {spec.output} ({spec.executor.type}, "
               f"{spec.executor.tasks} task(s))", err=True)
    if dry_run and spec.executor.type != "slurm":
        for stage in build_stages(spec, build_layout(spec)):
            click.echo(f"stage {stage.name} ({stage.tasks} task(s)): " +
                       " -> ".join(getattr(s, "name", type(s).__name__) for s in stage.pipeline[1:]))
        return
    layout = run_pipeline(spec, force=force, dry_run=dry_run, argv=sys.argv)
    if spec.executor.type != "slurm" and layout.stats_path.exists():
        from curate.funnel import funnel_lines
        from curate.io import read_parquet
        from curate.runner import check_inputs_read

        click.echo("\n".join(funnel_lines(read_parquet(layout.stats_path).to_pylist())))
        check_inputs_read(layout)


@click.command()
@click.argument("name", required=False)
def steps(name):
    """List every registered step, or show one step's parameters, signals and drop reasons."""
    from curate.stepdoc import describe, summary

    click.echo(describe(name) if name else summary())
