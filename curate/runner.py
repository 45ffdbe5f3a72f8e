"""`curate run`: validate, prepare the run directory, execute the stages, print the funnel."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from curate.compile import build_executors, build_layout, build_stages
from curate.config import PipelineSpec
from curate.errors import ConfigError
from curate.manifest import config_hash, start_run
from curate.steps.internal.datatrove_patches import quiet_datatrove


def prepare_output(root: Path, resolved: dict, force: bool) -> None:
    """Refuse to mix two configs in one run directory; --force starts over (only in a curate run directory)."""
    run_json = root / "run.json"
    if not root.exists() or not any(root.iterdir()):
        return
    if not run_json.exists() and not (root / "_work").exists():
        raise ConfigError(f"output {root} exists and is not a curate run directory; choose another -o")
    if force:
        shutil.rmtree(root)
        return
    if run_json.exists():
        previous = json.loads(run_json.read_text()).get("config_hash")
        if previous != config_hash(resolved):
            raise ConfigError(
                f"{root} holds a run of a different config; pass --force to start over or choose another -o"
            )


def run_pipeline(spec: PipelineSpec, force: bool = False, dry_run: bool = False, argv: list[str] | None = None):
    """Run ``spec`` to completion (local, ray) or submit it (slurm). Returns the layout."""
    layout = build_layout(spec)
    resolved = spec.resolved()
    prepare_output(layout.root, resolved, force)
    stages = build_stages(spec, layout)
    layout.root.mkdir(parents=True, exist_ok=True)
    info = start_run(layout, resolved, argv or sys.argv)
    if info.get("status") == "complete" and not dry_run:
        print(f"{layout.root} is already complete (use --force to start over)", file=sys.stderr)
        return layout
    quiet_datatrove()
    executors = build_executors(spec, layout, stages)
    if spec.executor.type == "slurm":
        _slurm(executors, dry_run)
        return layout
    if spec.executor.type == "ray":
        _init_ray(spec)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    executors[-1].run()
    return layout


def _init_ray(spec: PipelineSpec) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError("executor.type ray needs Ray: pip install 'curate[ray]'") from None
    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        if spec.executor.address:
            ray.init(address=spec.executor.address, log_to_driver=False)
        else:
            cpus = spec.executor.workers if spec.executor.workers > 0 else os.cpu_count()
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)


def slurm_scripts(executors) -> list[tuple[str, str]]:
    """The sbatch script each stage would submit: [(job name, script)]. Writes each executor's pickle like datatrove."""
    import dill
    from dill import CONTENTS_FMODE

    scripts = []
    for ex in executors:
        with ex.logging_dir.open("executor.pik", "wb") as f:
            dill.dump(ex, f, fmode=CONTENTS_FMODE)
        ranks = ex.get_incomplete_ranks()
        with ex.logging_dir.open("ranks_to_run.json", "w") as f:
            json.dump(ranks, f)
        pik = ex.logging_dir.resolve_paths("executor.pik")
        script = ex.get_launch_file_contents(
            ex.get_sbatch_args(max(1, min(len(ranks), ex.max_array_size))),
            f"srun -l -n 1 launch_pickled_pipeline {pik}",
        )
        with ex.logging_dir.open("launch_script.slurm", "w") as f:
            f.write(script)
        scripts.append((ex.job_name, script))
    return scripts


def _slurm(executors, dry_run: bool) -> None:
    if dry_run:
        for name, script in slurm_scripts(executors):
            print(f"# ---- {name} ----\n{script}")
        return
    if shutil.which("sbatch") is None:
        raise ConfigError("executor.type slurm: sbatch is not on PATH (use --dry-run to see the job scripts)")
    executors[-1].run()
    print("submitted to Slurm; `squeue --me` shows the jobs, the run directory fills as they finish", file=sys.stderr)


def check_inputs_read(layout) -> None:
    """Raise ShardError (one line, exit 1) when every input file failed: no document came from any, and each had an
    error (unreadable, or every row bad). A file that was only skipped (a WARC of images) has not failed."""
    from curate.errors import ShardError
    from curate.io import read_parquet

    rows = [r for r in read_parquet(layout.stats_path).to_pylist() if r["position"] == 0]
    files = sum(r["value"] for r in rows if r["metric"] == "files")
    records: dict[str, float] = {}
    errors: dict[str, dict[str, float]] = {}
    for r in rows:
        if not r["file"]:
            continue
        if r["metric"] == "records":
            records[r["file"]] = records.get(r["file"], 0) + r["value"]
        elif r["metric"].startswith("error_"):
            errors.setdefault(r["file"], {}).setdefault(r["metric"], 0)
            errors[r["file"]][r["metric"]] += r["value"]
    if not files or any(records.values()) or len(errors) < files:
        return
    first, kinds = next(iter(sorted(errors.items())))
    what = ", ".join(f"{k} x{int(v):,}" for k, v in sorted(kinds.items()))
    raise ShardError(
        f"every input file failed ({len(errors)} of {len(errors)}, 0 documents read; first: "
        f"{os.path.basename(first)}: {what}); the per-file errors are in {layout.stats_path} "
        "(curate sql \"SELECT file, metric, value FROM stats WHERE metric LIKE 'error_%'\" ...)"
    )
