"""The failure policy, in one place (after Dolma's ``errors.py``).

* ``ConfigError``: the YAML or the command line is wrong. Raised before any work; names the YAML line.
* ``StepError``: a step cannot run at all (a missing model file, say). Fails the task.
* ``ShardError``: an input or output file cannot be used. Fails that file, counted and named; the run goes on.

Bad *documents* never raise: steps count them and drop them with a reason.
The CLI turns any ``CurateError`` into one line on stderr and a non-zero exit.
"""

from __future__ import annotations


class CurateError(Exception):
    """Base of every error curate expects and explains."""


class ConfigError(CurateError):
    """A bad pipeline config or option. ``where`` is e.g. ``pipelines/web.yaml:12``."""

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class StepError(CurateError):
    """A step cannot run (missing asset, impossible parameters discovered at run time)."""


class ShardError(CurateError):
    """An input or output file is unusable."""


class MissingDependency(CurateError):
    """An optional dependency is missing; the message holds the pip line that fixes it."""

    def __init__(self, module: str, extra: str):
        super().__init__(f"{module} is not installed: pip install 'curate[{extra}]'")
