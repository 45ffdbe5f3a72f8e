"""Redact on write: no file of a run holds what a redaction step of its pipeline would remove.

A pipeline redacts personal data with a step (``pii_redact_v1``, ``code_redact_v1``), usually after its filters so
that they judge the original text. A document a filter drops before that step would otherwise be written to
``rejects/`` unredacted, and so would every document crossing a global step (dedup) in an intermediate shard
(``_work/segment<k>/``). So every writer of a run (the rejects writer of each step, the intermediate and the docs
shard writers) passes each row through :func:`redact_row`, which applies, in pipeline order, each redaction step of
the pipeline that has not yet run on that document: the copy written is redacted, the document in memory is not.

A redaction step declares ``redaction_marker``, a signal column it always sets (``pii__email``, ``redact__emails``);
null means the step has not run on the document. A redacted row gets that step's columns too (how many of each kind
were replaced), so a rejected row says what was taken out of it, and a document read back from an intermediate shard
is not redacted (or counted) twice: the step sees its columns set, trusts them and only adds them to its counters.
The one thing that changes for a step after a global step: it sees the redacted text. A text a redaction step fails
on (its ``apply`` raised, so the document is a reject with reason ``error_<Exception>``) is written as null.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=8)
def _steps(redactors: tuple[tuple[str, str], ...]) -> tuple:
    """The redaction steps, instantiated and set up once per process (writers run in datatrove's workers)."""
    from curate.io import RunLayout
    from curate.registry import get_step

    steps = []
    for name, params_json in redactors:
        cls = get_step(name)
        step = cls(cls.Params.model_validate_json(params_json), RunLayout("."), stage="write", index=-1)
        step.setup()
        steps.append(step)
    return tuple(steps)


def redact_row(layout, row: dict) -> dict:
    """``row`` (id, text, columns) with the text redacted by each of ``layout.redactors`` that has not run on it."""
    for step in _steps(layout.redactors) if layout.redactors else ():
        if row.get(step.redaction_marker) is None and isinstance(row.get("text"), str):
            try:
                row["text"], columns = step.redact_text(row["text"])
            except Exception:  # noqa: BLE001 - a text the step cannot redact is not written at all (null), never raw
                row["text"], columns = None, {}
            row.update(columns)
    return row
