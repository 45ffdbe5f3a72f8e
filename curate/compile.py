"""PipelineSpec -> datatrove stages + executors (local | slurm | ray).

The steps of a pipeline are cut at each global step (dedup) into segments. Segment 0 starts with the reader; each later
segment starts by reading the intermediate shards its predecessor wrote (same rank -> same shard) and applying the
global step's decision. Between two segments run the global step's own stages. A global step that directly follows
another (exact dedup, then MinHash) shares its segment (``GlobalStep.shares_segment``): one split, both steps' stages,
both applied in the next segment. A last one-task stage merges the stats.
Every stage has its own datatrove logging folder under ``_work/logs/``, whose completion markers make a killed run
resume where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from curate.config import PipelineSpec, input_files
from curate.io import RunLayout
from curate.registry import get_step
from curate.schema import DOC_COLUMNS, REJECT_COLUMNS, run_schema
from curate.steps.base import GlobalStep
from curate.steps.internal.steps import Finalize, QuietLogs, SegmentReader, ShardWriter

# The intermediate shards a global step's stages read (every document's text, once per global step) are written
# with LZ4, as Spark writes its shuffle files: dedup.yaml on 8,000 Python files took 0.4 CPU s less than with zstd
# (4 alternating runs each; LZ4 writes and reads faster), for 1.4-1.5x their disk (0.79 bytes a character of
# synthetic text against 0.52; `curate plan` counts it). What a run keeps (docs/, rejects/) stays zstd.
SEGMENT_COMPRESSION = "lz4"


@dataclass
class Stage:
    name: str
    pipeline: list
    tasks: int


def build_layout(spec: PipelineSpec) -> RunLayout:
    """The run layout with the docs schema declared by the reader and every step.

    A reader may also carry columns of its input through (``Reader.input_columns``: parquet_v1 over an earlier run's
    docs keeps its signals); those are declared here from the input files' schemas, except names the schema or a step
    of this pipeline declares: a step's fresh value wins over a stale one carried in. The pipeline's redaction steps
    are listed too: every writer applies them (curate.redaction)."""
    reader_cls = get_step(spec.input.reader)
    step_signals = [(s.name, step_columns(get_step(s.name), s.mode)) for s in spec.steps]
    declared = set(DOC_COLUMNS) | set(REJECT_COLUMNS) | set(reader_cls.signals)
    declared |= {name for _, signals in step_signals for name in signals}
    params = reader_cls.Params(**spec.input.params)
    carried = {n: t for n, t in reader_cls.input_columns(params, input_files(spec)).items() if n not in declared}
    schema = run_schema([(reader_cls.name, {**reader_cls.signals, **carried}), *step_signals])
    redactors = tuple(
        (s.name, cls.Params(**s.params).model_dump_json())
        for s, cls in ((s, get_step(s.name)) for s in spec.steps)
        if cls.redaction_marker
    )
    return RunLayout(spec.output, docs_schema=schema, carried_columns=tuple(carried), redactors=redactors)


def step_columns(cls, mode: str | None) -> dict:
    """The columns a step adds to docs/: its signals, and in tag mode its tag columns (``Step.tag_columns``)."""
    return {**cls.signals, **(cls.tag_columns() if mode == "tag" else {})}


def build_stages(spec: PipelineSpec, layout: RunLayout) -> list[Stage]:
    tasks = spec.executor.tasks
    files = input_files(spec)
    reader_cls = get_step(spec.input.reader)
    segment = 0
    stage_name = "segment0"
    reader = reader_cls(reader_cls.Params(**spec.input.params), layout, stage_name, 0, files, spec.source)
    current: list = [QuietLogs(str(layout.logs(stage_name))), reader]
    stages: list[Stage] = []
    split: Stage | None = None  # the stage that wrote the shards the current segment reads
    # a redaction step redacts the shards of a split it comes after: a global step behind it must see that text
    last_redaction = max((i for i, s in enumerate(spec.steps, 1) if get_step(s.name).redaction_marker), default=0)
    for index, step_spec in enumerate(spec.steps, start=1):
        cls = get_step(step_spec.name)
        mode = step_spec.mode or "filter"
        if cls.kind != "global":
            current.append(cls(cls.Params(**step_spec.params), layout, stage_name, index, mode=mode))
            continue
        upstream = current[2:]  # what the current segment applied since its split: only global steps -> share it
        if split is not None and cls.shares_segment and index > last_redaction and all(
            isinstance(s, GlobalStep) for s in upstream
        ):
            step = cls(cls.Params(**step_spec.params), layout, stage_name, index, mode=mode)
            step.upstream = tuple(upstream)
            pre = step.pre_step(split.name)
            if pre is not None:
                split.pipeline.insert(-1, pre)  # beside the first step's pre-step, before the shard writer
            for name, pipeline, n in step.global_stages(layout.segment_dir(segment - 1), tasks):
                stages.append(Stage(name, [QuietLogs(str(layout.logs(name))), *pipeline], n))  # after the first's
            current.append(step)
            continue
        # a global step's decisions are applied in the segment after its global stages: it is built for that
        # segment, and its pre-step (hashes, signatures) is built for the segment that ends here
        next_stage = f"segment{segment + 1}"
        step = cls(cls.Params(**step_spec.params), layout, next_stage, index, mode=mode)
        pre = step.pre_step(stage_name)
        if pre is not None:
            current.append(pre)
        seg_dir = layout.segment_dir(segment)
        current.append(ShardWriter(layout, str(seg_dir), compression=SEGMENT_COMPRESSION))
        split = Stage(stage_name, current, tasks)
        stages.append(split)
        for name, pipeline, n in step.global_stages(seg_dir, tasks):
            stages.append(Stage(name, [QuietLogs(str(layout.logs(name))), *pipeline], n))
        segment += 1
        stage_name = next_stage
        current = [QuietLogs(str(layout.logs(stage_name))), SegmentReader(layout, segment - 1), step]
    current.append(ShardWriter(layout, str(layout.docs_dir)))
    stages.append(Stage(stage_name, current, tasks))
    stages.append(Stage("finalize", [QuietLogs(str(layout.logs("finalize"))), Finalize(layout)], 1))
    return stages


def build_executors(spec: PipelineSpec, layout: RunLayout, stages: list[Stage]) -> list:
    """One datatrove executor per stage, each depending on the one before."""
    ex = spec.executor
    executors: list = []
    for stage in stages:
        common = {
            "pipeline": stage.pipeline,
            "tasks": stage.tasks,
            "logging_dir": str(layout.logs(stage.name)),
            "depends": executors[-1] if executors else None,
            "skip_completed": True,
        }
        if ex.type == "local":
            from curate.steps.internal.datatrove_patches import local_executor_class

            workers = ex.workers if ex.workers > 0 else stage.tasks
            executors.append(local_executor_class()(**common, workers=min(workers, stage.tasks), start_method="fork"))
        elif ex.type == "ray":
            from datatrove.executor import RayPipelineExecutor

            executors.append(
                RayPipelineExecutor(
                    **common, workers=ex.workers, cpus_per_task=ex.cpus_per_task, mem_per_cpu_gb=ex.mem_per_cpu_gb
                )
            )
        else:
            from datatrove.executor import SlurmPipelineExecutor

            executors.append(
                SlurmPipelineExecutor(
                    **common,
                    workers=ex.workers,
                    time=ex.time,
                    partition=ex.partition,
                    cpus_per_task=ex.cpus_per_task,
                    mem_per_cpu_gb=ex.mem_per_cpu_gb,
                    sbatch_args=ex.sbatch_args,
                    venv_path=ex.venv_path,
                    job_name=f"curate-{spec.name}-{stage.name}",
                )
            )
    return executors
