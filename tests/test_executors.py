"""The same pipeline on datatrove's Ray executor (a local cluster) and the job Slurm would run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from click.testing import CliRunner

from curate.cli import main
from curate.inspect import connect


def docs_of(run_dir):
    return sorted(connect([run_dir]).execute("SELECT id, text FROM docs").fetchall())


def test_ray_executor_runs_the_sample_web_pipeline_like_local(tmp_path, root, monkeypatch):
    """pipelines/web.yaml on the bundled WARC, on a local Ray cluster the run starts, gives the local executor's result."""
    pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'curate[ray]'")
    monkeypatch.chdir(root)  # web.yaml names its input relative to the repository root
    web = str(root / "pipelines" / "web.yaml")
    local = CliRunner().invoke(main, ["run", web, "-o", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    # a fresh process: Ray starts a local cluster (2 CPUs) and tears it down at exit
    short_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": short_tmp,
           "TMPDIR": short_tmp}
    proc = subprocess.run(
        [sys.executable, "-m", "curate.cli", "run", web, "-o", str(tmp_path / "ray"),
         "--set", "executor.type=ray", "--set", "executor.workers=2", "--set", "executor.mem_per_cpu_gb=1"],
        capture_output=True, text=True, timeout=600, env=env, check=False, cwd=root,
    )
    shutil.rmtree(short_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pii_redact_v1" in proc.stdout  # the funnel
    assert docs_of(tmp_path / "ray") == docs_of(tmp_path / "local")
    count = "SELECT step, reason, count(*) FROM rejects GROUP BY ALL ORDER BY ALL"
    assert connect([tmp_path / "ray"]).execute(count).fetchall() == connect([tmp_path / "local"]).execute(
        count).fetchall()


def test_slurm_dry_run_writes_the_jobs_and_a_job_runs_its_rank(tmp_path, tiny_pipeline):
    out = tmp_path / "slurm"
    result = CliRunner().invoke(
        main,
        ["run", str(tiny_pipeline), "-o", str(out), "--dry-run", "--set", "executor.type=slurm",
         "--set", "executor.partition=cpu", "--set", "executor.time=01:00:00", "--set", "executor.cpus_per_task=2"],
    )
    assert result.exit_code == 0, result.output
    scripts = result.output.split("# ---- ")[1:]
    assert [s.split(" ")[0] for s in scripts] == [
        "curate-tiny-segment0", "curate-tiny-exact_dedup_01", "curate-tiny-segment1", "curate-tiny-finalize"]
    first = scripts[0]
    for directive in ("#SBATCH --partition=cpu", "#SBATCH --time=01:00:00", "#SBATCH --cpus-per-task=2",
                      "#SBATCH --array=0-1", "launch_pickled_pipeline"):
        assert directive in first, directive
    assert "#SBATCH --array=0-0" in scripts[1]  # the dedup index is one task
    # The job a Slurm array task runs is the pickled executor: it must load in a fresh process and carry the whole
    # pipeline. (Running it through Slurm itself needs scontrol/srun, absent here; run its pipeline for rank 1.)
    pik = out / "_work" / "logs" / "segment0" / "executor.pik"
    code = (
        "import dill, sys; from datatrove.executor import LocalPipelineExecutor as L\n"
        f"ex = dill.load(open({str(pik)!r}, 'rb'))\n"
        "assert type(ex).__name__ == 'SlurmPipelineExecutor' and ex.tasks == 2 and ex.partition == 'cpu'\n"
        "print([getattr(s, 'name', '') for s in ex.pipeline])\n"
        "L(ex.pipeline, tasks=ex.tasks, logging_dir=ex.logging_dir)._run_for_rank(1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "['logs', 'jsonl_v1', 'exact_dedup_v1', 'writer']" in proc.stdout
    assert (out / "_work" / "logs" / "segment0" / "completions" / "00001").exists()
    assert (out / "_work" / "segment0" / "00001.parquet").exists()
