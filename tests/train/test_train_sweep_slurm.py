"""`train sweep` with executor.type slurm: the array job's script, and the command each of its tasks runs, run here
for one task as Slurm would run it (no Slurm on the test machine: bash with SLURM_ARRAY_TASK_ID set)."""

import json
import os
import re
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from test_train_sweep import STEPS, tiny_sweep  # noqa: F401 (the fixture: the local sweep, trained once per session)

from train.cli import main

SLURM = ["executor.type=slurm", "executor.partition=cpu", "executor.time=00:30:00", "executor.cpus_per_task=1",
         "executor.gpus_per_task=1", "executor.mem_per_cpu_gb=1.5", "executor.array_parallelism=4",
         "executor.sbatch_args={account: proj1}"]


def sets(items: list[str]) -> list[str]:
    return [x for item in items for x in ("--set", item)]


def test_dry_run_prints_one_array_task_per_run_and_a_task_trains_exactly_its_run(tiny_sweep, tmp_path):  # noqa: F811
    local, sweep_yaml = tiny_sweep
    out = tmp_path / "slurm-sweep"
    result = CliRunner().invoke(main, ["sweep", str(sweep_yaml), "-o", str(out), "--dry-run", *sets(SLURM)])
    assert result.exit_code == 0, result.output
    script = result.stdout
    assert script == (out / "slurm" / "sweep.sbatch").read_text()
    names = [r["run"] for r in json.loads((local / "sweep.json").read_text())["runs"]]
    for directive in ("--array=0-11%4", "--partition=cpu", "--time=00:30:00", "--cpus-per-task=1",
                      "--gpus-per-task=1", "--mem-per-cpu=1536M", "--account=proj1",
                      f"--output={out}/slurm/%A_%a.out"):
        assert f"#SBATCH {directive}\n" in script, directive
    listed = re.search(r"RUNS=\(\n(.*?)\n\)", script, re.DOTALL).group(1).split()
    assert listed == names  # task i trains run i of the plan: one task per run
    assert f"\nSWEEP={out}\n" in script and 'sweep-run "$SWEEP" "${RUNS[$SLURM_ARRAY_TASK_ID]}"\n' in script
    assert not list(out.glob("runs/*/summary.json")) and (out / "tokenizer" / "tokenizer.model").is_file()

    # Array task 7 as Slurm would start it: the script itself, with its task id in the environment.
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "7"}
    proc = subprocess.run(["bash", str(out / "slurm" / "sweep.sbatch")], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = names[7]
    assert [p.parent.name for p in out.glob("runs/*/summary.json")] == [run]  # that run, and no other
    trained = json.loads((out / "runs" / run / "summary.json").read_text())
    expected = json.loads((local / "runs" / run / "summary.json").read_text())  # the same run, local executor
    assert trained["steps"] == STEPS and trained["tokens_seen"] == expected["tokens_seen"]
    assert max(abs(trained["val_loss"][s] - expected["val_loss"][s]) for s in expected["val_loss"]) <= 1e-6
    assert yaml.safe_load((out / "runs" / run / "config.yaml").read_text())["threads"] == 1  # cpus_per_task

    again = subprocess.run(["bash", str(out / "slurm" / "sweep.sbatch")], env=env, capture_output=True, text=True,
                           timeout=600, check=False)
    assert again.returncode == 0 and "already finished" in again.stdout  # a requeued task does not train it again


@pytest.mark.parametrize("args, line", [
    (["--wait"], "Error: executor.type: --dry-run and --wait are for executor.type slurm, not local\n"),
    (["--set", "executor.type=slurm", "--set", "executor.time=noon", "--dry-run"],
     "Error: executor.time: expected a Slurm time limit such as 02:00:00 or 1-00:00:00, got 'noon'\n"),
    (["--set", "executor.cpus_per_run=2", "--dry-run"],
     "Error: executor.cpus_per_run: is a key of executor type ray, not of local\n"),
])
def test_bad_slurm_settings_fail_in_one_line_before_any_work(tiny_raw, tmp_path, args, line):
    from test_train_sweep import tiny_sweep_raw

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_raw(tiny_raw)))
    result = CliRunner().invoke(main, ["sweep", str(path), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert line.removeprefix("Error: ") in result.output  # (after the --set that caused it, where one did)
    assert not (tmp_path / "out").exists()


def test_without_sbatch_the_sweep_stops_before_any_work(tiny_raw, tmp_path, monkeypatch):
    from test_train_sweep import tiny_sweep_raw

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_raw(tiny_raw)))
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without Slurm's commands
    result = CliRunner().invoke(main, ["sweep", str(path), "-o", str(tmp_path / "out"), *sets(SLURM)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == "Error: executor.type: slurm: sbatch is not on PATH (--dry-run prints the job script)\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("sbatch") is None or shutil.which("sinfo") is None, reason="no Slurm here")
def test_wait_runs_the_array_job_on_slurm_and_writes_the_summary(request, tmp_path, repo):
    """Where Slurm answers (sinfo lists a partition that is up): three runs as a real array job, --wait to the end."""
    try:  # sinfo retries for about a minute when the controller is down
        partitions = subprocess.run(["sinfo", "-h", "-o", "%R %a"], capture_output=True, text=True, check=False,
                                    timeout=15).stdout
    except subprocess.TimeoutExpired:
        partitions = ""
    up = [line.split()[0] for line in partitions.splitlines() if line.endswith(" up")]
    if not up:
        pytest.skip("Slurm has no partition up")
    local, sweep_yaml = request.getfixturevalue("tiny_sweep")  # trained only where the test runs
    out = tmp_path / "waited"
    settings = ["executor.type=slurm", f"executor.partition={up[0]}", "executor.time=00:10:00",
                "mixtures.divisions=1", "seeds=[1]"]
    proc = subprocess.run([sys.executable, "-m", "train.cli", "sweep", str(sweep_yaml), "-o", str(out), "--wait",
                           *sets(settings)], cwd=repo, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 run(s) trained, 0 skipped (already finished), 0 failed" in proc.stdout
    session = json.loads((out / "sweep.json").read_text())["sessions"][-1]
    assert session["executor"] == "slurm" and session["array_tasks"] == 3 and session["job"]
    assert sorted(p.name for p in (out / "slurm").glob(f"{session['job']}_*.out")) == [
        f"{session['job']}_{i}.out" for i in range(3)]
    assert pq.read_table(out / "summary.parquet").num_rows == 3 * 3
    for run, same in (("m00-s1", "m00-s1"), ("m01-s1", "m03-s1"), ("m02-s1", "m05-s1")):  # each source alone
        a = json.loads((out / "runs" / run / "summary.json").read_text())["val_loss"]
        b = json.loads((local / "runs" / same / "summary.json").read_text())["val_loss"]
        assert max(abs(a[k] - b[k]) for k in b) <= 1e-6, run
