"""Steps the compiler inserts (not registered, not in YAML): log setup, segment I/O, shard writers, finalize."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from curate import schema
from curate.io import ParquetShardWriter, RunLayout, table_rows
from curate.redaction import redact_row


class QuietLogs(PipelineStep):
    """datatrove logs every task at INFO to stderr; keep its task log files but show only warnings on the console."""

    type = "curate"
    name = "logs"

    def __init__(self, logs_dir: str):
        super().__init__()
        self.logs_dir = logs_dir

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        """In a worker that has not had ``quiet_datatrove`` (Ray, Slurm), apply it for the tasks to come and redo this
        task's handlers; where it already ran (local executor), datatrove's own task logger is ours and this does
        nothing, so the task log file is not opened a second time."""
        from curate.steps.internal.datatrove_patches import import_datatrove_io, quiet_datatrove

        import_datatrove_io()
        from datatrove.executor import base
        from loguru import logger

        if getattr(base.add_task_logger, "_curate", False):
            return data
        quiet_datatrove()
        logger.add(f"{self.logs_dir}/logs/task_{rank:05d}.log", level="INFO")
        return data


class SegmentReader(PipelineStep):
    """Reads the intermediate shard of the same rank written by the previous segment."""

    type = "curate"
    name = "segment_reader"

    def __init__(self, layout: RunLayout, segment: int):
        super().__init__()
        self.layout = layout
        self.segment = segment

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        path = self.layout.segment_dir(self.segment) / f"{rank:05d}.parquet"
        pf = pq.ParquetFile(path)
        row = 0
        for g in range(pf.num_row_groups):
            for rec in table_rows(pf.read_row_group(g)):
                doc_id, text = rec.pop("id"), rec.pop("text")
                meta = {k: v for k, v in rec.items() if v is not None}
                meta["_row"] = (rank, row)
                row += 1
                yield Document(text=text, id=doc_id, metadata=meta)


class ShardWriter(PipelineStep):
    """Writes every document it receives to ``<folder>/<rank>.parquet`` (atomically, declared schema), redacted by
    the pipeline's redaction steps that have not run on it yet (curate.redaction)."""

    type = "curate"
    name = "writer"

    def __init__(self, layout: RunLayout, folder: str, compression: str = "zstd"):
        super().__init__()
        self.layout = layout
        self.folder = folder
        self.compression = compression

    def run(self, data, rank: int = 0, world_size: int = 1):
        from pathlib import Path

        path = Path(self.folder) / f"{rank:05d}.parquet"
        docs_schema = self.layout.docs_schema
        with ParquetShardWriter(path, docs_schema, compression=self.compression) as w:
            for doc in data:
                w.write(redact_row(self.layout, schema.doc_row(doc, docs_schema)))
        return iter(())


class Finalize(PipelineStep):
    """One task after everything else: merge the per-task counters into stats.parquet, complete run.json."""

    type = "curate"
    name = "finalize"

    def __init__(self, layout: RunLayout):
        super().__init__()
        self.layout = layout

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from curate.manifest import finalize_run

        finalize_run(self.layout)
        return iter(())
