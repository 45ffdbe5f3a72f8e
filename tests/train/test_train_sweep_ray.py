"""`train sweep` with executor.type ray: the tiny sweep of test_train_sweep.py on a local Ray cluster started for it
(2 CPUs, 1 per run), killed midway and started again. Its runs must come out as the local executor's do, and the
restart must train only what the kill left unfinished."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from test_train_sweep import STEPS, tiny_sweep  # noqa: F401 (the fixture: the local sweep, trained once per session)

from train.cli import main

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'curate[ray]'")

RAY_SETTINGS = ["--set", "executor.type=ray", "--set", "executor.cpus_per_run=1"]  # 2 workers: the YAML's workers


def ray_env(short_tmp: str) -> dict:
    # Ray's socket paths must stay under 107 bytes: its temp dir goes in a short folder under /tmp
    return {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": short_tmp,
            "TMPDIR": short_tmp, "OMP_NUM_THREADS": "1"}


def finished(sweep_dir: Path) -> set[str]:
    return {p.parent.name for p in (sweep_dir / "runs").glob("*/summary.json")}


def kill_ray_session(ray_tmp: str, timeout: float = 60.0) -> None:
    """SIGKILL every process of the sweep's local Ray cluster (their environment names its temp dir: Ray renames its
    workers' command lines), as killing a sweep on one machine kills all of it, and wait until none is left."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = []
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                if f"RAY_TMPDIR={ray_tmp}".encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    pids.append(int(pid))
            except OSError:
                continue
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


_BUILT: dict[Path, dict] = {}


