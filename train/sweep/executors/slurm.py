"""executor.type slurm: one array job, one task per run to train. Each task runs `train sweep-run SWEEP_DIR RUN`,
which trains exactly that run from SWEEP_DIR/runs/RUN/config.yaml (written here before submission, a plain `train run`
config) into that directory, and does nothing for a run that has finished. `--dry-run` prepares the sweep directory and
prints the script without submitting it; `--wait` submits with `sbatch --wait`, follows the runs' logs and reports.
The sweep directory and the curated runs must be on a filesystem every node sees, at the same paths."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from train.errors import ConfigError, TrainError
from train.files import atomic_path

NAMES_PER_LINE = 8


class SlurmExecutor:
    type = "slurm"

    def __init__(self, ex, out: Path, *, dry_run: bool, wait: bool):
        if not dry_run and shutil.which("sbatch") is None:
            raise ConfigError("executor.type", "slurm: sbatch is not on PATH (--dry-run prints the job script)")
        self.ex, self.out, self.dry_run, self.wait = ex, out.resolve(), dry_run, wait
        self.cores, self.workers, self.threads = 0, 0, ex.cpus_per_task
        self.record: dict = {}
        self.finishes = wait  # without --wait the runs train after this process has ended

    def slots(self, todo: int) -> tuple[int, int]:
        self.workers = min(self.ex.array_parallelism or todo, todo)
        self.cores = self.workers * self.ex.cpus_per_task
        return self.workers, self.threads

    def train(self, jobs, show) -> dict[str, str]:
        """Write each run's config.yaml and the array job's script; submit it unless --dry-run."""
        if not jobs:
            show.render(force=True)
            return {}
        for _, cfg, run_dir in jobs:
            run_dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(run_dir / "config.yaml") as tmp:
                tmp.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        path = self.out / "slurm" / "sweep.sbatch"
        with atomic_path(path) as tmp:
            tmp.write_text(sbatch_script(self.ex, self.out, [name for name, _, _ in jobs]))
        self.record = {"script": str(path), "array_tasks": len(jobs)}
        if self.dry_run:
            self.record["submitted"] = False
            return {}
        if not self.wait:
            job = _sbatch(["sbatch", "--parsable", str(path)])
            self.record |= {"submitted": True, "job": job}
            return {}
        self.record["submitted"] = True
        return self._submit_and_wait(path, jobs, show)

    def _submit_and_wait(self, path: Path, jobs, show) -> dict[str, str]:
        from train.sweep.pool import LogTail

        tail = LogTail()
        for name, _, run_dir in jobs:
            tail.watch(name, run_dir)
        proc = subprocess.Popen(["sbatch", "--wait", "--parsable", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            time.sleep(5)
            tail.poll(show)
            for name, _, run_dir in jobs:
                if name not in show.done and (run_dir / "summary.json").is_file():
                    show.finish(name, None)
            show.render()
        self.record["job"] = proc.stdout.read().strip().split(";")[0]
        failed = {}
        for name, _, run_dir in jobs:
            error = None if (run_dir / "summary.json").is_file() else _error_of(run_dir, self.out, self.record["job"])
            if error:
                failed[name] = error
            if name not in show.done:
                show.finish(name, error)
        show.render(force=True)
        show.close()
        return failed

    def session(self) -> dict:
        out = {"executor": self.type, "workers": self.workers, "threads": self.threads, "cores": self.cores}
        return out | self.record | ({"trained": 0} if self.dry_run or not self.wait else {})

    def close(self) -> None:
        pass


def sbatch_script(ex, out: Path, names: list[str]) -> str:
    """The array job: one task per run in `names`; task i trains names[i]."""
    directives = [f"--job-name=train-sweep-{out.name}", f"--array=0-{len(names) - 1}"
                  + (f"%{ex.array_parallelism}" if ex.array_parallelism else ""), "--ntasks=1",
                  f"--cpus-per-task={ex.cpus_per_task}", f"--mem-per-cpu={_mem(ex.mem_per_cpu_gb)}",
                  f"--time={ex.time}",
                  f"--output={out}/slurm/%A_%a.out"]
    if ex.partition:
        directives.insert(1, f"--partition={ex.partition}")
    if ex.gpus_per_task:
        directives.append(f"--gpus-per-task={ex.gpus_per_task}")
    directives += [f"--{k.replace('_', '-')}={v}" for k, v in ex.sbatch_args.items()]
    rows = [" ".join(names[i:i + NAMES_PER_LINE]) for i in range(0, len(names), NAMES_PER_LINE)]
    python = "python" if ex.venv_path else shlex.quote(sys.executable)
    lines = ["#!/bin/bash", *[f"#SBATCH {d}" for d in directives],
             f"# train sweep: {len(names)} runs of SWEEP, one array task each. Task i trains run RUNS[i] alone, from",
             "# SWEEP/runs/RUN/config.yaml into that directory (log: train.log there); a finished run is left as is.",
             "set -euo pipefail", f"SWEEP={shlex.quote(str(out))}", "RUNS=(", *[f"  {row}" for row in rows], ")",
             f"cd {shlex.quote(str(Path.cwd()))}  # the curated runs' relative paths resolve from here",
             f"export OMP_NUM_THREADS={ex.cpus_per_task}"]
    if ex.venv_path:
        lines.append(f"source {shlex.quote(str(Path(ex.venv_path).resolve()))}/bin/activate")
    lines.append(f'exec {python} -m train.cli sweep-run "$SWEEP" "${{RUNS[$SLURM_ARRAY_TASK_ID]}}"')
    return "\n".join(lines) + "\n"


def run_one(sweep_dir: Path, name: str) -> str:
    """`train sweep-run`: train run `name` of the prepared sweep in sweep_dir alone; a line saying what happened."""
    from train.config import load_config
    from train.sweep.pool import train_one

    run_dir = Path(sweep_dir) / "runs" / name
    if not (run_dir / "config.yaml").is_file():
        raise TrainError(f"{run_dir} has no config.yaml: {name} is not a run of a sweep prepared in {sweep_dir}")
    if (run_dir / "summary.json").is_file():
        return f"{run_dir}: already finished"
    error = train_one(name, load_config(run_dir / "config.yaml"), run_dir)
    if error:
        raise TrainError(f"{name}: {error}")
    return f"{run_dir}: trained (log: {run_dir / 'train.log'})"


def _mem(gb: float) -> str:
    """Slurm's --mem-per-cpu takes whole units: 2 -> 2G, 1.5 -> 1536M."""
    return f"{int(gb)}G" if float(gb).is_integer() else f"{round(gb * 1024)}M"


def _sbatch(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise TrainError(f"sbatch failed (exit {proc.returncode}): {said[-1] if said else 'no output'}")
    return proc.stdout.strip().split(";")[0]


def _error_of(run_dir: Path, out: Path, job: str) -> str:
    """Why a run has no summary.json: its log's last `error:` line, else where to look."""
    log = run_dir / "train.log"
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    error = next((line.removeprefix("error: ") for line in reversed(lines) if line.startswith("error: ")), None)
    return error or f"no summary.json; see {log} and {out}/slurm/{job}_*.out"
