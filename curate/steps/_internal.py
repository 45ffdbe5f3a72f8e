"""Steps the compiler inserts (not registered, not in YAML): log setup, segment I/O, shard writers, finalize."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from curate import schema
from curate.io import ParquetShardWriter, RunLayout
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
        from datatrove.executor import base
        from loguru import logger

        if getattr(base.add_task_logger, "_curate", False):
            return data
        quiet_datatrove()
        logger.add(f"{self.logs_dir}/logs/task_{rank:05d}.log", level="INFO")
        return data


def _console() -> None:
    """Warnings and errors on stderr as one line each; tracebacks go only to the task log files."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING", format=lambda record: "{level}: {message}\n")


def quiet_datatrove() -> None:
    """Keep datatrove's INFO logs in its per-task log files; the console shows warnings and our progress only.

    datatrove re-adds an INFO handler on stderr for every task (``add_task_logger``) and after it
    (``setup_default_logger``); replace both in this process and in forked local workers, which inherit the patch.
    """
    import datatrove.utils.logging as dt_logging
    from datatrove.executor import base
    from loguru import logger

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        _console()
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        logger.add(logfile, level="DEBUG")
        logger.info(f"Launching pipeline for {rank=}")
        return logfile

    add_task_logger._curate = True
    base.add_task_logger = add_task_logger
    dt_logging.setup_default_logger = _console
    _console()
    _describe_steps_in_executor_json(base)


def _describe_steps_in_executor_json(base) -> None:
    """datatrove writes each stage's executor.json from every step's ``__dict__``; a curate step holds run-time state
    there (compiled rules keyed by tuples, loaded models) that is not JSON. Describe a curate step by its registry name
    and resolved parameters instead: that is also what a person reading executor.json wants to see."""
    from curate.steps.base import Step

    encoder = base.ExecutorJSONEncoder
    if getattr(encoder.default, "_curate", False):
        return
    original = encoder.default

    def default(self, o):
        if isinstance(o, Step):
            return {"step": o.name, "stage": o.stage, "params": o.params.model_dump(mode="json")}
        return original(self, o)

    default._curate = True
    encoder.default = default


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
            for rec in pf.read_row_group(g).to_pylist():
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

    def __init__(self, layout: RunLayout, folder: str):
        super().__init__()
        self.layout = layout
        self.folder = folder

    def run(self, data, rank: int = 0, world_size: int = 1):
        from pathlib import Path

        path = Path(self.folder) / f"{rank:05d}.parquet"
        docs_schema = self.layout.docs_schema
        with ParquetShardWriter(path, docs_schema) as w:
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
