"""Read Parquet files row group by row group (streaming: one batch of rows in memory at a time)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.errors import ShardError
from curate.registry import register
from curate.steps.base import Reader, Skip
from curate.steps.readers.jsonl_reader import REASONS, RowParams, row_to_doc


class ParquetParams(RowParams):
    batch_size: int = Field(
        1024, gt=0, description="Rows decoded at a time within a row group (pyarrow's iter_batches batch_size)."
    )
    carry_columns: bool = Field(
        True,
        description="Carry every other input column through as a column of the output (an earlier run's signals: "
        "language, licence, toxicity ...), unless a step of this pipeline computes it afresh. A column whose type "
        "differs between input files is promoted to a type that holds both (int32 + int64 -> int64, int + float -> "
        "double), else written as text when both are scalars; a nested column that cannot be reconciled is left out, "
        "said on stderr and counted per file (values_left_out_<column>). curate's rule.",
    )


# Base columns of a curate run directory carried over when present, so re-reading a run's docs (dedup.yaml,
# safety.yaml) keeps each document's language; other columns are the next pipeline's to recompute.
CARRIED = ("lang", "lang_score")


@register
class ParquetReader(Reader):
    """Parquet reader with the same row rules as jsonl_v1; a corrupt row group costs only its own rows.

    Rows of an earlier curate run keep their ``lang`` and ``lang_score`` (base columns) when the file has them."""

    name = "parquet_v1"
    Params = ParquetParams
    signals: ClassVar[dict[str, pa.DataType]] = {}
    reasons: ClassVar[dict[str, str]] = {
        **{k: REASONS[k] for k in ("error_missing_text", "error_non_string_text", "skipped_empty_text")},
        "error_corrupt_row_group": "rows of a row group that cannot be read (each lost row counted: the footer "
        "knows how many a group holds); the other row groups are kept",
    }

    @classmethod
    def input_columns(cls, params, paths: list[str]) -> dict[str, pa.DataType]:
        """The union of the input files' columns (their footers only), less the reader's own fields; a column whose
        type differs between files is reconciled (``reconcile_types``) or left out with a line on stderr."""
        import pyarrow.parquet as pq

        if not params.carry_columns:
            return {}
        own = {params.text_field, params.id_field, params.url_field, params.source_field}  # base columns
        types: dict[str, dict[pa.DataType, str]] = {}  # column -> {type: first file with it}
        for path in paths:
            try:
                schema = pq.read_schema(path)
            except (OSError, pa.ArrowException):
                continue  # an unreadable file fails when it is read, counted with its name
            for f in schema:
                if f.name not in own:
                    types.setdefault(f.name, {}).setdefault(f.type, path)
        columns = {}
        for name, seen in types.items():
            columns[name] = reconcile_types(list(seen))
            if columns[name] is None:
                where = ", ".join(f"{t} in {os.path.basename(p)}" for t, p in seen.items())
                print(
                    f"parquet_v1: column {name!r} left out: its types cannot be reconciled ({where})", file=sys.stderr
                )
        return {n: t for n, t in columns.items() if t is not None}

    def read_file(self, path: str) -> Iterator[Document | Skip]:
        import pyarrow.parquet as pq

        p = self.params
        name = self.file_name(path)
        with self.open(path) as f:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            if p.text_field not in names:  # a wrong text_field, not a bad row: fail the file, say what is there
                raise ShardError(f"{path}: no column {p.text_field!r} (text_field); columns: {', '.join(names)}")
            fields = (p.text_field, p.id_field, p.url_field, p.source_field, p.title_field, p.author_field)
            wanted = [c for c in fields if c and c in names]
            carry = CARRIED + self.layout.carried_columns
            carried = [c for c in dict.fromkeys(carry) if c in names and c not in wanted]
            columns = list(dict.fromkeys(wanted + carried))
            self._count_left_out(path, names, pf.metadata.num_rows)
            schema = self.layout.docs_schema
            as_text = {c for c in carried if c in schema.names and schema.field(c).type == pa.string()}
            first = 0  # row number of the group's first row: ids `<file>:<row>` count from 0 over the file
            for group in range(pf.num_row_groups):
                row = first
                try:
                    for batch in pf.iter_batches(batch_size=p.batch_size, row_groups=[group], columns=columns):
                        for values in batch.to_pylist():
                            doc = row_to_doc(values, p, f"{name}:{row}")
                            if carried and isinstance(doc, Document):
                                doc.metadata.update(
                                    {c: _cell(values[c], c in as_text) for c in carried if values[c] is not None}
                                )
                            yield doc
                            row += 1
                except (OSError, pa.ArrowException):  # a corrupt page or column chunk: every row not read is lost
                    for _ in range(max(first + pf.metadata.row_group(group).num_rows - row, 1)):
                        yield Skip("corrupt_row_group", error=True)
                first += pf.metadata.row_group(group).num_rows

    def _count_left_out(self, path: str, names: list[str], rows: int) -> None:
        """Count, per file, the values of input columns left out because their types could not be reconciled."""
        if not self.params.carry_columns:
            return
        own = {self.params.text_field, self.params.id_field, self.params.url_field, self.params.source_field}
        declared = set(self.layout.docs_schema.names) | set(CARRIED)
        for c in names:
            if c not in own and c not in declared and c not in self.layout.carried_columns:
                self.count(f"values_left_out_{c}", rows, file=path)


def reconcile_types(types: list[pa.DataType]) -> pa.DataType | None:
    """One type that holds values of every type in ``types``: the type itself, a promotion (int32 + int64 -> int64,
    int + float -> double, string + large_string), else text when all are scalars; None for nested types."""
    try:
        return pa.unify_schemas([pa.schema([("c", t)]) for t in types], promote_options="permissive").field("c").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        if any(pa.types.is_nested(t) for t in types):
            return None
        return pa.string()


def _cell(value, as_text: bool):
    """A carried value; written as text when its column was reconciled to text (an int in one file, a str in
    another), as the string the file holds or Python's ``str`` of the number / date."""
    return str(value) if as_text and not isinstance(value, str) else value
