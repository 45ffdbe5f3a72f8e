"""A run killed (SIGKILL) and started again resumes from its last checkpoint and reaches exactly the same losses,
bit for bit, as a run that was never interrupted (CPU: deterministic kernels, batch = f(seed, step)). The run kills
itself at a known step (TRAIN_KILL_AT_STEP), between two checkpoints: no race with the clock."""

import os
import signal
import subprocess
import sys

import pyarrow.parquet as pq
import torch
import yaml

from train.config import TrainConfig, parse
from train.loop import KILL_AT_STEP, train_run

STEPS = 100
KILLED_AFTER = 37  # checkpoints every 10 steps: the last one before the kill is step 30, steps 31-37 are lost


def test_killed_run_resumes_bit_exactly(tmp_path, tiny_raw, repo):
    raw = tiny_raw(tokens=STEPS * 8 * 64, eval_interval=25, checkpoint_interval=10, log_interval=5)
    reference = train_run(parse(TrainConfig, raw), tmp_path / "uninterrupted", progress=False)

    config = tmp_path / "mix.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "train.cli", "run", str(config), "-o", str(out)]
    killed = subprocess.run(cmd, check=False, cwd=repo, capture_output=True, text=True, timeout=300,
                            env={**os.environ, KILL_AT_STEP: str(KILLED_AFTER)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert f"step {KILLED_AFTER - 2}/{STEPS}" in killed.stderr and "step 40/" not in killed.stderr
    assert torch.load(out / "ckpt.pt", weights_only=False)["step"] == 30
    assert not (out / "summary.json").exists()

    again = subprocess.run(cmd, check=False, cwd=repo, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resumed from {out / 'ckpt.pt'} at step 30/{STEPS}" in again.stderr
    assert "tok/s" in again.stderr and "ETA" in again.stderr  # live progress
    resumed = pq.read_table(out / "metrics.parquet").to_pylist()
    assert resumed == reference  # every train and val loss, every token count: bit-exact
    final = torch.load(out / "ckpt.pt", weights_only=False)["model"]
    expected = torch.load(tmp_path / "uninterrupted" / "ckpt.pt", weights_only=False)["model"]
    assert all(torch.equal(final[k], expected[k]) for k in expected)


def test_a_finished_run_is_not_trained_again_and_a_changed_config_is_refused(tmp_path, tiny_raw):
    raw = tiny_raw(tokens=4 * 8 * 64, eval_interval=0, checkpoint_interval=0)
    first = train_run(parse(TrainConfig, raw), tmp_path / "run", progress=False)
    assert train_run(parse(TrainConfig, raw), tmp_path / "run", progress=False) == first
    raw["lr"] = 1e-2
    from train.errors import TrainError

    try:
        train_run(parse(TrainConfig, raw), tmp_path / "run", progress=False)
    except TrainError as e:
        assert "different config (lr differ)" in str(e)
    else:
        raise AssertionError("resuming under a different lr must fail")
