"""Where a sweep's runs train: `executor:` in the sweep YAML, the same shape as a curation pipeline's.

- local: a process pool on this machine (train/sweep/pool.py), the default;
- ray:   each run a Ray task with its CPUs and GPUs, on a running cluster or a local one started for the sweep;
- slurm: one array job, one task per run, each task running `train sweep-run SWEEP_DIR RUN`.

Every executor reads and writes only the sweep directory: the plan (sweep.json), the shared tokenizer, each run's
directory (config.yaml, train.log, checkpoints, metrics). Tokenizer and token shards are built before any run is
dispatched, and a sweep started again under any executor skips finished runs and resumes killed ones.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from train.errors import ConfigError

TYPES = ("local", "ray", "slurm")
# The keys each type reads; a key of another type set away from its default is a mistake worth naming.
OWN_KEYS = {
    "local": {"workers"},
    "ray": {"workers", "address", "cpus_per_run", "gpus_per_run", "connect_timeout"},
    "slurm": {"partition", "time", "cpus_per_task", "gpus_per_task", "mem_per_cpu_gb", "array_parallelism",
              "sbatch_args", "venv_path"},
}
SLURM_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$")  # MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS


@dataclass
class ExecutorConfig:
    type: str = "local"
    """Where the runs train: local (worker processes here), ray (Ray tasks on a cluster) or slurm (one array job)."""
    workers: int = 0
    """local: runs at once, each with cores / workers torch threads, 0 = one per core (the top-level `workers` key
    says the same); ray: runs in flight at once, 0 = as many as the cluster fits (a local cluster started for the
    sweep gets workers x cpus_per_run CPUs, 0 = every core)."""
    address: str = ""
    """ray: the running cluster to use (its head's host:port, ray://host:10001 or auto); "" = start a local one."""
    cpus_per_run: int = 1
    """ray: CPUs each run reserves; also its torch threads."""
    gpus_per_run: float = 0
    """ray: GPUs each run reserves (a fraction shares one GPU between runs); 0 = none."""
    connect_timeout: float = 10
    """ray: seconds `address` has to answer before the sweep stops with an error."""
    partition: str = ""
    """slurm: the partition the array job goes to; "" = the cluster's default."""
    time: str = "02:00:00"
    """slurm: time limit of each array task, i.e. of one run (HH:MM:SS or D-HH:MM:SS)."""
    cpus_per_task: int = 1
    """slurm: CPUs of each array task; also its torch threads."""
    gpus_per_task: int = 0
    """slurm: GPUs of each array task; 0 = none."""
    mem_per_cpu_gb: float = 2
    """slurm: memory per CPU in GB."""
    array_parallelism: int = 0
    """slurm: array tasks running at once (`--array=0-N%P`); 0 = as many as the scheduler allows."""
    sbatch_args: dict[str, str] = field(default_factory=dict)
    """slurm: more #SBATCH options, e.g. {account: proj1, qos: short} -> --account=proj1 --qos=short."""
    venv_path: str = ""
    """slurm: a virtualenv each task activates; "" = the Python that submitted the sweep, by its full path."""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ConfigError("type", f"unknown executor type {self.type!r}; choose one of {', '.join(TYPES)}")
        for key in ("workers", "gpus_per_run", "gpus_per_task", "array_parallelism"):
            if getattr(self, key) < 0:
                raise ConfigError(key, f"must be >= 0, got {getattr(self, key)}")
        for key in ("cpus_per_run", "cpus_per_task", "mem_per_cpu_gb", "connect_timeout"):
            if getattr(self, key) <= 0:
                raise ConfigError(key, f"must be > 0, got {getattr(self, key)}")
        if not SLURM_TIME.match(self.time):
            raise ConfigError("time", f"expected a Slurm time limit such as 02:00:00 or 1-00:00:00, got {self.time!r}")
        for f in fields(self):
            default = f.default_factory() if callable(f.default_factory) else f.default
            if f.name != "type" and f.name not in OWN_KEYS[self.type] and getattr(self, f.name) != default:
                owner = " / ".join(t for t in TYPES if f.name in OWN_KEYS[t])
                raise ConfigError(f.name, f"is a key of executor type {owner}, not of {self.type}")


def open_executor(config, out: Path, *, dry_run: bool = False, wait: bool = False):
    """The executor of `config.executor`, checked and (Ray) connected: every bad setting fails here, in one line,
    before the tokenizer or any shard is built."""
    ex = config.executor
    if ex.type != "slurm" and config.workers:  # the top-level key of sweeps before `executor:` existed
        if ex.workers and config.workers != ex.workers:
            raise ConfigError("workers", f"{config.workers} disagrees with executor.workers {ex.workers}; set one")
        ex.workers = config.workers
    if (dry_run or wait) and ex.type != "slurm":
        raise ConfigError("executor.type", f"--dry-run and --wait are for executor.type slurm, not {ex.type}")
    if ex.type == "local":
        from train.sweep.executors.local import LocalExecutor

        return LocalExecutor(ex.workers)
    if ex.type == "slurm" or ex.address:  # leaving this machine: shards cached where every node reads them
        shared_cache(config.train, out)
    if ex.type == "ray":
        from train.sweep.executors.ray import RayExecutor

        return RayExecutor(ex)
    from train.sweep.executors.slurm import SlurmExecutor

    return SlurmExecutor(ex, out, dry_run=dry_run, wait=wait)


def shared_cache(train, out: Path) -> None:
    """train.cache_dir as an absolute path every node reads: as set, else $TRAIN_CACHE, else SWEEP_DIR/cache (the
    sweep directory is the one place a cluster's nodes are sure to share). cache_dir is a resumable key: a sweep
    moved between executors keeps its finished runs."""
    train.cache_dir = str(Path(train.cache_dir or os.environ.get("TRAIN_CACHE") or out / "cache").resolve())
