"""The one place that names the columns of a run directory and builds its Parquet schemas.

Schemas are declared, never inferred from the first document: every step class declares the signal columns it
adds (``Step.signals``), and :func:`run_schema` assembles the schema of a pipeline from the base columns below plus
the declared signals of its steps, in pipeline order. ``train/`` relies on the base columns only.

A run directory::

    docs/*.parquet      kept documents: DOC_COLUMNS + each step's signals (+ tag columns of steps in tag mode)
    rejects/*.parquet   dropped documents: the same columns + REJECT_COLUMNS
    stats.parquet       long-format counters: STATS_SCHEMA
    run.json            resolved config, package versions, git commit, wall time
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

# Base columns of every kept and rejected document.
DOC_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.string(),  # stable document id (input id, or WARC-Record-ID)
    "text": pa.string(),  # the document text (extracted text for web pages)
    "source": pa.string(),  # web | books | code | whatever the pipeline's `source` says
    "url": pa.string(),  # where the document came from (URL, or file path for local files)
    "lang": pa.string(),  # ISO 639 code from language ID (null before / without it)
    "lang_score": pa.float32(),  # language ID confidence in [0, 1]
    "input_file": pa.string(),  # the input file the document was read from
}

# Added to DOC_COLUMNS in rejects/.
REJECT_COLUMNS: dict[str, pa.DataType] = {
    "step": pa.string(),  # registry name of the step that dropped the document
    "reason": pa.string(),  # the drop reason slug, e.g. `gopher_short_doc`
    "duplicate_of": pa.string(),  # for dedup drops: id of the kept document
}

STATS_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),  # datatrove stage (stage1, dedup, ...)
        ("position", pa.int32()),  # the step's position in the pipeline (0 = reader)
        ("step", pa.string()),  # registry name of the step
        # in | kept | dropped | dropped_<reason> | tagged | tagged_<reason> | error_<reason> | skipped_<reason> | seconds
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("file", pa.string()),  # input file, for per-file reader counts; null otherwise
        ("rank", pa.int32()),  # task rank that produced the row (sum over ranks for totals)
    ]
)

# Tag mode ("tag, then decide"): a filter step in ``mode: tag`` keeps every document and writes the decision it would
# have made to ``<prefix>__reason`` (its drop reason; null = it would keep). A dedup step also writes the kept copy's
# id to ``<prefix>__duplicate_of``. ``<prefix>`` is the step's signal prefix (``Step.tag_prefix``): gopher, fineweb...
# Selecting ``WHERE`` every ``*__reason`` column IS NULL gives the documents the filtering run keeps.
REASON_SUFFIX = "__reason"
DUPLICATE_OF_SUFFIX = "__duplicate_of"
TAG_TYPE = pa.string()


def reason_columns(names: Iterable[str]) -> list[str]:
    """The tag-mode decision columns among ``names`` (in their order)."""
    return [n for n in names if n.endswith(REASON_SUFFIX)]


def is_tagged(metadata: Mapping) -> bool:
    """True if an earlier step in tag mode recorded a decision to remove this document."""
    return any(v is not None for k, v in metadata.items() if k.endswith(REASON_SUFFIX))


# Metadata keys that map to DOC_COLUMNS rather than to signal columns.
META_BASE = ("source", "url", "lang", "lang_score", "input_file")


def _check(name: str, owner: str, seen: Mapping[str, str]) -> None:
    if name in seen:
        raise ValueError(f"column {name!r} of {owner} is already declared by {seen[name]}")


def run_schema(step_signals: Iterable[tuple[str, Mapping[str, pa.DataType]]]) -> pa.Schema:
    """Schema of docs/ for a pipeline whose steps declare ``step_signals`` = [(step name, {column: type})]."""
    fields = [pa.field(n, t) for n, t in DOC_COLUMNS.items()]
    seen = {n: "the base schema" for n in DOC_COLUMNS}
    for owner, signals in step_signals:
        for name, typ in signals.items():
            if name in DOC_COLUMNS and DOC_COLUMNS[name] == typ:
                continue  # a step may fill a base column (language ID fills lang, lang_score)
            _check(name, owner, seen)
            seen[name] = owner
            fields.append(pa.field(name, typ))
    return pa.schema(fields)


def rejects_schema(docs_schema: pa.Schema) -> pa.Schema:
    """Schema of rejects/: the docs schema plus step, reason, duplicate_of."""
    return pa.schema(list(docs_schema) + [pa.field(n, t) for n, t in REJECT_COLUMNS.items()])


def doc_row(doc, schema: pa.Schema) -> dict:
    """One Parquet row for a datatrove Document: id and text, then metadata by column name (missing -> null)."""
    meta = doc.metadata
    row = {"id": doc.id, "text": doc.text}
    for name in schema.names[2:]:
        row[name] = meta.get(name)
    return row