@pytest.fixture
def ray_sweep(tiny_sweep, tmp_path_factory, repo) -> dict:  # noqa: F811
    """The tiny sweep on Ray: started, killed (SIGKILL to its process group: driver, Ray and workers) once some runs
    have finished, started again to the end. What each session saw, for the tests below."""
    base = tmp_path_factory.getbasetemp()
    if base in _BUILT:
        return _BUILT[base]
    local_dir, sweep_yaml = tiny_sweep
    out = base / "ray-sweep"
    short_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    cmd = [sys.executable, "-m", "train.cli", "sweep", str(sweep_yaml), "-o", str(out), *RAY_SETTINGS]
    try:
        first = subprocess.Popen(cmd, cwd=repo, env=ray_env(short_tmp), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + 600
        while len(finished(out)) < 4 and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the Ray sweep ended before it could be killed:\n" + first.stderr.read()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        kill_ray_session(short_tmp)  # Ray's own fate-sharing stops the runs only after a delay: on a loaded
        time.sleep(1)  # machine two more finished after the kill. Then let the files settle: what was written is all
        before = {"finished": finished(out), "checkpointed": {p.parent.name for p in (out / "runs").glob("*/ckpt.pt")},
                  "mtimes": {p.parent.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*/metrics.parquet")}}
        again = subprocess.run(cmd, cwd=repo, env=ray_env(short_tmp), capture_output=True, text=True, timeout=600,
                               check=False)
    finally:
        shutil.rmtree(short_tmp, ignore_errors=True)
    assert again.returncode == 0, again.stderr[-3000:]
    _BUILT[base] = {"local": local_dir, "ray": out, "before": before, "again": again}
    return _BUILT[base]


def test_ray_runs_give_the_local_executors_final_losses_and_summary(ray_sweep):
    local, ray = ray_sweep["local"], ray_sweep["ray"]
    runs = json.loads((local / "sweep.json").read_text())["runs"]
    assert [r["run"] for r in json.loads((ray / "sweep.json").read_text())["runs"]] == [r["run"] for r in runs]
    worst = 0.0
    for run in (r["run"] for r in runs):
        a = json.loads((local / "runs" / run / "summary.json").read_text())["val_loss"]
        b = json.loads((ray / "runs" / run / "summary.json").read_text())["val_loss"]
        assert a.keys() == b.keys() == {"web", "books", "code"}
        worst = max(worst, *(abs(a[s] - b[s]) for s in a))
    assert worst <= 1e-6, worst
    mine, theirs = (pq.read_table(d / "summary.parquet").sort_by([("run", "ascending"), ("source", "ascending")])
                    for d in (ray, local))
    assert mine.schema == theirs.schema and mine.num_rows == theirs.num_rows == 12 * 3
    for name in mine.column_names:
        if name == "val_loss":
            assert max(abs(x - y) for x, y in zip(mine[name].to_pylist(), theirs[name].to_pylist())) <= 1e-6
        else:
            assert mine[name].equals(theirs[name]), name
    session = json.loads((ray / "sweep.json").read_text())["sessions"][-1]
    assert session["executor"] == "ray" and session["threads"] == 1
    for run in (ray / "runs").iterdir():  # one torch thread per run, as cpus_per_run says
        assert yaml.safe_load((run / "config.yaml").read_text())["threads"] == 1


def test_a_killed_ray_sweep_started_again_trains_only_the_unfinished_runs(ray_sweep):
    ray, before, again = ray_sweep["ray"], ray_sweep["before"], ray_sweep["again"]
    done = before["finished"]
    assert 4 <= len(done) < 12
    assert f"{12 - len(done)} run(s) trained, {len(done)} skipped (already finished), 0 failed" in again.stdout
    assert finished(ray) == {r["run"] for r in json.loads((ray / "sweep.json").read_text())["runs"]}
    for run in done:  # finished before the kill: not touched again
        assert (ray / "runs" / run / "metrics.parquet").stat().st_mtime_ns == before["mtimes"][run]
    resumed = before["checkpointed"] - done  # killed mid-run after a checkpoint: resumed from it, not redone
    for run in resumed:
        assert "resumed from " in (ray / "runs" / run / "train.log").read_text()
    for run in done:
        assert f"step {STEPS}/{STEPS}" in (ray / "runs" / run / "train.log").read_text()


@pytest.mark.parametrize("settings, words", [
    (["executor.type=raay"], "executor.type: unknown executor type 'raay'; choose one of local, ray, slurm"),
    (["executor.type=ray", "executor.address=127.0.0.1:9"], "executor.address: 127.0.0.1:9 does not answer"),
    (["executor.type=ray", "executor.gpus_per_run=1", "workers=1"],
     "executor.gpus_per_run: 1 GPU(s) per run, but the Ray cluster has 0 GPUs"),
    (["executor.type=ray", "executor.partition=cpu"],
     "executor.partition: is a key of executor type slurm, not of ray"),
])
def test_bad_executor_settings_fail_in_one_line_before_any_work(tiny_raw, tmp_path, settings, words):
    from test_train_sweep import tiny_sweep_raw

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_raw(tiny_raw)))
    out = tmp_path / "out"
    args = ["sweep", str(path), "-o", str(out), *[x for s in settings for x in ("--set", s)]]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert words in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()  # no tokenizer, no shards, no plan


def test_an_address_that_takes_connections_but_never_answers_fails_in_one_line(tiny_raw, tmp_path):
    from test_train_sweep import tiny_sweep_raw

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_raw(tiny_raw)))
    with socket.socket() as server:  # the kernel completes the TCP handshake (backlog); nothing ever replies
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        result = CliRunner().invoke(main, ["sweep", str(path), "-o", str(tmp_path / "out"), "--set",
                                           "executor.type=ray", "--set", f"executor.address={address}",
                                           "--set", "executor.connect_timeout=2"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (f"Error: executor.address: {address} does not answer (no answer within 2 s): start "
                             "the cluster (ray start --head) or leave address unset for a local one\n")
    assert not (tmp_path / "out").exists()


def test_ray_missing_names_the_extra_to_install(tiny_raw, tmp_path, repo):
    from test_train_sweep import tiny_sweep_raw

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_raw(tiny_raw)))
    hide = tmp_path / "hide"  # a `ray` that cannot be imported shadows the installed one, as if it were absent
    (hide / "ray").mkdir(parents=True)
    (hide / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "PYTHONPATH": f"{hide}{os.pathsep}{repo}"}
    proc = subprocess.run([sys.executable, "-m", "train.cli", "sweep", str(path), "-o", str(tmp_path / "out"),
                           "--set", "executor.type=ray"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: executor.type: ray needs Ray: pip install 'curate[ray]'"


def test_a_failing_run_is_tried_twice_then_reported_while_the_others_finish(tiny_raw, tmp_path, repo):
    from test_train_sweep import tiny_sweep_raw

    raw = tiny_sweep_raw(tiny_raw)
    raw |= {"mixtures": {"kind": "grid", "divisions": 1}, "seeds": [1]}  # 3 runs: each source alone
    raw["train"]["tokens"] = 10 * 8 * 64
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    (out / "runs" / "m01-s1").mkdir(parents=True)
    (out / "runs" / "m01-s1" / "ckpt.pt").write_bytes(b"not a checkpoint")  # every attempt to resume it fails
    short_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    try:
        proc = subprocess.run([sys.executable, "-m", "train.cli", "sweep", str(path), "-o", str(out), *RAY_SETTINGS],
                              cwd=repo, env=ray_env(short_tmp), capture_output=True, text=True, timeout=600,
                              check=False)
    finally:
        shutil.rmtree(short_tmp, ignore_errors=True)
    assert proc.returncode == 1
    assert proc.stderr.count("sweep: m01-s1 failed (") == 1 and "trying it once more" in proc.stderr
    assert "Error: 1 run(s) failed: m01-s1: " in proc.stderr and "Traceback" not in proc.stderr.splitlines()[-1]
    assert "2 run(s) trained, 0 skipped (already finished), 1 failed" in proc.stdout
    assert finished(out) == {"m00-s1", "m02-s1"}
    session = json.loads((out / "sweep.json").read_text())["sessions"][-1]
    assert list(session["failed"]) == ["m01-s1"]
    assert (out / "runs" / "m01-s1" / "train.log").read_text().count("[sweep worker pid") == 2  # two attempts
