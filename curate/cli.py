"""The `curate` command: assembles the commands of curate/commands/ into one click group. Every CurateError
becomes one line and exit 1."""

from __future__ import annotations

import os

import click

from curate.errors import CurateError

# name -> "module:attribute" of every command, imported only when used (`import curate` stays light)
COMMANDS = {
    "run": "curate.commands.pipeline:run",
    "steps": "curate.commands.pipeline:steps",
    "sql": "curate.commands.query:sql",
    "inspect": "curate.commands.query:inspect_cmd",
    "plan": "curate.commands.plan:plan_cmd",
    "audit": "curate.commands.audit:audit_cmd",
    "classifier": "curate.commands.classifier:classifier_group",
    "decontam": "curate.commands.decontam:decontam_group",
    "calibrate": "curate.commands.calibrate:calibrate_cmd",
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
        return sorted(n for n in COMMANDS if self._lazy(n))

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or self._lazy(name)

    @staticmethod
    def _lazy(name):
        import importlib

        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
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


if __name__ == "__main__":
    main()
