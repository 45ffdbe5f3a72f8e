"""`curate sql` and `curate inspect`: DuckDB views over run directories (curate/inspect.py, curate/funnel.py)."""

from __future__ import annotations

import click


@click.command()
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


@click.command("inspect")
@click.argument("run_dirs", nargs=-1, required=True)
@click.option("--samples", default=2, show_default=True, help="Rejected documents shown per reason.")
def inspect_cmd(run_dirs, samples):
    """Funnel per step and reason, languages, sizes and a sample of rejects per reason."""
    from curate.funnel import inspect_lines
    from curate.inspect import connect

    click.echo("\n".join(inspect_lines(connect(list(run_dirs)), samples)))
