"""The `curate` command: a thin click shell over the library. Every CurateError becomes one line and exit 1."""

from __future__ import annotations

import os
import sys

import click

from curate.errors import CurateError

# Commands that live in their own modules, imported only when used (`import curate` stays light).
LAZY_COMMANDS = {
    "plan": "curate.commands.plan:plan_cmd",
    "audit": "curate.audit.command:audit_cmd",
    "classifier": "curate.classifier:classifier_group",
    "decontam": "curate.commands.decontam:decontam_group",
    "calibrate": "curate.calibrate:calibrate_cmd",
}


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CurateError as e:
            raise click.ClickException(str(e)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as e:
            if os.environ.get("CURATE_DEBUG"):
                raise
            # a task failed on something unforeseen: one line here, the traceback in the task's log file
            raise click.ClickException(
                f"{type(e).__name__}: {e} (the traceback is in the run's _work/logs/*/logs/task_*.log; "
                "CURATE_DEBUG=1 shows it here)"
            ) from None

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | {n for n in LAZY_COMMANDS if self._lazy(n)})

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or self._lazy(name)

    @staticmethod
    def _lazy(name):
        import importlib

        if name not in LAZY_COMMANDS:
            return None
        module, attr = LAZY_COMMANDS[name].split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as e:
            if e.name == module:
                return None  # not built (yet)
            raise


@click.group(cls=_Group)
@click.version_option(package_name="curate")
def main():
    """Curate books, web pages and code into clean, deduplicated, language-tagged Parquet shards."""


@main.command()
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
        from curate.inspect import connect
        from curate.runner import check_inputs_read

        click.echo("\n".join(funnel_lines(connect([layout.root]))))
        check_inputs_read(layout)


@main.command()
@click.argument("name", required=False)
def steps(name):
    """List every registered step, or show one step's parameters, signals and drop reasons."""
    from curate.stepdoc import describe, summary

    click.echo(describe(name) if name else summary())


@main.command()
@click.argument("query")
@click.argument("run_dirs", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def sql(query, run_dirs, fmt):
    """Run a read-only SQL QUERY over views docs, rejects, stats, runs of RUN_DIRS."""
    from curate.inspect import connect
    from curate.inspect import query as run_query
    from curate.tables import render

    cols, rows = run_query(connect(list(run_dirs)), query)
    click.echo(render(cols, rows, fmt))


@main.command("inspect")
@click.argument("run_dirs", nargs=-1, required=True)
@click.option("--samples", default=2, show_default=True, help="Rejected documents shown per reason.")
def inspect_cmd(run_dirs, samples):
    """Funnel per step and reason, languages, sizes and a sample of rejects per reason."""
    from curate.funnel import inspect_lines
    from curate.inspect import connect

    click.echo("\n".join(inspect_lines(connect(list(run_dirs)), samples)))


if __name__ == "__main__":
    main()
